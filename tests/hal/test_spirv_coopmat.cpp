// hal/spirv_coopmat: SPV_NV_cooperative_matrix -> SPV_KHR_cooperative_matrix on SPIR-V words, checked on the
// embedded shaders/coopmat_check (glslc's real output; Vulkan builds only) and on hand-built modules, instruction
// by instruction against the input: what must change, into what, and that everything else is copied in order.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "hal/spirv_coopmat.h"
#include "tests/test_util.h"

#ifdef UNICORN_HAVE_VULKAN
#include "hal/vk_shaders.h"
#endif

using namespace unicorn;
using namespace unicorn::hal;

namespace {

// Opcodes and enumerants (SPIRV-Headers spirv.core.grammar.json).
enum : uint32_t {
  kOpExtension = 10, kOpCapability = 17, kOpTypeBool = 20, kOpTypeInt = 21, kOpTypeFloat = 22, kOpTypePointer = 32,
  kOpConstantTrue = 41, kOpConstantFalse = 42, kOpConstant = 43, kOpSpecConstantTrue = 48, kOpSpecConstantOp = 52,
  kOpLoad = 61, kOpFConvert = 115,
  kOpTypeCoopKHR = 4456, kOpLoadKHR = 4457, kOpStoreKHR = 4458, kOpMulAddKHR = 4459, kOpLengthKHR = 4460,
  kOpTypeCoopNV = 5358, kOpLoadNV = 5359, kOpStoreNV = 5360, kOpMulAddNV = 5361, kOpLengthNV = 5362,
  kCapCoopNV = 5357, kCapCoopKHR = 6022, kStorageWorkgroup = 4, kStorageBuffer = 12,
};
constexpr uint32_t kMagic = 0x07230203;

// One instruction: opcode and operand words (the word count is implied).
struct Ins {
  uint32_t op;
  std::vector<uint32_t> o;
};

// Where an instruction's result id is: operand 0 (types, labels), operand 1 (typed values), or none.
int result_pos(uint32_t op) {
  if ((op >= 19 && op <= 38) || op == 248 || op == 11 || op == 7 || op == kOpTypeCoopKHR || op == kOpTypeCoopNV) {
    return 0;
  }
  if (op == 1 || (op >= 41 && op <= 52) || op == 54 || op == 55 || op == 57 || op == 59 || op == 61 || op == 65 ||
      (op >= 80 && op <= 83) || (op >= 109 && op <= 143) || (op >= 164 && op <= 191) || op == 245 ||
      op == kOpLoadKHR || op == kOpMulAddKHR || op == kOpLengthKHR || op == kOpLoadNV || op == kOpMulAddNV ||
      op == kOpLengthNV) {
    return 1;
  }
  return -1;
}

// A parsed module; parsing REQUIREs a header and word counts that tile the words exactly.
struct Module {
  std::vector<uint32_t> header;
  std::vector<Ins> ins;
  std::map<uint32_t, size_t> def;  // result id -> index in ins

