#pragma once
// The CPU implementation of Model: Llama, Gemma 3 and Gemma 3n decoders with F32 activations.
#include <memory>

#include "formats/model_source.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace unicorn {

// Binds the weights (throws Error naming a missing/misshapen tensor and the file) and sizes the KV cache.
std::unique_ptr<Model> make_cpu_model(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts);

// CpuLayerTail: the CPU part of a hybrid model: layers [first_layer, n_layers) and the output head, with the KV
// cache of those layers only; shares the ModelSource; not thread-safe. Costs what CpuModel's forward costs for its
// layers.
class CpuLayerTail {
 public:
  virtual ~CpuLayerTail() = default;
  // hidden: n rows of hidden state entering layer first_layer, for tokens at positions [pos, pos + n); logits as
  // Model::forward. Same position rules and errors as Model::forward.
  virtual void forward_hidden(const float* hidden, int n, int pos, float* logits, bool all_logits) = 0;
};

// Llama and Gemma 3 only (Gemma 3n carries AltUp streams between layers; throws Error for it).
std::unique_ptr<CpuLayerTail> make_cpu_layer_tail(std::shared_ptr<ModelSource> src, ModelConfig cfg,
                                                  const ModelOptions& opts, int first_layer);

}  // namespace unicorn
