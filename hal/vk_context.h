#pragma once
// The Vulkan compute device: instance (+ validation), one physical device, a logical device with a compute queue.
#ifdef UNICORN_HAVE_VULKAN
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hal/vk_functions.h"

namespace unicorn::hal {

// What VulkanContext::create chooses among; one entry per VkPhysicalDevice in enumeration order.
struct VulkanDeviceChoice {
  uint32_t index = 0;
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
};

// One memory heap of the device: its size and what this process may still allocate from it (VK_EXT_memory_budget's
// budget minus usage when the driver has the extension, else the heap size).
struct VulkanHeap {
  uint64_t size = 0;
  uint64_t available = 0;
  bool device_local = false;
};

// Picks the device for spec "vulkan" / "auto" (best type: discrete > integrated > virtual > other > CPU, i.e. a
// real GPU before lavapipe; first of the best type) or "vulkan:N" (index N). Throws Error for other specs, an index
// out of range, or no devices.
uint32_t select_vulkan_device(const std::vector<VulkanDeviceChoice>& devices, const std::string& spec);

// What a device can be told about its subgroup size (VK_EXT_subgroup_size_control).
struct SubgroupSizeControl {
  bool supported = false;      // the extension and its subgroupSizeControl feature
  bool compute_stage = false;  // requiredSubgroupSizeStages has the compute stage
  uint32_t min_size = 0, max_size = 0;
  uint32_t max_workgroup_subgroups = 0;  // subgroups a workgroup may hold at the required size
};
// The subgroup size every compute pipeline should require: 32 where the device's default differs (RADV runs compute
// as wave64, which would send the decode mat-vecs' 32-lane slices through shared memory, see slice.glsl) but 32
// can be required, for workgroups of up to 256 invocations (the largest the kernels use); 0 (the default) otherwise.
uint32_t pick_required_subgroup_size(uint32_t default_size, const SubgroupSizeControl& control);

// Which cooperative-matrix extension the mat-mul kernels use: their SPIR-V is written for VK_NV_cooperative_matrix
// (all Debian 12's glslc compiles) and converted to VK_KHR_cooperative_matrix's form for devices with only that one.
enum class CoopMatrix { None, Nv, Khr };
const char* coop_matrix_name(CoopMatrix c);

// What a device offers for the kernels' 16 x 16 x 16 fp16 products with fp32 accumulators in one subgroup.
struct CoopMatrixSupport {
  bool nv = false;   // VK_NV_cooperative_matrix with the feature and that shape
  bool khr = false;  // VK_KHR_cooperative_matrix, likewise
  bool prerequisites = false;  // fp16 arithmetic, the Vulkan memory model, 32-wide subgroups
};
// The extension to use: KHR where the device has it, else NV; `setting` (UNICORN_VK_COOPMAT) "0" for none, "nv" or
// "khr" to insist on one (none when the device lacks it), null or empty for the default.
CoopMatrix pick_coop_matrix(const CoopMatrixSupport& support, const char* setting);

// VulkanContext: owns the loader handle, instance, debug messenger, logical device, compute queue and a command
// pool; not copyable. Creating it loads the driver (tens of ms, seconds under validation). Submissions through
// submit_and_wait are serialized by the caller: one thread uses a context at a time (the error counter is atomic
// because the validation layer may call back from driver threads).
class VulkanContext {
 public:
  // device_spec as in select_vulkan_device. Validation layers and VK_EXT_debug_utils are enabled when the env
  // UNICORN_VK_VALIDATE=1 and the layer is installed (validation_enabled() says whether it happened). Throws Error
  // when there is no loader, no driver, no matching device, or the device lacks compute subgroup arithmetic.
  static std::unique_ptr<VulkanContext> create(const std::string& device_spec = "auto");
  ~VulkanContext();
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  const VulkanFns& fn() const { return fn_; }
  VkDevice device() const { return device_; }
  VkPhysicalDevice physical_device() const { return physical_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  VkCommandPool command_pool() const { return command_pool_; }
  // A second queue on a transfer-only family (a copy engine) where the device has one; buffers are then shared by
  // both families (concurrent sharing), so uploads on it need no ownership transfer.
  bool has_transfer_queue() const { return transfer_family_ >= 0; }
  VkQueue transfer_queue() const { return transfer_queue_; }
  uint32_t transfer_family() const { return static_cast<uint32_t>(transfer_family_); }
  VkCommandPool transfer_pool() const { return transfer_pool_; }
  const VkPhysicalDeviceProperties& properties() const { return props_; }
  const VkPhysicalDeviceMemoryProperties& memory_properties() const { return mem_props_; }
  std::string device_name() const { return props_.deviceName; }
  uint32_t subgroup_size() const { return subgroup_size_; }
  // The subgroup size pipelines require (pick_required_subgroup_size; UNICORN_VK_SUBGROUP32=0 keeps the default),
  // 0 for none; subgroup_size() is then what compute shaders run with.
  uint32_t required_subgroup_size() const { return required_subgroup_size_; }
  bool is_cpu_device() const { return props_.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU; }
  // Unified memory (integrated GPU or a CPU driver): device-local memory is system memory, so mapped writes need no
  // staging copy.
  bool is_uma() const {
    return props_.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || is_cpu_device();
  }
  // The heaps now (queried each call; with VK_EXT_memory_budget the availability reflects other processes too).
  std::vector<VulkanHeap> heaps() const;
  bool has_memory_budget() const { return memory_budget_; }
  // Shaders may atomically add floats to storage buffers (VK_EXT_shader_atomic_float, enabled when present).
  bool has_float_atomic_add() const { return float_atomic_add_; }
  // Shaders may read and write 16-bit types in storage buffers (storageBuffer16BitAccess, enabled when present).
  bool has_16bit_storage() const { return storage16_; }
  // Shaders may compute in fp16 (shaderFloat16, enabled when present).
  bool has_float16_math() const { return float16_math_; }
  // Shaders may use 4 x int8 packed dot products (VK_KHR_shader_integer_dot_product's shaderIntegerDotProduct,
  // enabled when present; whether the hardware has a fast instruction for them, the driver does not say).
  bool has_int_dot() const { return int_dot_; }
  // The cooperative-matrix extension enabled for the prefill mat-muls (pick_coop_matrix), None when there is none.
  CoopMatrix coop_matrix() const { return coop_matrix_; }
  // UNICORN_VK_PIPELINE_STATS=1 on a device with VK_KHR_pipeline_executable_properties: pipelines print the
  // driver's statistics of their compiled code (registers, spills, ...) to stderr when created.
  bool pipeline_stats() const { return pipeline_stats_; }
  // Heap index of memory type index t.
  uint32_t heap_of_type(uint32_t t) const { return mem_props_.memoryTypes[t].heapIndex; }
  // Timestamps are usable on the compute queue; timestamp_period_ns converts ticks to nanoseconds.
  bool has_timestamps() const { return timestamp_bits_ > 0; }
  float timestamp_period_ns() const { return props_.limits.timestampPeriod; }

  bool validation_enabled() const { return validation_; }
  // Validation messages of ERROR severity seen so far (0 when validation is off).
  uint64_t validation_errors() const { return validation_errors_.load(); }

  // Memory type index with all `required` flags among type_bits, preferring also `preferred`; -1 when none.
  int find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred) const;