  explicit Module(std::span<const uint32_t> w) {
    REQUIRE(w.size() >= 5);
    REQUIRE(w[0] == kMagic);
    header.assign(w.begin(), w.begin() + 5);
    size_t i = 5;
    while (i < w.size()) {
      const uint32_t n = w[i] >> 16;
      REQUIRE(n > 0);
      REQUIRE(i + n <= w.size());
      ins.push_back({w[i] & 0xffffu, std::vector<uint32_t>(w.begin() + i + 1, w.begin() + i + n)});
      const int p = result_pos(ins.back().op);
      if (p >= 0) {
        REQUIRE(ins.back().o.size() > size_t(p));
        def[ins.back().o[p]] = ins.size() - 1;
      }
      i += n;
    }
    REQUIRE(i == w.size());
  }
  const Ins& at(uint32_t id) const {
    INFO("id %" << id);
    REQUIRE(def.count(id) == 1);
    return ins[def.at(id)];
  }
  uint32_t type_of(uint32_t value) const { return at(value).o.at(0); }
  // The value of a 32-bit integer OpConstant.
  uint32_t int_constant(uint32_t id) const {
    const Ins& c = at(id);
    REQUIRE(c.op == kOpConstant);
    const Ins& t = at(c.o[0]);
    REQUIRE(t.op == kOpTypeInt);
    REQUIRE(t.o[1] == 32);
    return c.o[2];
  }
  bool bool_constant(uint32_t id) const {
    const Ins& c = at(id);
    REQUIRE((c.op == kOpConstantTrue || c.op == kOpConstantFalse));
    return c.op == kOpConstantTrue;
  }
  uint32_t storage_class_of(uint32_t pointer) const {
    const Ins& t = at(type_of(pointer));
    REQUIRE(t.op == kOpTypePointer);
    return t.o[1];
  }
  uint32_t max_id() const { return def.empty() ? 0 : def.rbegin()->first; }
  size_t count(uint32_t op) const {
    size_t n = 0;
    for (const Ins& i : ins) n += i.op == op;
    return n;
  }
};

std::string literal(const std::vector<uint32_t>& o) {
  std::string s;
  for (uint32_t w : o) {
    for (int b = 0; b < 4; ++b) {
      const char c = char((w >> (8 * b)) & 0xffu);
      if (c == '\0') return s;
      s += c;
    }
  }
  return s;
}

std::vector<uint32_t> encode(const std::string& s) {
  std::vector<uint32_t> w(s.size() / 4 + 1, 0);
  for (size_t i = 0; i < s.size(); ++i) w[i / 4] |= uint32_t(uint8_t(s[i])) << (8 * (i % 4));
  return w;
}

bool has_extension(const Module& m, const std::string& name) {
  for (const Ins& i : m.ins) {
    if (i.op == kOpExtension && literal(i.o) == name) return true;
  }
  return false;
}

bool has_capability(const Module& m, uint32_t cap) {
  for (const Ins& i : m.ins) {
    if (i.op == kOpCapability && i.o.at(0) == cap) return true;
  }
  return false;
}

std::vector<uint32_t> tail(const std::vector<uint32_t>& o, size_t from) {
  return from < o.size() ? std::vector<uint32_t>(o.begin() + from, o.end()) : std::vector<uint32_t>{};
}

// What check_conversion found in a converted module.
struct Converted {
  std::map<uint32_t, uint32_t> use;  // cooperative-matrix type -> its Use value
  std::vector<Ins> loads, stores, muladds;
  size_t lengths = 0;
};

// Walks input and output side by side: each NV instruction must come out as its KHR form with the operands moved
// as the grammar says, every other instruction word for word in the same order; the only additions are 32-bit
// integer OpConstants with new ids. Also checks the header, the id bound and the capability/extension swap.
Converted check_conversion(std::span<const uint32_t> in_words, std::span<const uint32_t> out_words) {
  const Module in(in_words), out(out_words);
  Converted r;
  REQUIRE(out.header[1] == in.header[1]);
  REQUIRE(out.header[3] >= in.header[3]);
  REQUIRE(out.header[3] >= out.max_id() + 1);
  size_t j = 0;
  for (const Ins& o : out.ins) {
    if (o.op == kOpConstant && o.o.at(1) >= in.header[3]) {  // an added Use/MemoryLayout constant
      REQUIRE(o.o.size() == 3);
      REQUIRE(out.at(o.o[0]).op == kOpTypeInt);
      REQUIRE(o.o[2] <= 2);
      continue;
    }
    REQUIRE(j < in.ins.size());
    const Ins& i = in.ins[j++];
    INFO("input instruction " << j - 1 << " opcode " << i.op << ", output opcode " << o.op);
    if (o.op >= kOpTypeCoopKHR && o.op <= kOpLengthKHR) {  // their id operands (before any literal) are defined
      const size_t n_ids = std::map<uint32_t, size_t>{{kOpTypeCoopKHR, 6}, {kOpLoadKHR, 5}, {kOpStoreKHR, 4},
                                                      {kOpMulAddKHR, 5}, {kOpLengthKHR, 3}}.at(o.op);
      REQUIRE(o.o.size() >= n_ids);
      for (size_t k = 0; k < n_ids; ++k) {
        REQUIRE(out.def.count(o.o[k]) == 1);
      }
    }
    switch (i.op) {
      case kOpTypeCoopNV:  // result, component, scope, rows, columns (+ use)
        REQUIRE(o.op == kOpTypeCoopKHR);
        REQUIRE(o.o.size() == 6);
        REQUIRE(tail(o.o, 0).size() == i.o.size() + 1);
        REQUIRE(std::vector<uint32_t>(o.o.begin(), o.o.begin() + 5) == i.o);
        r.use[o.o[0]] = out.int_constant(o.o[5]);
        REQUIRE(r.use[o.o[0]] <= 2);
        break;
      case kOpLoadNV:  // NV: type, result, pointer, stride, column major, [memory]; KHR: ..., layout, stride, [memory]
        REQUIRE(o.op == kOpLoadKHR);
        REQUIRE(o.o.size() == i.o.size());
        REQUIRE(std::vector<uint32_t>(o.o.begin(), o.o.begin() + 3) ==
                std::vector<uint32_t>(i.o.begin(), i.o.begin() + 3));
        REQUIRE(out.int_constant(o.o[3]) == (in.bool_constant(i.o[4]) ? 1u : 0u));
        REQUIRE(o.o[4] == i.o[3]);
        REQUIRE(tail(o.o, 5) == tail(i.o, 5));
        r.loads.push_back(o);
        break;
      case kOpStoreNV:  // NV: pointer, object, stride, column major, [memory]; KHR: pointer, object, layout, stride
        REQUIRE(o.op == kOpStoreKHR);
        REQUIRE(o.o.size() == i.o.size());
        REQUIRE(o.o[0] == i.o[0]);
        REQUIRE(o.o[1] == i.o[1]);
        REQUIRE(out.int_constant(o.o[2]) == (in.bool_constant(i.o[3]) ? 1u : 0u));
        REQUIRE(o.o[3] == i.o[2]);
        REQUIRE(tail(o.o, 4) == tail(i.o, 4));
        r.stores.push_back(o);
        break;
      case kOpMulAddNV:
        REQUIRE(o.op == kOpMulAddKHR);
        REQUIRE(std::vector<uint32_t>(o.o.begin(), o.o.begin() + 5) == i.o);
        r.muladds.push_back(o);
        break;
      case kOpLengthNV:
        REQUIRE(o.op == kOpLengthKHR);
        REQUIRE(o.o == i.o);
        ++r.lengths;
        break;
      case kOpCapability:
        REQUIRE(o.op == kOpCapability);
        REQUIRE(o.o == (i.o.at(0) == kCapCoopNV ? std::vector<uint32_t>{kCapCoopKHR} : i.o));
        break;
      case kOpExtension:
        REQUIRE(o.op == kOpExtension);
        REQUIRE(literal(o.o) ==
                (literal(i.o) == "SPV_NV_cooperative_matrix" ? "SPV_KHR_cooperative_matrix" : literal(i.o)));
        REQUIRE(o.o == encode(literal(o.o)));
        break;
      case kOpSpecConstantOp:  // result type, result, opcode, operands
        REQUIRE(o.op == kOpSpecConstantOp);
        REQUIRE(o.o.size() == i.o.size());
        REQUIRE(o.o[2] == (i.o.at(2) == kOpLengthNV ? uint32_t(kOpLengthKHR) : i.o[2]));
        REQUIRE(tail(o.o, 3) == tail(i.o, 3));
        REQUIRE(std::vector<uint32_t>(o.o.begin(), o.o.begin() + 2) ==
                std::vector<uint32_t>(i.o.begin(), i.o.begin() + 2));
        r.lengths += o.o[2] == kOpLengthKHR;
        break;
      default:
        REQUIRE(o.op == i.op);
        REQUIRE(o.o == i.o);
    }
  }
  REQUIRE(j == in.ins.size());
  REQUIRE(!spirv_uses_coopmat_nv(out_words));
  REQUIRE(has_capability(out, kCapCoopKHR));
  REQUIRE(!has_capability(out, kCapCoopNV));
  REQUIRE(has_extension(out, "SPV_KHR_cooperative_matrix"));
  REQUIRE(!has_extension(out, "SPV_NV_cooperative_matrix"));
  for (uint32_t op : {kOpTypeCoopNV, kOpLoadNV, kOpStoreNV, kOpMulAddNV, kOpLengthNV}) REQUIRE(out.count(op) == 0);
  REQUIRE(r.use.size() == in.count(kOpTypeCoopNV));
  // Every mul-add: result and C accumulators (2), A of use 0, B of use 1.
  for (const Ins& m : r.muladds) {
    REQUIRE(r.use.at(m.o[0]) == 2);
    REQUIRE(r.use.at(out.type_of(m.o[2])) == 0);
    REQUIRE(r.use.at(out.type_of(m.o[3])) == 1);
    REQUIRE(r.use.at(out.type_of(m.o[4])) == 2);
  }
  return r;
}

// Hand-built modules: a header with bound kBound, then instructions.
struct Asm {
  std::vector<uint32_t> w;
  explicit Asm(uint32_t bound) : w{kMagic, 0x00010300, 0, bound, 0} {}
  Asm& op(uint32_t code, std::vector<uint32_t> ops) {
    w.push_back(uint32_t(ops.size() + 1) << 16 | code);
    w.insert(w.end(), ops.begin(), ops.end());
    return *this;
  }
};

// Ids of the hand-built cooperative-matrix module.
enum : uint32_t {
  kVoid = 1, kFn, kUint, kU3, kU16, kU16b, kHalf, kFloat, kBool, kTrue, kFalse, kArr, kPArr, kPHalf, kShared,
  kTA, kTB, kTC, kPC, kMain, kLabel, kVC, kP0, kA, kB, kC, kR, kX, kY, kFree = 40, kBound = 50
};

// A compute shader with f16 A and B (B loaded column-major from shared memory), an f32 accumulator and one
// mul-add; extra_types go after the three cooperative-matrix types, body replaces the mul-add.
std::vector<uint32_t> hand_module(const std::function<void(Asm&)>& extra_types = {},
                                  const std::function<void(Asm&)>& body = {}) {
  Asm a(kBound);
  a.op(kOpCapability, {1}).op(kOpCapability, {5345}).op(kOpCapability, {kCapCoopNV});
  a.op(kOpExtension, encode("SPV_KHR_vulkan_memory_model")).op(kOpExtension, encode("SPV_NV_cooperative_matrix"));
  a.op(14, {0, 3});  // OpMemoryModel Logical Vulkan
  std::vector<uint32_t> ep{5, kMain};
  for (uint32_t x : encode("main")) ep.push_back(x);
  a.op(15, ep);  // OpEntryPoint GLCompute
  a.op(19, {kVoid}).op(33, {kFn, kVoid}).op(kOpTypeInt, {kUint, 32, 0});
  a.op(kOpConstant, {kUint, kU3, 3}).op(kOpConstant, {kUint, kU16, 16}).op(kOpConstant, {kUint, kU16b, 16});
  a.op(kOpTypeFloat, {kHalf, 16}).op(kOpTypeFloat, {kFloat, 32}).op(kOpTypeBool, {kBool});
  a.op(kOpConstantTrue, {kBool, kTrue}).op(kOpConstantFalse, {kBool, kFalse});
  a.op(28, {kArr, kHalf, kU16}).op(kOpTypePointer, {kPArr, kStorageWorkgroup, kArr});
  a.op(kOpTypePointer, {kPHalf, kStorageWorkgroup, kHalf}).op(59, {kPArr, kShared, kStorageWorkgroup});
  a.op(kOpTypeCoopNV, {kTA, kHalf, kU3, kU16, kU16});
  a.op(kOpTypeCoopNV, {kTB, kHalf, kU3, kU16b, kU16});
  a.op(kOpTypeCoopNV, {kTC, kFloat, kU3, kU16, kU16});
  if (extra_types) extra_types(a);
  a.op(kOpTypePointer, {kPC, 7, kTC});
  a.op(54, {kVoid, kMain, 0, kFn}).op(248, {kLabel}).op(59, {kPC, kVC, 7});
  a.op(65, {kPHalf, kP0, kShared, kU3});  // OpAccessChain
  a.op(kOpLoadNV, {kTA, kA, kP0, kU16, kFalse}).op(kOpLoadNV, {kTB, kB, kP0, kU16, kTrue, 0x2, 4});
  a.op(kOpLoad, {kTC, kC, kVC});
  if (body) {
    body(a);
  } else {
    a.op(kOpMulAddNV, {kTC, kR, kA, kB, kC});
  }
  a.op(253, {}).op(56, {});  // OpReturn, OpFunctionEnd
  return a.w;
}

}  // namespace

