#pragma once
// Random-weight models with the real dimensions of known checkpoints (`unicorn synth`), so benchmarks need no
// downloads. Output is GGUF (llama.cpp names and metadata; llama.cpp loads it) or .ucn with the same names/keys.
// The tokenizer is a synthetic SentencePiece vocabulary of the real size: special tokens, 256 byte tokens, then
// made-up pieces; it encodes and decodes any text (output is noise by design).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quant/recipe.h"

namespace unicorn {

// The dimensions of one real model (text part). The one table of these lives in synth.cpp.
struct SynthShape {
  std::string name;        // "llama-3.2-1b", ...
  std::string arch;        // "llama" | "gemma3" | "gemma3n"
  int vocab = 0;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int ffn = 0;
  int ctx = 0;             // context_length written to the metadata
  double rope_theta = 10000.0;
  double rope_theta_swa = 10000.0;  // gemma: local (sliding-window) layers
  double rope_linear_factor = 0.0;  // gemma-3-4b: linear scaling of the global rope
  int sliding_window = 0;  // gemma
  int swa_period = 0;      // gemma: every swa_period-th layer is global
  bool tied = false;       // no output.weight: the embedding is the LM head
  double norm_eps = 1e-5;
  // gemma3n only
  int per_layer_dim = 0;
  int per_layer_vocab = 0;
  int altup_inputs = 0;
  int laurel_rank = 0;
  int kv_shared_layers = 0;
  int sparse_layers = 0;   // the first N layers use activation sparsity 0.95
  double final_softcap = 0.0;
};

// Known shapes, and lookup by name (nullptr when unknown).
const std::vector<SynthShape>& synth_shapes();
const SynthShape* find_synth_shape(const std::string& name);

struct SynthOptions {
  std::string arch;              // optional; must match the shape's arch when given
  std::string shape;             // empty: the default shape of arch
  quant::QuantMix mix = quant::QuantMix::Q4_K_M;
  uint64_t seed = 1;
  int layers = 0;                // > 0: override the layer count (small test models)
  int vocab = 0;                 // > 0: override the vocabulary size (small test models; at least 300)
  int threads = 0;               // 0 = physical cores
  std::string output;            // .gguf or .ucn
};

struct SynthResult {
  SynthShape shape;              // after the layer override
  uint64_t parameters = 0;       // elements of all tensors
  uint64_t tensor_bytes = 0;
  uint64_t file_bytes = 0;
  double bits_per_weight = 0.0;  // 8 * tensor_bytes / parameters
  size_t tensors = 0;
  double seconds = 0.0;
};

using SynthProgress = std::function<void(size_t done, size_t total, const std::string& name)>;

// Writes the model atomically. Memory: a few MiB of rows at a time plus the vocabulary; never a whole tensor in F32.
// Weights are N(0, 0.02) (1-D norm weights 1 + N(0, 0.02)), deterministic in (seed, tensor name, row) whatever the
// thread count. Throws Error for unknown shapes/arch, a bad layer count or an unsupported extension.
SynthResult synthesize_model(const SynthOptions& options, const SynthProgress& progress = {});

}  // namespace unicorn
