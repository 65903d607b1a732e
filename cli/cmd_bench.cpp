// `unicorn bench`: flags and printing only; the work is runtime/bench.h.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/device_flags.h"
#include "cli/parse.h"
#include "runtime/bench.h"
#include "runtime/bench_kernel.h"

namespace unicorn::cli {
namespace {

nlohmann::json stat_json(const BenchStat& s) {
  return {{"mean", s.mean}, {"stddev", s.stddev}, {"samples", s.samples}};
}

// Per forward: host time in all, its recording and waiting parts, and the GPU's first-to-last-command time.
nlohmann::json forward_times_json(const ForwardTimes& t) {
  const double f = static_cast<double>(t.forwards);
  nlohmann::json j = {{"forwards", t.forwards}, {"host", t.total_ms / f}, {"recording", t.record_ms / f},
                      {"waiting", t.wait_ms / f}};
  if (t.gpu_ms > 0) j["gpu"] = t.gpu_ms / f;
  return j;
}

void print_forward_times(const char* test, const ForwardTimes& t) {
  if (t.forwards == 0) return;
  const double f = static_cast<double>(t.forwards);
  std::printf("%s per forward: %.3f ms on the host (%.3f recording, %.3f waiting for the GPU)", test, t.total_ms / f,
              t.record_ms / f, t.wait_ms / f);
  if (t.gpu_ms > 0) {
    std::printf("; GPU %.3f ms from first command to last (%.0f%% of the host's)", t.gpu_ms / f,
                100.0 * t.gpu_ms / t.total_ms);
  }
  std::printf("\n");
}

std::string pm(const BenchStat& s, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f ± %.*f", decimals, s.mean, decimals, s.stddev);
  return buf;
}

int bench_kernel(const boost::program_options::variables_map& vm, bool json) {
  namespace po = boost::program_options;
  KernelBenchOptions o;
  o.kernel = vm["kernel"].as<std::string>();
  const std::string type = vm["type"].as<std::string>();
  const auto t = dtype_from_name(type);
  if (!t) throw po::error("--type: unknown weight type '" + type + "'");
  o.type = *t;
  const std::string shape = vm["shape"].as<std::string>();
  unsigned rows = 0, cols = 0;
  char tail = 0;
  if (std::sscanf(shape.c_str(), "%ux%u%c", &rows, &cols, &tail) != 2)
    throw po::error("--shape: not ROWSxCOLS: " + shape);
  o.rows = rows, o.cols = cols;
  const int tokens = vm["tokens"].as<int>(), calls = vm["calls"].as<int>(), reps = vm["reps"].as<int>();
  if (tokens < 1 || calls < 1 || reps < 1) throw po::error("--tokens, --calls and --reps must be >= 1");
  o.tokens = static_cast<uint32_t>(tokens), o.calls = calls, o.repetitions = reps;
  ModelOptions device_opts;
  apply_device_options(vm, device_opts);
  o.device = device_opts.device == "cpu" ? "vulkan" : device_opts.device;
  const KernelBenchResult r = run_kernel_bench(o);
  if (json) {
    const nlohmann::json out = {{"kernel", r.kernel}, {"type", type}, {"rows", rows}, {"cols", cols},
                                {"tokens", tokens}, {"calls", calls}, {"device", r.device},
                                {"weight_bytes", r.weight_bytes}, {"us_per_call", stat_json(r.us_per_call)},
                                {"gb_s", stat_json(r.gb_s)}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("%s %s %ux%u x%d tokens on %s: %s us/call, %s GB/s of weights, %.1f GFLOP/s\n", r.kernel.c_str(),
                type.c_str(), rows, cols, tokens, r.device.c_str(), pm(r.us_per_call).c_str(), pm(r.gb_s).c_str(),
                r.flops / r.us_per_call.mean / 1e3);
  }
  return kExitOk;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description opts(
      "usage: unicorn bench -m MODEL [-p 512] [-n 128] [-r 5] [--threads N] [--device D] [--json | --md]\n"
      "       unicorn bench --membw [--threads N] [--json]\n"
      "       unicorn bench --kernel matvec|glu|matmul --type q4_k --shape 8192x2048 [--tokens N] [--device D]\n\n"
      "Measures prefill (prompt processing: one batched forward of -p random tokens from an empty cache) and decode\n"
      "(token generation: -n single-token forwards from an empty cache) speed in tokens/s, as mean ± sample std over\n"
      "-r repetitions after one warm-up run of each, like llama-bench's pp/tg tests. Also prints the model size, bits\n"
      "per weight and the decode memory bandwidth achieved (weight bytes one decode step reads x tokens/s).\n"
      "--membw measures the machine's streaming read bandwidth (all threads summing a 1 GiB buffer): the roofline\n"
      "for memory-bound decode.\n"
      "--kernel times one Vulkan kernel alone (--calls dependent dispatches per submission, random weights of\n"
      "--type, ROWSxCOLS): microseconds per call and weight bytes read per second.\n\noptions");
  opts.add_options()
      ("model,m", po::value<std::string>(), "model (.gguf, .ucn or HF directory)")
      ("prompt,p", po::value<int>()->default_value(512), "prefill tokens (0: skip the prefill test)")
      ("gen,n", po::value<int>()->default_value(128), "decode tokens (0: skip the decode test)")
      ("reps,r", po::value<int>()->default_value(5), "timed repetitions of each test")
      ("threads,t", po::value<int>()->default_value(0), "CPU threads (0 = physical cores)")
      ("kv-f16", "store the KV cache as F16")
      ("membw", "measure streaming memory read bandwidth (also with -m: both)")
      ("membw-mib", po::value<int>()->default_value(1024), "membw buffer size in MiB")
      ("kernel", po::value<std::string>(), "time one Vulkan kernel: matvec | glu | matmul")
      ("type", po::value<std::string>()->default_value("q4_k"), "--kernel weight type (f32 ... q6_k)")
      ("shape", po::value<std::string>()->default_value("4096x4096"), "--kernel weight shape ROWSxCOLS")
      ("tokens", po::value<int>()->default_value(1), "--kernel activation rows (matvec/glu 1..7)")
      ("calls", po::value<int>()->default_value(200), "--kernel dispatches per timed submission")
      ("json", "print JSON")
      ("md", "print a markdown table")
      ("help,h", "show this help");
  add_device_options(opts);
  po::variables_map vm;
  if (parse_or_print_help(args, opts, vm)) return kExitOk;
  const bool json = vm.count("json") > 0, md = vm.count("md") > 0;
  if (json && md) throw po::error("give at most one of --json and --md");
  const bool membw = vm.count("membw") > 0;
  if (vm.count("kernel")) return bench_kernel(vm, json);
  if (!vm.count("model") && !membw) throw po::error("needs -m MODEL, --membw or --kernel");
  const int threads = vm["threads"].as<int>();
  if (threads < 0) throw po::error("--threads must be >= 0");
  const int reps = vm["reps"].as<int>();
  if (reps < 1) throw po::error("--reps must be >= 1");
  const int membw_mib = vm["membw-mib"].as<int>();
  if (membw_mib < 1) throw po::error("--membw-mib must be >= 1");

  nlohmann::json out;
  std::string last_profile;
  if (membw) {
    const MembwResult m = measure_memory_bandwidth(threads, uint64_t(membw_mib) << 20, reps);
    if (json) {
      out["membw"] = {{"threads", m.threads}, {"buffer_bytes", m.buffer_bytes}, {"gb_s", stat_json(m.gb_s)}};
    } else {
      std::printf("memory read bandwidth: %s GB/s (%d threads, %.0f MiB buffer, %d reps)\n", pm(m.gb_s).c_str(),
                  m.threads, m.buffer_bytes / 1048576.0, reps);
    }
  }
  if (vm.count("model")) {
    BenchOptions o;
    o.model = vm["model"].as<std::string>();
    o.prompt_tokens = vm["prompt"].as<int>();
    o.gen_tokens = vm["gen"].as<int>();
    if (o.prompt_tokens < 0 || o.gen_tokens < 0) throw po::error("-p and -n must be >= 0");
    o.repetitions = reps;
    o.threads = threads;
    o.kv_f16 = vm.count("kv-f16") > 0;
    ModelOptions device_opts;
    apply_device_options(vm, device_opts);
    o.device = device_opts.device;
    o.gpu_layers = device_opts.gpu_layers;
    o.profile = device_opts.profile;
    const BenchResult r = run_bench(o);
    last_profile = r.profile;
    if (!r.placement.empty()) std::fprintf(stderr, "unicorn bench: %s: %s\n", r.device.c_str(), r.placement.c_str());
    if (json) {
      out["model"] = r.model;
      out["arch"] = r.arch;
      out["device"] = r.device;
      out["gpu_layers"] = r.gpu_layers;
      if (!r.placement.empty()) out["placement"] = r.placement;
      out["threads"] = r.threads;
      out["file_bytes"] = r.file_bytes;
      out["weight_bytes"] = r.weight_bytes;
      out["parameters"] = r.parameters;
      out["bits_per_weight"] = r.bits_per_weight;
      out["decode_bytes_per_token"] = r.decode_bytes_per_token;
      out["prompt_tokens"] = o.prompt_tokens;
      out["gen_tokens"] = o.gen_tokens;
      out["repetitions"] = reps;
      if (o.prompt_tokens > 0) out["prefill_tok_s"] = stat_json(r.prefill_tok_s);
      if (o.gen_tokens > 0) {
        out["decode_tok_s"] = stat_json(r.decode_tok_s);
        out["decode_gb_s"] = stat_json(r.decode_gb_s);
      }
      if (r.prefill_times.forwards > 0) out["prefill_forward_ms"] = forward_times_json(r.prefill_times);
      if (r.decode_times.forwards > 0) out["decode_forward_ms"] = forward_times_json(r.decode_times);
    } else {
      const double gib = r.weight_bytes / 1073741824.0;
      if (md) {
        std::printf("| model | arch | size | params | bpw | threads | test | t/s |\n");
        std::printf("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n");
        auto row = [&](const std::string& test, const BenchStat& s) {
          std::printf("| %s | %s | %.2f GiB | %.2f B | %.2f | %d | %s | %s |\n", r.model.c_str(), r.arch.c_str(), gib,
                      r.parameters / 1e9, r.bits_per_weight, r.threads, test.c_str(), pm(s).c_str());
        };
        if (o.prompt_tokens > 0) row(str_cat("pp", o.prompt_tokens), r.prefill_tok_s);
        if (o.gen_tokens > 0) row(str_cat("tg", o.gen_tokens), r.decode_tok_s);
      } else {
        std::printf("model:   %s (%s), %.2f GiB of weights, %.3f B parameters, %.2f bits/weight, %d threads\n",
                    r.model.c_str(), r.arch.c_str(), gib, r.parameters / 1e9, r.bits_per_weight, r.threads);
        std::printf("device:  %s%s%s\n", r.device.c_str(), r.placement.empty() ? "" : "; ", r.placement.c_str());
        if (o.prompt_tokens > 0)
          std::printf("prefill: %s tok/s  (pp%d, %d reps)\n", pm(r.prefill_tok_s).c_str(), o.prompt_tokens, reps);
        if (o.gen_tokens > 0) {
          std::printf("decode:  %s tok/s  (tg%d, %d reps)\n", pm(r.decode_tok_s).c_str(), o.gen_tokens, reps);
          std::printf("decode bandwidth: %s GB/s  (%.1f MiB of weights read per token)\n", pm(r.decode_gb_s).c_str(),
                      r.decode_bytes_per_token / 1048576.0);
        }
        print_forward_times("prefill", r.prefill_times);
        print_forward_times("decode", r.decode_times);
      }
    }
  }
  if (json) std::cout << out.dump(2) << "\n";
  if (!last_profile.empty()) std::fprintf(stderr, "unicorn bench: profile (all tests and warm-ups)\n%s", last_profile.c_str());
  return kExitOk;
}

}  // namespace unicorn::cli