TEST_CASE("spirv_coopmat: hand-built module converts to the KHR form", "[spirv_coopmat]") {
  const std::vector<uint32_t> in = hand_module();
  REQUIRE(spirv_uses_coopmat_nv(in));
  const std::vector<uint32_t> out = spirv_coopmat_nv_to_khr(in);
  const Converted r = check_conversion(in, out);
  CHECK(r.use == std::map<uint32_t, uint32_t>{{kTA, 0}, {kTB, 1}, {kTC, 2}});
  REQUIRE(r.loads.size() == 2);
  const Module m(out);
  CHECK(m.int_constant(r.loads[0].o[3]) == 0);  // A row-major
  CHECK(m.int_constant(r.loads[1].o[3]) == 1);  // B column-major, memory operands (Aligned 4) kept
  CHECK(tail(r.loads[1].o, 5) == std::vector<uint32_t>{0x2, 4});
  // No 32-bit constant 0, 1 or 2 before the first type: three are added, so the bound grows by three.
  CHECK(m.header[3] == kBound + 3);
  REQUIRE(r.muladds.size() == 1);
  CHECK(r.muladds[0].o.size() == 5);  // float components: no Cooperative Matrix Operands word
}

TEST_CASE("spirv_coopmat: constants are reused, signed integer mul-adds get the signed operands", "[spirv_coopmat]") {
  // Integer variant: s8 A and B, s32 accumulator; and 32-bit constants 0, 1, 2 declared before the first type.
  std::vector<uint32_t> in = hand_module();
  Module m(in);
  Asm a(kBound);
  for (const Ins& i : m.ins) {
    if (i.op == kOpTypeCoopNV && i.o[0] == kTA) {
      a.op(kOpTypeInt, {kFree, 8, 1}).op(kOpTypeInt, {kFree + 1, 32, 1});
      for (uint32_t v = 0; v < 3; ++v) a.op(kOpConstant, {kUint, kFree + 2 + v, v});
    }
    std::vector<uint32_t> o = i.o;
    if (i.op == kOpTypeCoopNV) o[1] = i.o[0] == kTC ? kFree + 1 : kFree;
    a.op(i.op, o);
  }
  in = a.w;
  const std::vector<uint32_t> out = spirv_coopmat_nv_to_khr(in);
  const Converted r = check_conversion(in, out);
  CHECK(Module(out).header[3] == kBound);  // nothing added
  CHECK(r.use == std::map<uint32_t, uint32_t>{{kTA, 0}, {kTB, 1}, {kTC, 2}});
  REQUIRE(r.muladds.size() == 1);
  REQUIRE(r.muladds[0].o.size() == 6);
  CHECK(r.muladds[0].o[5] == 0xfu);  // Matrix{A,B,C,Result}SignedComponentsKHR
}

