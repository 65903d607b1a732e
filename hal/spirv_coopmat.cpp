#include "hal/spirv_coopmat.h"

#include <array>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <string>
#include <unordered_map>

#include "base/error.h"

namespace unicorn::hal {
namespace {

// Numbers from SPIRV-Headers include/spirv/unified1/spirv.core.grammar.json (and spirv.hpp11).
constexpr uint32_t kMagic = 0x07230203;
enum Op : uint32_t {
  kOpUndef = 1, kOpExtension = 10, kOpCapability = 17, kOpTypeInt = 21,
  kOpConstantTrue = 41, kOpConstantFalse = 42, kOpConstant = 43, kOpConstantComposite = 44, kOpConstantNull = 46,
  kOpSpecConstantTrue = 48, kOpSpecConstantFalse = 49, kOpSpecConstant = 50, kOpSpecConstantComposite = 51,
  kOpSpecConstantOp = 52, kOpFunctionParameter = 55, kOpFunctionCall = 57, kOpLoad = 61,
  kOpCompositeConstruct = 80, kOpCompositeExtract = 81, kOpCompositeInsert = 82, kOpCopyObject = 83,
  kOpConvertFToU = 109, kOpFConvert = 115, kOpBitcast = 124, kOpSNegate = 126, kOpFDiv = 136,
  kOpMatrixTimesScalar = 143, kOpSelect = 169, kOpPhi = 245, kOpCopyLogical = 400,
  kOpTypeCoopKHR = 4456, kOpLoadKHR = 4457, kOpStoreKHR = 4458, kOpMulAddKHR = 4459, kOpLengthKHR = 4460,
  kOpTypeCoopNV = 5358, kOpLoadNV = 5359, kOpStoreNV = 5360, kOpMulAddNV = 5361, kOpLengthNV = 5362,
};
constexpr uint32_t kCapShader = 1, kCapVulkanMemoryModel = 5345, kCapCoopNV = 5357, kCapCoopKHR = 6022;
constexpr int kUseA = 0, kUseB = 1, kUseAccumulator = 2;  // CooperativeMatrixUse
constexpr const char* kUseName[] = {"matrix A", "matrix B", "the accumulator"};
constexpr const char* kNvExtension = "SPV_NV_cooperative_matrix";
constexpr const char* kKhrExtension = "SPV_KHR_cooperative_matrix";

// One instruction: its first word's index in the module, opcode and word count.
struct Inst {
  size_t at;
  uint32_t op;
  uint32_t n;
};

// The instructions of a module, after checking the header and that every word count stays inside it.
std::vector<Inst> split(std::span<const uint32_t> w) {
  if (w.size() < 5) fail("SPIR-V: ", w.size(), " words, fewer than the 5 of a module header");
  if (w[0] != kMagic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", w[0]);
    fail("SPIR-V: bad magic number ", hex, " (expected 0x07230203)");
  }
  std::vector<Inst> insts;
  for (size_t i = 5; i < w.size();) {
    const uint32_t n = w[i] >> 16, op = w[i] & 0xffffu;
    if (n == 0) fail("SPIR-V: instruction at word ", i, " (opcode ", op, ") has word count 0");
    if (n > w.size() - i) {
      fail("SPIR-V: instruction at word ", i, " (opcode ", op, ", ", n, " words) runs past the end of the ",
           w.size(), "-word module");
    }
    insts.push_back({i, op, n});
    i += n;
  }
  return insts;
}

// Fails unless the instruction has at least min words (exactly min when exact).
void need(const Inst& in, uint32_t min, bool exact = false) {
  if (in.n < min || (exact && in.n != min)) {
    fail("SPIR-V: instruction at word ", in.at, " (opcode ", in.op, ") has ", in.n, " words, expected ",
         exact ? "" : "at least ", min);
  }
}

// Opcodes whose word 1 is the result type and word 2 the result id, among those that can give a
// cooperative matrix (or a constant the conversion reads).
bool has_type_and_result(uint32_t op) {
  switch (op) {
    case kOpUndef: case kOpConstantTrue: case kOpConstantFalse: case kOpConstant: case kOpConstantComposite:
    case kOpConstantNull: case kOpSpecConstantTrue: case kOpSpecConstantFalse: case kOpSpecConstant:
    case kOpSpecConstantComposite: case kOpSpecConstantOp: case kOpFunctionParameter: case kOpFunctionCall:
    case kOpLoad: case kOpCompositeConstruct: case kOpCompositeExtract: case kOpCompositeInsert: case kOpCopyObject:
    case kOpMatrixTimesScalar: case kOpSelect: case kOpPhi: case kOpCopyLogical: case kOpLoadNV: case kOpMulAddNV:
    case kOpLengthNV:
      return true;
    default:
      return (op >= kOpConvertFToU && op <= kOpFConvert) || op == kOpBitcast || (op >= kOpSNegate && op <= kOpFDiv);
  }
}

// OpConvertFToU..OpFConvert and OpBitcast: on cooperative matrices, KHR requires the same use on both sides.
bool is_conversion(uint32_t op) { return (op >= kOpConvertFToU && op <= kOpFConvert) || op == kOpBitcast; }

// A literal string operand in words [from, to) (nul-terminated, first character in the lowest byte).
std::string literal_string(const uint32_t* words, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) {
    for (int b = 0; b < 4; ++b) {
      const char c = static_cast<char>((words[i] >> (8 * b)) & 0xffu);
      if (c == '\0') return s;
      s += c;
    }
  }
  return s;
}

struct CoopType {
  uint32_t component;
  uint32_t scope;
  int use = -1;
};

}  // namespace

