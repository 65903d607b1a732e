#pragma once
// Compute pipelines built from the embedded SPIR-V.
#ifdef UNICORN_HAVE_VULKAN
#include <cstdint>
#include <string>
#include <vector>

#include "hal/vk_context.h"

namespace unicorn::hal {

// ComputePipeline: owns a shader module, descriptor set layout (bindings 0..n_buffers-1, storage buffers), pipeline
// layout (push constants of push_bytes) and pipeline; not copyable, must not outlive its context. Building costs a
// shader compile in the driver (ms); build once and reuse. Thread-safe to use for recording from one thread.
class ComputePipeline {
 public:
  // shader: name of an embedded shader (shaders/NAME.comp). workgroup_size goes to specialization constant 0
  // (local_size_x). Throws Error for an unknown shader or a driver failure.
  ComputePipeline(const VulkanContext& ctx, const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                  uint32_t workgroup_size);
  // As above with specialization constants 0..spec.size()-1 set to spec (spec[0] is the workgroup size); for
  // shaders with tile sizes as specialization constants. spec must not be empty.
  ComputePipeline(const VulkanContext& ctx, const std::string& shader, uint32_t n_buffers, uint32_t push_bytes,
                  const std::vector<uint32_t>& spec);
  ~ComputePipeline();
  ComputePipeline(const ComputePipeline&) = delete;
  ComputePipeline& operator=(const ComputePipeline&) = delete;

  VkPipeline handle() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }
  uint32_t n_buffers() const { return n_buffers_; }
  uint32_t push_bytes() const { return push_bytes_; }
  uint32_t workgroup_size() const { return workgroup_size_; }
  const std::string& name() const { return name_; }

 private:
  void destroy();
  void print_statistics() const;  // with VulkanContext::pipeline_stats()
  const VulkanContext& ctx_;
  std::string name_;
  uint32_t n_buffers_, push_bytes_, workgroup_size_;
  std::vector<uint32_t> spec_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

}  // namespace unicorn::hal
#endif