TEST_CASE("spirv_coopmat: a use crosses conversions", "[spirv_coopmat]") {
  // %40 (f16) is only converted to the accumulator type and %41 (f16) only converted from it: both become
  // accumulators, whichever side of the conversion the known use is on.
  const std::vector<uint32_t> in = hand_module(
      [](Asm& a) {
        a.op(kOpTypeCoopNV, {kFree, kHalf, kU3, kU16, kU16});
        a.op(kOpTypeCoopNV, {kFree + 1, kHalf, kU3, kU16b, kU16b});
      },
      [](Asm& a) {
        a.op(1, {kFree, kY});  // OpUndef
        a.op(kOpFConvert, {kTC, kX, kY});
        a.op(kOpFConvert, {kFree + 1, kFree + 2, kC});
        a.op(kOpMulAddNV, {kTC, kR, kA, kB, kX});
      });
  const Converted r = check_conversion(in, spirv_coopmat_nv_to_khr(in));
  CHECK(r.use.at(kFree) == 2);
  CHECK(r.use.at(kFree + 1) == 2);
}

TEST_CASE("spirv_coopmat: errors", "[spirv_coopmat]") {
  SECTION("bad header") {
    const std::vector<uint32_t> swapped{0x03022307, 0x00010300, 0, 10, 0};
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(swapped), Catch::Contains("bad magic number 0x03022307"));
    const std::vector<uint32_t> short_header{kMagic, 0x00010300, 0};
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(short_header), Catch::Contains("fewer than the 5"));
    REQUIRE(!spirv_uses_coopmat_nv(swapped));
    REQUIRE(!spirv_uses_coopmat_nv(short_header));
  }
  SECTION("truncated instructions") {
    std::vector<uint32_t> w = hand_module();
    std::vector<uint32_t> zero = w;
    zero.push_back(kOpCapability);  // word count 0
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(zero), Catch::Contains("word count 0"));
    std::vector<uint32_t> past = w;
    past.push_back(3u << 16 | kOpCapability);  // 3 words, 1 there
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(past), Catch::Contains("runs past the end"));
    w.pop_back();  // OpFunctionEnd and OpReturn (one word each) replaced by a 2-word instruction's first word
    w.pop_back();
    w.push_back(2u << 16 | kOpCapability);
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(w), Catch::Contains("runs past the end"));
  }
  SECTION("a type in two roles") {
    const std::vector<uint32_t> ab = hand_module({}, [](Asm& a) { a.op(kOpMulAddNV, {kTC, kR, kA, kA, kC}); });
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(ab),
                        Catch::Contains("type %16 is used as both matrix A and matrix B"));
    const std::vector<uint32_t> ac = hand_module({}, [](Asm& a) {
      a.op(kOpMulAddNV, {kTC, kR, kA, kB, kC});
      a.op(kOpMulAddNV, {kTC, kX, kA, kB, kA});
    });
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(ac),
                        Catch::Contains("type %16 is used as both matrix A and the accumulator"));
  }
  SECTION("a type of unknown use") {
    const std::vector<uint32_t> w =
        hand_module([](Asm& a) { a.op(kOpTypeCoopNV, {kFree, kHalf, kU3, kU16b, kU16b}); });
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(w), Catch::Contains("cooperative-matrix type %40 is unknown"));
  }
  SECTION("a ColumnMajor that is not a constant") {
    const std::vector<uint32_t> w = hand_module({}, [](Asm& a) {
      a.op(kOpSpecConstantTrue, {kBool, kY});
      a.op(kOpLoadNV, {kTA, kX, kP0, kU16, kY});
      a.op(kOpMulAddNV, {kTC, kR, kX, kB, kC});
    });
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(w), Catch::Contains("ColumnMajor operand %29"));
  }
  SECTION("no Vulkan memory model") {
    std::vector<uint32_t> w = hand_module();
    Module m(w);
    Asm a(kBound);
    for (const Ins& i : m.ins) {
      if (!(i.op == kOpCapability && i.o[0] == 5345)) a.op(i.op, i.o);
    }
    REQUIRE_THROWS_WITH(spirv_coopmat_nv_to_khr(a.w), Catch::Contains("Vulkan memory model"));
  }
}