bool spirv_uses_coopmat_nv(std::span<const uint32_t> w) {
  if (w.size() < 5 || w[0] != kMagic) return false;
  // OpCapability instructions come first in a module (the logical layout of SPIR-V section 2.4).
  for (size_t i = 5; i < w.size();) {
    const uint32_t n = w[i] >> 16, op = w[i] & 0xffffu;
    if (n < 2 || n > w.size() - i || op != kOpCapability) return false;
    if (w[i + 1] == kCapCoopNV) return true;
    i += n;
  }
  return false;
}

std::vector<uint32_t> spirv_coopmat_nv_to_khr(std::span<const uint32_t> w) {
  const std::vector<Inst> insts = split(w);

  // What the module declares.
  bool nv = false, nv_extension = false, shader = false, vulkan_memory_model = false;
  std::unordered_map<uint32_t, uint32_t> type_of;                  // value id -> its type id
  std::unordered_map<uint32_t, std::array<uint32_t, 2>> int_types;  // OpTypeInt id -> {width, signedness}
  std::unordered_map<uint32_t, bool> bools;                         // OpConstantTrue/False id -> value
  std::map<uint32_t, CoopType> coop;                                // OpTypeCooperativeMatrixNV id -> its facts
  size_t first_coop = insts.size();                                 // index of the first of those
  std::vector<const Inst*> muladds, conversions;
  for (size_t k = 0; k < insts.size(); ++k) {
    const Inst& in = insts[k];
    const uint32_t* o = &w[in.at];
    switch (in.op) {
      case kOpCapability:
        need(in, 2);
        nv |= o[1] == kCapCoopNV;
        shader |= o[1] == kCapShader;
        vulkan_memory_model |= o[1] == kCapVulkanMemoryModel;
        break;
      case kOpExtension: nv_extension |= literal_string(o, 1, in.n) == kNvExtension; break;
      case kOpTypeInt: need(in, 4); int_types[o[1]] = {o[2], o[3]}; break;
      case kOpConstantTrue: case kOpConstantFalse: need(in, 3); bools[o[2]] = in.op == kOpConstantTrue; break;
      case kOpTypeCoopNV:
        need(in, 6, true);
        coop[o[1]] = {o[2], o[3]};
        if (first_coop == insts.size()) first_coop = k;
        break;
      case kOpMulAddNV: need(in, 6, true); muladds.push_back(&in); break;
      default: break;
    }
    if (is_conversion(in.op)) {
      need(in, 4);
      conversions.push_back(&in);
    }
    if (has_type_and_result(in.op)) {
      need(in, 3);
      type_of[o[2]] = o[1];
    }
  }
  if (!nv) return {w.begin(), w.end()};
  if (!nv_extension) fail("SPIR-V: CooperativeMatrixNV is declared without OpExtension \"", kNvExtension, "\"");
  if (w[1] < 0x00010300u) {
    fail("SPIR-V: version ", w[1] >> 16, ".", (w[1] >> 8) & 0xffu, " is older than the 1.3 that ", kKhrExtension,
         " requires");
  }
  if (shader && !vulkan_memory_model) {
    fail("SPIR-V: no VulkanMemoryModel capability: ", kKhrExtension, " (like ", kNvExtension,
         ") requires the Vulkan memory model in shaders");
  }

  // The use of each type: from the mul-adds, then across conversions until nothing changes.
  const auto type_id_of = [&](uint32_t value, const char* what) {
    const auto it = type_of.find(value);
    if (it == type_of.end()) fail("SPIR-V: cannot find the type of %", value, " (", what, ")");
    return it->second;
  };
  const auto set_use = [&](uint32_t type, int use, const char* why) {
    const auto it = coop.find(type);
    if (it == coop.end()) fail("SPIR-V: %", type, " (", why, ") is not an OpTypeCooperativeMatrixNV");
    if (it->second.use == use) return false;
    if (it->second.use >= 0) {
      fail("SPIR-V: cooperative-matrix type %", type, " is used as both ", kUseName[it->second.use], " and ",
           kUseName[use], " (", why, "); SPV_KHR_cooperative_matrix needs a distinct type for each use");
    }
    it->second.use = use;
    return true;
  };
  for (const Inst* m : muladds) {
    const uint32_t* o = &w[m->at];
    set_use(o[1], kUseAccumulator, "the result type of an OpCooperativeMatrixMulAddNV");
    set_use(type_id_of(o[3], "operand A of OpCooperativeMatrixMulAddNV"), kUseA, "operand A of a mul-add");
    set_use(type_id_of(o[4], "operand B of OpCooperativeMatrixMulAddNV"), kUseB, "operand B of a mul-add");
    set_use(type_id_of(o[5], "operand C of OpCooperativeMatrixMulAddNV"), kUseAccumulator, "operand C of a mul-add");
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const Inst* c : conversions) {
      const uint32_t* o = &w[c->at];
      const auto to = coop.find(o[1]);
      const auto from_type = type_of.find(o[3]);
      if (to == coop.end() || from_type == type_of.end()) continue;
      const auto from = coop.find(from_type->second);
      if (from == coop.end()) continue;
      if (to->second.use >= 0) changed |= set_use(from->first, to->second.use, "converted to a type of that use");
      if (from->second.use >= 0) changed |= set_use(to->first, from->second.use, "converted from a type of that use");
    }
  }
  for (const auto& [id, t] : coop) {
    if (t.use < 0) {
      fail("SPIR-V: the use (A, B or accumulator) of cooperative-matrix type %", id,
           " is unknown: it is no operand or result of an OpCooperativeMatrixMulAddNV, nor converted from or to "
           "such a type");
    }
  }

  // 32-bit integer constants 0, 1, 2 for the Use and MemoryLayout operands: reused when declared before the
  // first cooperative-matrix type, else added right before it with the type of its Scope (a 32-bit integer).
  std::array<uint32_t, 3> constant_id{};
  std::vector<uint32_t> added;
  uint32_t bound = w[3];
  if (!coop.empty()) {
    const uint32_t first_id = w[insts[first_coop].at + 1], scope = coop.at(first_id).scope;
    const auto scope_type = type_of.find(scope);
    const auto int_type = scope_type == type_of.end() ? int_types.end() : int_types.find(scope_type->second);
    if (int_type == int_types.end() || int_type->second[0] != 32) {
      fail("SPIR-V: the Scope %", scope, " of cooperative-matrix type %", first_id,
           " is not a 32-bit integer constant");
    }
    for (size_t k = 0; k < first_coop; ++k) {
      const uint32_t* o = &w[insts[k].at];
      if (insts[k].op != kOpConstant || insts[k].n != 4) continue;
      const auto t = int_types.find(o[1]);
      if (t != int_types.end() && t->second[0] == 32 && o[3] < 3 && constant_id[o[3]] == 0) constant_id[o[3]] = o[2];
    }
    for (uint32_t v = 0; v < 3; ++v) {
      if (constant_id[v] != 0) continue;
      if (bound == UINT32_MAX) fail("SPIR-V: the id bound is exhausted");
      constant_id[v] = bound++;
      added.insert(added.end(), {4u << 16 | kOpConstant, int_type->first, constant_id[v], v});
    }
  }
  const auto layout = [&](uint32_t column_major, const Inst& in) {
    const auto it = bools.find(column_major);
    if (it == bools.end()) {
      fail("SPIR-V: the ColumnMajor operand %", column_major, " of the cooperative-matrix load/store at word ", in.at,
           " is not OpConstantTrue or OpConstantFalse");
    }
    return constant_id[it->second ? 1 : 0];  // ColumnMajorKHR = 1, RowMajorKHR = 0
  };
  const auto is_signed = [&](uint32_t type) {
    const auto t = coop.find(type);
    const auto i = t == coop.end() ? int_types.end() : int_types.find(t->second.component);
    return i != int_types.end() && i->second[1] == 1;
  };

  // The converted module.
  std::vector<uint32_t> out(w.begin(), w.begin() + 5);
  out.reserve(w.size() + added.size() + 2 * muladds.size() + 8);
  out[3] = bound;
  for (size_t k = 0; k < insts.size(); ++k) {
    const Inst& in = insts[k];
    const uint32_t* o = &w[in.at];
    // Writes opcode op with operands ops, then the instruction's own words from index tail on.
    const auto emit = [&](uint32_t op, std::initializer_list<uint32_t> ops, uint32_t tail) {
      out.push_back(static_cast<uint32_t>(1 + ops.size() + (in.n - tail)) << 16 | op);
      out.insert(out.end(), ops);
      out.insert(out.end(), o + tail, o + in.n);
    };
    if (k == first_coop) out.insert(out.end(), added.begin(), added.end());
    switch (in.op) {
      case kOpCapability:
        if (o[1] != kCapCoopNV) break;
        emit(kOpCapability, {kCapCoopKHR}, 2);
        continue;
      case kOpExtension: {
        if (literal_string(o, 1, in.n) != kNvExtension) break;
        const std::string s = kKhrExtension;
        out.push_back(static_cast<uint32_t>(1 + s.size() / 4 + 1) << 16 | kOpExtension);
        for (size_t i = 0; i <= s.size(); i += 4) {  // nul-terminated, zero-padded to whole words
          uint32_t word = 0;
          for (size_t b = 0; b < 4 && i + b < s.size(); ++b) word |= uint32_t(uint8_t(s[i + b])) << (8 * b);
          out.push_back(word);
        }
        continue;
      }
      case kOpTypeCoopNV:
        emit(kOpTypeCoopKHR, {o[1], o[2], o[3], o[4], o[5], constant_id[coop.at(o[1]).use]}, 6);
        continue;
      case kOpLoadNV:  // result type, result, pointer, stride, column major, [memory access]
        need(in, 6);
        emit(kOpLoadKHR, {o[1], o[2], o[3], layout(o[5], in), o[4]}, 6);
        continue;
      case kOpStoreNV:  // pointer, object, stride, column major, [memory access]
        need(in, 5);
        emit(kOpStoreKHR, {o[1], o[2], layout(o[4], in), o[3]}, 5);
        continue;
      case kOpMulAddNV: {  // result type, result, A, B, C
        const uint32_t mask = (is_signed(type_of.at(o[3])) ? 0x1u : 0u) | (is_signed(type_of.at(o[4])) ? 0x2u : 0u) |
                              (is_signed(type_of.at(o[5])) ? 0x4u : 0u) | (is_signed(o[1]) ? 0x8u : 0u);
        if (mask != 0) {
          emit(kOpMulAddKHR, {o[1], o[2], o[3], o[4], o[5], mask}, 6);
        } else {
          emit(kOpMulAddKHR, {o[1], o[2], o[3], o[4], o[5]}, 6);
        }
        continue;
      }
      case kOpLengthNV:
        need(in, 4, true);
        emit(kOpLengthKHR, {o[1], o[2], o[3]}, 4);
        continue;
      case kOpSpecConstantOp:  // result type, result, opcode, operands
        if (in.n < 4 || o[3] != kOpLengthNV) break;
        emit(kOpSpecConstantOp, {o[1], o[2], kOpLengthKHR}, 4);
        continue;
      default: break;
    }
    out.insert(out.end(), o, o + in.n);
  }
  return out;
}

}  // namespace unicorn::hal
