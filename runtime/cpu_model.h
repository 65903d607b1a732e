#pragma once
// The CPU implementation of Model: Llama, Gemma 3 and Gemma 3n decoders with F32 activations.
#include <memory>

#include "formats/model_source.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace unicorn {

// Binds the weights (throws Error naming a missing/misshapen tensor and the file) and sizes the KV cache.
std::unique_ptr<Model> make_cpu_model(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts);

}  // namespace unicorn