TEST_CASE("spirv_coopmat: modules without NV cooperative matrices come back unchanged", "[spirv_coopmat]") {
  Asm a(5);
  a.op(kOpCapability, {1}).op(14, {0, 1}).op(19, {1}).op(kOpTypeInt, {2, 32, 0}).op(kOpConstant, {2, 3, 7});
  REQUIRE(!spirv_uses_coopmat_nv(a.w));
  REQUIRE(spirv_coopmat_nv_to_khr(a.w) == a.w);
#ifdef UNICORN_HAVE_VULKAN
  for (const char* name : {"softmax", "rmsnorm", "rope"}) {
    const SpirvBlob& blob = find_spirv(name);
    const std::span<const uint32_t> w(blob.words, blob.size_bytes / 4);
    REQUIRE(!spirv_uses_coopmat_nv(w));
    REQUIRE(spirv_coopmat_nv_to_khr(w) == std::vector<uint32_t>(w.begin(), w.end()));
  }
#endif
}

#ifdef UNICORN_HAVE_VULKAN
TEST_CASE("spirv_coopmat: glslc's coopmat_check converts to the KHR form", "[spirv_coopmat]") {
  const SpirvBlob& blob = find_spirv("coopmat_check");
  REQUIRE(blob.size_bytes % 4 == 0);
  const std::span<const uint32_t> in(blob.words, blob.size_bytes / 4);
  REQUIRE(spirv_uses_coopmat_nv(in));
  const std::vector<uint32_t> out = spirv_coopmat_nv_to_khr(in);
  const Converted r = check_conversion(in, out);
  const Module m(out);
  // Three types (A, B, accumulator), one mul-add, loads of A (buffer, row-major), B (shared memory, column-major,
  // with the Vulkan memory model's MakePointerVisible operands) and C (buffer, row-major), one column-major store.
  REQUIRE(r.use.size() == 3);
  std::map<int, int> uses;
  for (const auto& [type, use] : r.use) ++uses[int(use)];
  CHECK(uses == std::map<int, int>{{0, 1}, {1, 1}, {2, 1}});
  REQUIRE(r.muladds.size() == 1);
  CHECK(r.muladds[0].o.size() == 5);
  REQUIRE(r.loads.size() == 3);
  for (const Ins& l : r.loads) {
    const uint32_t use = r.use.at(l.o[0]), layout = m.int_constant(l.o[3]);
    INFO("load of a type of use " << use);
    CHECK(layout == (use == 1 ? 1u : 0u));
    CHECK(m.storage_class_of(l.o[2]) == (use == 1 ? uint32_t(kStorageWorkgroup) : uint32_t(kStorageBuffer)));
    CHECK(m.int_constant(l.o[4]) == 16);  // stride
    if (use == 1) CHECK(l.o.size() > 5);  // memory operands copied
    const Ins& component = m.at(m.at(l.o[0]).o[1]);
    CHECK(component.op == kOpTypeFloat);
    CHECK(component.o[1] == (use == 2 ? 32u : 16u));
  }
  REQUIRE(r.stores.size() == 1);
  CHECK(m.int_constant(r.stores[0].o[2]) == 1);
  CHECK(m.int_constant(r.stores[0].o[3]) == 16);
  CHECK(r.use.at(m.type_of(r.stores[0].o[1])) == 2);
  CHECK(r.lengths >= 1);
}

TEST_CASE("spirv_coopmat: every embedded NV cooperative-matrix shader converts", "[spirv_coopmat]") {
  size_t n = 0;
  for (const SpirvBlob& blob : embedded_spirv()) {
    const std::span<const uint32_t> in(blob.words, blob.size_bytes / 4);
    if (!spirv_uses_coopmat_nv(in)) continue;
    INFO("shader " << blob.name);
    const Converted r = check_conversion(in, spirv_coopmat_nv_to_khr(in));
    CHECK(!r.muladds.empty());
    ++n;
  }
  CHECK(n >= 1);  // coopmat_check at least
}
#else
TEST_CASE("spirv_coopmat: glslc's coopmat_check converts to the KHR form", "[spirv_coopmat]") {
  UNICORN_SKIP("built without Vulkan (UNICORN_HAVE_VULKAN undefined): no embedded coopmat_check");
}
#endif
