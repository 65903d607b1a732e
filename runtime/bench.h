#pragma once
// The work behind `unicorn bench`: prompt-processing (prefill) and token-generation (decode) speed of a model on the
// CPU, measured like llama-bench (random tokens, an empty KV cache before each test, a warm-up run first), and the
// machine's streaming read bandwidth (the roofline for memory-bound decode).
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model.h"

namespace unicorn {

// Mean and sample standard deviation of repeated measurements.
struct BenchStat {
  std::vector<double> samples;
  double mean = 0.0;
  double stddev = 0.0;  // sample (n - 1) standard deviation; 0 for one sample
};
BenchStat make_bench_stat(std::vector<double> samples);

struct BenchOptions {
  std::string model;
  int prompt_tokens = 512;  // 0: no prefill test
  int gen_tokens = 128;     // 0: no decode test
  int repetitions = 5;
  int threads = 0;          // 0 = physical cores
  bool kv_f16 = false;
  std::string device = "cpu";  // as ModelOptions::device
  int gpu_layers = -1;
  bool profile = false;
  uint64_t seed = 1;        // for the random token ids
};

struct BenchResult {
  std::string model;
  std::string arch;
  std::string device;               // ModelInfo::device
  std::string placement;            // ModelInfo::placement (Vulkan)
  int gpu_layers = 0;
  std::string profile;              // Model::profile_report() after every test (with BenchOptions::profile)
  int threads = 0;
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;        // all tensors the model binds (what llama.cpp calls the model size)
  uint64_t parameters = 0;          // elements of every tensor in the file
  double bits_per_weight = 0.0;     // 8 * tensor bytes / parameters, over every tensor in the file
  uint64_t decode_bytes_per_token = 0;  // weight bytes one decode step reads (embedding tables not used as LM head
                                        // excluded: a step reads one row of them)
  BenchStat prefill_tok_s;          // prompt_tokens / time of one batched forward from an empty cache
  BenchStat decode_tok_s;           // gen_tokens / time of gen_tokens single-token forwards from an empty cache
  BenchStat decode_gb_s;            // decode_bytes_per_token * tok/s / 1e9, per repetition
  ForwardTimes prefill_times;       // summed over the timed prefill runs (warm-ups excluded); zeros on the CPU
  ForwardTimes decode_times;        // summed over the timed decode runs
};

// Loads the model, runs one warm-up of each test, then `repetitions` timed runs of each. Throws Error for a model
// that does not load or a context smaller than the tests.
BenchResult run_bench(const BenchOptions& options);

struct MembwResult {
  int threads = 0;
  uint64_t buffer_bytes = 0;
  BenchStat gb_s;  // per repetition: buffer_bytes / seconds / 1e9 of one multithreaded pass
};

// Streaming read bandwidth: `threads` threads (0 = physical cores) each sum their slice of a buffer far larger
// than the caches (default 1 GiB), `repetitions` times after one warm-up pass.
MembwResult measure_memory_bandwidth(int threads, uint64_t buffer_bytes = uint64_t{1} << 30, int repetitions = 5);

}  // namespace unicorn
