#pragma once
// A loaded language model ready to run on the CPU: weights (mapped, used in place), config and KV cache.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/metadata.h"

namespace unicorn {

class ModelSource;

struct ModelOptions {
  int threads = 0;          // 0 = physical cores
  int ctx = 0;              // 0 = model default, capped at kDefaultCtxCap
  bool kv_f16 = false;      // store the KV cache as F16 instead of F32 (on the GPU where it has 16-bit storage)
  // "cpu", "vulkan" (the best Vulkan device, lavapipe only when there is no GPU), "vulkan:N" (device index N), or
  // "auto" (a real GPU through Vulkan when there is one, else the CPU; never lavapipe).
  std::string device = "cpu";
  int gpu_layers = -1;      // Vulkan: the first N layers run on the GPU, the rest on the CPU; -1 = all
  bool profile = false;     // Vulkan: time every dispatch (timestamp queries); see Model::profile_report
  bool time_gpu = false;    // Vulkan: time each submission on the GPU (2 timestamps); see Model::forward_times
  static constexpr int kDefaultCtxCap = 4096;
};

struct ModelInfo {
  std::string arch;         // "llama" | "gemma3" | "gemma3n"
  int vocab_size = 0;
  int n_layers = 0;
  int hidden = 0;
  int ctx = 0;              // KV cache capacity in tokens
  int max_ctx = 0;          // what the model was trained for
  int bos_id = -1;
  std::vector<int> eos_ids; // end-of-generation ids from the config/metadata
  uint64_t weight_bytes = 0;
  uint64_t kv_bytes = 0;    // KV cache memory (sliding-window layers keep only a ring of about two windows)
  std::string note;         // what was left out, e.g. the vision/audio towers of a multimodal checkpoint
  std::string device = "cpu";  // where it runs, e.g. "cpu" or "vulkan:0 (NVIDIA H200)"
  std::string placement;    // Vulkan: where the weights and KV cache went (one line), else empty
  int gpu_layers = 0;       // layers running on the GPU
};

// Where the time of the forwards so far went, summed (a GPU model's host/GPU split; zeros on the CPU).
struct ForwardTimes {
  uint64_t forwards = 0;
  double total_ms = 0;   // host: forward() call to return
  double record_ms = 0;  // host: recording up to the last submission (the GPU runs the first parts meanwhile)
  double wait_ms = 0;    // host: waiting for the GPU after the last submission
  double gpu_ms = 0;     // GPU: each submission's first command to its last, gaps between dispatches included
                         // (with ModelOptions::time_gpu or profile and a queue with timestamps; else 0)
};
ForwardTimes operator-(const ForwardTimes& a, const ForwardTimes& b);

// Model: owns its ModelSource, weights and KV cache; not thread-safe (one generation at a time);
// forward() costs about 2 * parameters FLOPs per token and allocates nothing after the first call of a size.
class Model {
 public:
  // Throws Error naming the file/tensor/field: unknown architecture, missing tensor, wrong shape.
  static std::unique_ptr<Model> load(const std::string& path, const ModelOptions& opts);
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;
  // The metadata of the file the model came from (tokenizer, chat template).
  virtual const Metadata& metadata() const = 0;
  // Forgets the KV cache.
  virtual void reset() = 0;
  // Runs tokens at positions [pos, pos + n) as one batch and appends them to the KV cache. pos must equal the
  // number of tokens already cached (or be smaller, which truncates the cache to pos first).
  // logits gets n * vocab floats when all_logits, else vocab floats for the last token.
  // Throws Error when pos + n exceeds the context or a token id is out of range.
  virtual void forward(std::span<const int32_t> tokens, int pos, float* logits, bool all_logits) = 0;
  // With ModelOptions::profile on a GPU: GPU time per op label summed over every forward so far, as a table;
  // empty otherwise.
  virtual std::string profile_report() const { return {}; }
  virtual ForwardTimes forward_times() const { return {}; }
};

}  // namespace unicorn
