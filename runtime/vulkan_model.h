#pragma once
// The Vulkan implementation of Model, and the choice between it and the CPU for a --device spec.
#include <memory>
#include <string>

#include "formats/model_source.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace unicorn {

// What a --device spec resolves to: "cpu", or a Vulkan spec ("vulkan", "vulkan:N") for VulkanContext::create.
// "auto" gives a real GPU ("vulkan:N" of the first discrete/integrated/virtual GPU) or "cpu" when there is none
// (lavapipe, a CPU driver, is never chosen by auto). Throws Error for an unknown spec, or for "vulkan..." in a build
// without the Vulkan backend.
std::string resolve_device(const std::string& spec);

// Builds the model on the Vulkan device named by vulkan_spec (after resolve_device). Throws Error when Vulkan is
// absent, the device cannot be created, or a weight type has no shader.
std::unique_ptr<Model> make_vulkan_model(std::unique_ptr<ModelSource> src, ModelConfig cfg, const ModelOptions& opts,
                                         const std::string& vulkan_spec);

}  // namespace unicorn
