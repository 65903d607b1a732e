#include "cli/job_output.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"

namespace unicorn::cli {
namespace {

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / (1 << 30));
  else if (b >= (uint64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

nlohmann::json summary_json(const QuantizeJobOptions& o, const QuantizeJobResult& r, const std::string& what) {
  nlohmann::json j;
  j["input"] = o.input;
  j["output"] = o.output;
  j["type"] = what;
  j["arch"] = r.arch;
  j["source_flavour"] = r.source_flavour;
  j["format"] = r.format;
  j["tensors"] = r.tensors.size();
  j["parameters"] = r.parameters;
  j["input_tensor_bytes"] = r.input_tensor_bytes;
  j["output_tensor_bytes"] = r.output_tensor_bytes;
  j["output_file_bytes"] = r.output_file_bytes;
  j["bits_per_weight"] = r.bits_per_weight;
  j["seconds"] = r.seconds;
  j["notes"] = r.notes;
  return j;
}

}  // namespace

QuantizeProgress make_progress_printer(const std::string& verb, bool quiet) {
  if (quiet) return {};
  if (::isatty(STDERR_FILENO)) {
    return [verb](size_t done, size_t total, const std::string& name) {
      const int width = 30;
      const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r%s [%s%s] %zu/%zu %-40.40s", verb.c_str(), std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), done, total, name.c_str());
      if (done == total) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    };
  }
  return [verb](size_t done, size_t total, const std::string& name) {
    std::fprintf(stderr, "%s: %zu/%zu %s\n", verb.c_str(), done, total, name.c_str());
  };
}

void print_job_summary(const QuantizeJobOptions& o, const QuantizeJobResult& r, const std::string& what, bool json) {
  if (json) {
    std::printf("%s\n", summary_json(o, r, what).dump(2).c_str());
    return;
  }
  for (const std::string& n : r.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::printf("%s -> %s  (%s, %s source, %s, %s)\n", o.input.c_str(), o.output.c_str(), r.arch.c_str(),
              r.source_flavour.c_str(), r.format.c_str(), what.c_str());
  std::printf("tensors:         %zu (%.3f M parameters)\n", r.tensors.size(), static_cast<double>(r.parameters) / 1e6);
  std::printf("size:            %s -> %s of tensor data (file %s)\n", human_bytes(r.input_tensor_bytes).c_str(),
              human_bytes(r.output_tensor_bytes).c_str(), human_bytes(r.output_file_bytes).c_str());
  std::printf("bits per weight: %.3f\n", r.bits_per_weight);
  std::printf("time:            %.2f s\n", r.seconds);
}

void write_job_report(const std::string& path, const QuantizeJobOptions& o, const QuantizeJobResult& r,
                      const std::string& what) {
  nlohmann::json j = summary_json(o, r, what);
  nlohmann::json ts = nlohmann::json::array();
  for (const TensorResult& t : r.tensors) {
    nlohmann::json e;
    e["name"] = t.name;
    e["source_name"] = t.source_name;
    e["source_type"] = dtype_name(t.source_dtype);
    e["type"] = dtype_name(t.dtype);
    e["shape"] = t.shape;
    e["bytes"] = t.bytes;
    if (t.measured) {
      e["rmse"] = t.rmse;
      e["max_abs_error"] = t.max_abs;
    }
    ts.push_back(e);
  }
  j["tensor_report"] = ts;
  const std::string text = j.dump(2) + "\n";
  AtomicFileWriter w(path);
  w.write(text.data(), text.size());
  w.commit();
}

}  // namespace unicorn::cli
