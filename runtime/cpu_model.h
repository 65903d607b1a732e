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
  // Llama and Gemma 3; throws Error for Gemma 3n.
  virtual void forward_hidden(const float* hidden, int n, int pos, float* logits, bool all_logits) = 0;
  // Gemma 3n: its state entering layer first_layer, streams [altup_inputs][n][hidden] (the AltUp streams, stream
  // s at s * n * hidden) and per_layer [n][n_layers * per_layer_dim] (the per-layer inputs of every layer); logits
  // as Model::forward. Throws Error for the other architectures.
  virtual void forward_streams(const float* streams, const float* per_layer, int n, int pos, float* logits,
                               bool all_logits) = 0;
};

// Every architecture. Gemma 3n layers that reuse an earlier layer's KV cache need that layer on the CPU too:
// throws Error when one of [first_layer, n_layers) reads a cache below first_layer (kv_sources_within says).
std::unique_ptr<CpuLayerTail> make_cpu_layer_tail(std::shared_ptr<ModelSource> src, ModelConfig cfg,
                                                  const ModelOptions& opts, int first_layer);

// Whether layers [first_layer, n_layers) find every KV cache they read among themselves (KV sharing).
bool kv_sources_within(const ModelConfig& cfg, int first_layer);

}  // namespace unicorn
