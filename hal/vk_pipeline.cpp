#include "hal/vk_pipeline.h"

#ifdef UNICORN_HAVE_VULKAN
#include <cstdio>
#include <vector>

#include "base/error.h"
#include "hal/spirv_coopmat.h"
#include "hal/vk_shaders.h"

namespace unicorn::hal {

void ComputePipeline::print_statistics() const {
  const VulkanFns& f = ctx_.fn();
  VkPipelineInfoKHR pi{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, nullptr, pipeline_};
  uint32_t n = 0;
  if (f.vkGetPipelineExecutablePropertiesKHR(ctx_.device(), &pi, &n, nullptr) != VK_SUCCESS) return;
  std::string spec;
  for (uint32_t v : spec_) spec += str_cat("/", v);
  for (uint32_t e = 0; e < n; ++e) {
    VkPipelineExecutableInfoKHR ei{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, nullptr, pipeline_, e};
    uint32_t n_stats = 0;
    if (f.vkGetPipelineExecutableStatisticsKHR(ctx_.device(), &ei, &n_stats, nullptr) != VK_SUCCESS) continue;
    VkPipelineExecutableStatisticKHR blank{};
    blank.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR;
    std::vector<VkPipelineExecutableStatisticKHR> stats(n_stats, blank);
    if (f.vkGetPipelineExecutableStatisticsKHR(ctx_.device(), &ei, &n_stats, stats.data()) != VK_SUCCESS) continue;
    std::string line = str_cat("pipeline stats ", name_, spec, ":");
    for (const VkPipelineExecutableStatisticKHR& s : stats) {
      line += str_cat(" ", s.name, "=");
      switch (s.format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: line += s.value.b32 ? "yes" : "no"; break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: line += str_cat(s.value.i64); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: line += str_cat(s.value.u64); break;
        default: line += str_cat(s.value.f64); break;
      }
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

ComputePipeline::ComputePipeline(const VulkanContext& ctx, const std::string& shader, uint32_t n_buffers,
                                 uint32_t push_bytes, uint32_t workgroup_size)
    : ComputePipeline(ctx, shader, n_buffers, push_bytes, std::vector<uint32_t>{workgroup_size}) {}

ComputePipeline::ComputePipeline(const VulkanContext& ctx, const std::string& shader, uint32_t n_buffers,
                                 uint32_t push_bytes, const std::vector<uint32_t>& spec)
    : ctx_(ctx),
      name_(shader),
      n_buffers_(n_buffers),
      push_bytes_(push_bytes),
      workgroup_size_(spec.empty() ? 0 : spec[0]),
      spec_(spec) {
  const SpirvBlob& blob = find_spirv(shader);
  const uint32_t workgroup_size = workgroup_size_;
  if (workgroup_size == 0 || workgroup_size > ctx.properties().limits.maxComputeWorkGroupSize[0] ||
      workgroup_size > ctx.properties().limits.maxComputeWorkGroupInvocations) {
    fail(shader, ": workgroup size ", workgroup_size, " is outside the device's limits");
  }
  if (push_bytes > ctx.properties().limits.maxPushConstantsSize) {
    fail(shader, ": ", push_bytes, " bytes of push constants exceed the device's limit");
  }
  const VulkanFns& f = ctx.fn();
  const VkDevice dev = ctx.device();
  try {
    VkShaderModuleCreateInfo mi{};
    mi.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    // Cooperative-matrix kernels are compiled for the NV extension; a device using the KHR one gets them converted.
    std::vector<uint32_t> converted;
    const std::span<const uint32_t> words(blob.words, blob.size_bytes / 4);
    if (ctx.coop_matrix() == CoopMatrix::Khr && spirv_uses_coopmat_nv(words)) {
      converted = spirv_coopmat_nv_to_khr(words);
    }
    mi.codeSize = converted.empty() ? blob.size_bytes : converted.size() * 4;
    mi.pCode = converted.empty() ? blob.words : converted.data();
    vk_check(f.vkCreateShaderModule(dev, &mi, nullptr, &module_), "vkCreateShaderModule");

    std::vector<VkDescriptorSetLayoutBinding> bindings(n_buffers);
    for (uint32_t i = 0; i < n_buffers; ++i) {
      bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    }
    VkDescriptorSetLayoutCreateInfo li{};
    li.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    li.bindingCount = n_buffers;
    li.pBindings = bindings.data();
    vk_check(f.vkCreateDescriptorSetLayout(dev, &li, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");

    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo pli{};
    pli.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &set_layout_;
    pli.pushConstantRangeCount = push_bytes > 0 ? 1 : 0;
    pli.pPushConstantRanges = push_bytes > 0 ? &range : nullptr;
    vk_check(f.vkCreatePipelineLayout(dev, &pli, nullptr, &layout_), "vkCreatePipelineLayout");

    std::vector<VkSpecializationMapEntry> entries(spec_.size());
    for (uint32_t i = 0; i < spec_.size(); ++i) {
      entries[i] = {i, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)};
    }
    VkSpecializationInfo spec_info{static_cast<uint32_t>(entries.size()), entries.data(),
                                   spec_.size() * sizeof(uint32_t), spec_.data()};
    VkComputePipelineCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module_;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = &spec_info;
    ci.layout = layout_;
    // Where the device's default subgroup size is not the 32 the kernels are written for (RADV's wave64), ask
    // for 32 (VK_EXT_subgroup_size_control, enabled by the context only when 32 can be required of compute).
    VkPipelineShaderStageRequiredSubgroupSizeCreateInfoEXT required{};
    required.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO_EXT;
    required.requiredSubgroupSize = ctx.required_subgroup_size();
    if (required.requiredSubgroupSize > 0) ci.stage.pNext = &required;
    if (ctx.pipeline_stats()) ci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
    vk_check(f.vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &ci, nullptr, &pipeline_),
             "vkCreateComputePipelines");
    if (ctx.pipeline_stats()) print_statistics();
  } catch (const Error& e) {
    destroy();
    throw Error(str_cat(shader, ": ", e.message()));
  }
}

ComputePipeline::~ComputePipeline() { destroy(); }

void ComputePipeline::destroy() {
  const VulkanFns& f = ctx_.fn();
  const VkDevice dev = ctx_.device();
  if (pipeline_ != VK_NULL_HANDLE) f.vkDestroyPipeline(dev, pipeline_, nullptr);
  if (layout_ != VK_NULL_HANDLE) f.vkDestroyPipelineLayout(dev, layout_, nullptr);
  if (set_layout_ != VK_NULL_HANDLE) f.vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  if (module_ != VK_NULL_HANDLE) f.vkDestroyShaderModule(dev, module_, nullptr);
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  set_layout_ = VK_NULL_HANDLE;
  module_ = VK_NULL_HANDLE;
}

}  // namespace unicorn::hal
#endif