  // Records with record(cb) into a fresh primary command buffer, submits it and waits for it to finish.
  void submit_and_wait(const std::function<void(VkCommandBuffer)>& record) const;
  // Submits an already recorded command buffer and waits (fence) for it.
  void submit_and_wait(VkCommandBuffer cb) const;
  // Submits cb without waiting (a later submit_and_wait on this queue waits for it too, through the barriers the
  // caller records); fence, when given, is signaled when cb completes.
  void submit(VkCommandBuffer cb, VkFence fence = VK_NULL_HANDLE) const;

  // The physical devices the loader reports (creates and destroys an instance; no device).
  static std::vector<VulkanDeviceChoice> list_devices();

 private:
  VulkanContext() = default;
  static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                         VkDebugUtilsMessageTypeFlagsEXT types,
                                                         const VkDebugUtilsMessengerCallbackDataEXT* data, void* self);
  void create_instance();
  void create_device(const std::string& spec);

  VulkanFns fn_;
  PFN_vkGetInstanceProcAddr gipa_ = nullptr;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  uint32_t timestamp_bits_ = 0;
  uint32_t subgroup_size_ = 0;
  uint32_t required_subgroup_size_ = 0;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  int transfer_family_ = -1;
  VkQueue transfer_queue_ = VK_NULL_HANDLE;
  VkCommandPool transfer_pool_ = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props_{};
  VkPhysicalDeviceMemoryProperties mem_props_{};
  bool validation_ = false;
  bool memory_budget_ = false;
  bool float_atomic_add_ = false;
  bool storage16_ = false;
  bool float16_math_ = false;
  bool pipeline_stats_ = false;
  CoopMatrix coop_matrix_ = CoopMatrix::None;
  bool int_dot_ = false;
  std::atomic<uint64_t> validation_errors_{0};
};

}  // namespace unicorn::hal
#endif
