// `unicorn inspect`: shows a model's metadata (long values summarized), tensor table, totals and, with --verify,
// checksum results (.ucn). Flags and printing only.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "formats/model_source.h"
#include "formats/ucn.h"

namespace unicorn::cli {
namespace {

constexpr size_t kArrayHead = 8;
constexpr size_t kStringHead = 120;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  out += "]";
  return out;
}

std::string escape(const std::string& s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out.append("\\x");
      out.push_back("0123456789abcdef"[c >> 4]);
      out.push_back("0123456789abcdef"[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string value_text(const MetaValue& v, bool top) {
  switch (v.type) {
    case MetaType::STRING: {
      const std::string& s = v.as_string();
      std::string out = "\"";
      out += escape(s, kStringHead);
      out += s.size() > kStringHead ? str_cat("...\" (", s.size(), " bytes)") : std::string("\"");
      return out;
    }
    case MetaType::ARRAY: {
      const MetaArray& a = v.as_array();
      std::string out = str_cat(meta_type_name(a.elem_type), "[", a.items.size(), "] {");
      for (size_t i = 0; i < a.items.size() && i < (top ? kArrayHead : 3); ++i) {
        if (i) out += ", ";
        out += value_text(a.items[i], false);
      }
      if (a.items.size() > (top ? kArrayHead : 3)) out += ", ...";
      out += "}";
      return out;
    }
    case MetaType::BOOL: return v.as_bool() ? "true" : "false";
    case MetaType::F32: case MetaType::F64: return str_cat(v.as_double());
    default: return str_cat(v.as_int());
  }
}

nlohmann::json value_json(const MetaValue& v, bool top) {
  switch (v.type) {
    case MetaType::STRING: {
      const std::string& s = v.as_string();
      if (s.size() > 4096) return {{"length", s.size()}, {"head", s.substr(0, 256)}, {"truncated", true}};
      return nlohmann::json(s);  // may be invalid UTF-8: dump() below replaces bad bytes
    }
    case MetaType::ARRAY: {
      const MetaArray& a = v.as_array();
      nlohmann::json j;
      j["elem_type"] = meta_type_name(a.elem_type);
      j["count"] = a.items.size();
      nlohmann::json items = nlohmann::json::array();
      const size_t limit = top ? kArrayHead : 3;
      for (size_t i = 0; i < a.items.size() && i < limit; ++i) items.push_back(value_json(a.items[i], false));
      j["head"] = items;
      return j;
    }
    case MetaType::BOOL: return v.as_bool();
    case MetaType::F32: case MetaType::F64: return v.as_double();
    case MetaType::U8: case MetaType::U16: case MetaType::U32: case MetaType::U64: return static_cast<uint64_t>(v.as_int());
    default: return v.as_int();
  }
}

std::string format_name(const ModelSource& src) {
  const auto f = src.metadata().opt_string("unicorn.source_format");
  return f ? *f : "unknown";
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description opts(
      "usage: unicorn inspect FILE [--json] [--verify]\n\n"
      "Shows a model's metadata (long strings and arrays summarized), its tensors (name, type, shape, bytes),\n"
      "totals per type and, for .ucn, the checksums. FILE may be a .ucn, a .gguf, a .safetensors or a HF directory.\n"
      "The .ucn header checksum is always checked; --verify also hashes every tensor and exits 1 on a mismatch.\n\n"
      "options");
  opts.add_options()
      ("json", "print everything as JSON")
      ("verify", "verify every tensor checksum (.ucn)")
      ("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("file", po::value<std::string>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  if (!vm.count("file")) throw po::error("needs FILE");
  const std::string path = vm["file"].as<std::string>();
  const bool json = vm.count("json") > 0;
  const bool verify = vm.count("verify") > 0;

  const std::unique_ptr<ModelSource> src = open_model_source(path, false);
  const auto* ucn = dynamic_cast<const UcnReader*>(src.get());
  std::vector<UcnChecksumFailure> failures;
  if (verify && ucn != nullptr) failures = ucn->verify_tensors();

  uint64_t total_bytes = 0, total_params = 0, total_stored = 0;
  std::map<std::string, std::pair<size_t, uint64_t>> by_type;  // count, bytes
  for (size_t i = 0; i < src->tensors().size(); ++i) {
    const TensorView& t = src->tensors()[i];
    total_bytes += t.nbytes;
    total_params += static_cast<uint64_t>(t.elements());
    total_stored += ucn != nullptr ? ucn->tensor_infos()[i].stored_size : t.nbytes;
    auto& bt = by_type[dtype_name(t.dtype)];
    bt.first += 1;
    bt.second += t.nbytes;
  }

  if (json) {
    nlohmann::json j;
    j["file"] = path;
    j["format"] = format_name(*src);
    nlohmann::json md = nlohmann::json::object();
    for (const auto& [k, v] : src->metadata().entries()) md[k] = {{"type", meta_type_name(v.type)}, {"value", value_json(v, true)}};
    j["metadata"] = md;
    nlohmann::json ts = nlohmann::json::array();
    for (size_t i = 0; i < src->tensors().size(); ++i) {
      const TensorView& t = src->tensors()[i];
      nlohmann::json e = {{"name", t.name}, {"type", dtype_name(t.dtype)}, {"shape", t.shape}, {"bytes", t.nbytes}};
      if (ucn != nullptr) {
        const UcnTensorInfo& info = ucn->tensor_infos()[i];
        e["stored_bytes"] = info.stored_size;
        e["compression"] = info.compression == UcnCompression::Zstd ? "zstd" : "none";
        e["checksum"] = str_cat(std::hex, info.checksum);
      }
      ts.push_back(e);
    }
    j["tensors"] = ts;
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [name, cb] : by_type) types[name] = {{"tensors", cb.first}, {"bytes", cb.second}};
    j["totals"] = {{"tensors", src->tensors().size()}, {"parameters", total_params}, {"bytes", total_bytes},
                   {"stored_bytes", total_stored}, {"by_type", types}};
    if (ucn != nullptr) {
      nlohmann::json c = {{"header", "ok"}, {"header_checksum", str_cat(std::hex, ucn->header_checksum())}};
      if (verify) {
        nlohmann::json f = nlohmann::json::array();
        for (const auto& x : failures) f.push_back({{"tensor", x.tensor}, {"expected", str_cat(std::hex, x.expected)}, {"actual", str_cat(std::hex, x.actual)}});
        c["tensors_verified"] = src->tensors().size();
        c["failures"] = f;
        c["ok"] = failures.empty();
      }
      j["checksums"] = c;
    } else if (verify) {
      j["checksums"] = {{"available", false}};
    }
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("file:   %s\nformat: %s\n\nmetadata (%zu keys):\n", path.c_str(), format_name(*src).c_str(), src->metadata().size());
    for (const auto& [k, v] : src->metadata().entries()) {
      std::printf("  %-44s %-7s %s\n", k.c_str(), meta_type_name(v.type), value_text(v, true).c_str());
    }
    std::printf("\ntensors (%zu):\n", src->tensors().size());
    std::printf("  %-48s %-6s %-20s %12s%s\n", "name", "type", "shape", "bytes", ucn != nullptr ? "       stored  comp" : "");
    for (size_t i = 0; i < src->tensors().size(); ++i) {
      const TensorView& t = src->tensors()[i];
      std::printf("  %-48s %-6s %-20s %12llu", t.name.c_str(), dtype_name(t.dtype), shape_str(t.shape).c_str(),
                  static_cast<unsigned long long>(t.nbytes));
      if (ucn != nullptr) {
        const UcnTensorInfo& info = ucn->tensor_infos()[i];
        std::printf(" %12llu  %s", static_cast<unsigned long long>(info.stored_size),
                    info.compression == UcnCompression::Zstd ? "zstd" : "-");
      }
      std::printf("\n");
    }
    std::printf("\ntotals: %zu tensors, %.3f M parameters, %llu bytes", src->tensors().size(), static_cast<double>(total_params) / 1e6,
                static_cast<unsigned long long>(total_bytes));
    if (ucn != nullptr) std::printf(" (%llu stored)", static_cast<unsigned long long>(total_stored));
    std::printf("\n");
    for (const auto& [name, cb] : by_type) {
      std::printf("  %-6s %5zu tensors %14llu bytes\n", name.c_str(), cb.first, static_cast<unsigned long long>(cb.second));
    }
    if (ucn != nullptr) {
      std::printf("\nchecksums: header ok (0x%llx)", static_cast<unsigned long long>(ucn->header_checksum()));
      if (verify) {
        std::printf(", tensors: %zu verified, %zu mismatched\n", src->tensors().size(), failures.size());
        for (const auto& x : failures) {
          std::printf("  MISMATCH %s: stored 0x%llx, computed 0x%llx\n", x.tensor.c_str(),
                      static_cast<unsigned long long>(x.expected), static_cast<unsigned long long>(x.actual));
        }
      } else {
        std::printf(" (tensors not verified; use --verify)\n");
      }
    } else if (verify) {
      std::printf("\nchecksums: not available in the %s format\n", format_name(*src).c_str());
    }
  }
  if (!failures.empty()) {
    std::fprintf(stderr, "unicorn inspect: error: %s: %zu tensor checksum mismatch(es), first: %s\n", path.c_str(),
                 failures.size(), failures[0].tensor.c_str());
    return kExitError;
  }
  return kExitOk;
}

}  // namespace unicorn::cli
