#pragma once
// What the Vulkan loader reports: instance version and, per physical device, the facts the GPU kernels depend on.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hal/pci_address.h"

namespace unicorn::hal {

struct VulkanHeap {
  uint64_t size = 0;
  bool device_local = false;
  std::optional<uint64_t> budget;  // VK_EXT_memory_budget: what this process may allocate now
  std::optional<uint64_t> usage;   // VK_EXT_memory_budget: what this process uses now
};

// One VkCooperativeMatrixPropertiesKHR entry: an MxNxK shape with its component types.
struct VulkanCoopMatrixShape {
  uint32_t m = 0, n = 0, k = 0;
  std::string a_type, b_type, c_type, result_type;  // "float16", "sint8", ...
  std::string scope;                                // "subgroup", "workgroup", ...
  bool saturating_accumulation = false;
};

// VulkanDevice: plain value describing one VkPhysicalDevice.
struct VulkanDevice {
  std::string name;
  std::string type;  // "integrated-gpu", "discrete-gpu", "virtual-gpu", "cpu", "other"
  uint32_t vendor_id = 0, device_id = 0;
  std::string driver_name, driver_info;  // VkPhysicalDeviceDriverProperties (Vulkan 1.2)
  std::string driver_version;            // decoded with the vendor's packing (NVIDIA differs)
  std::string api_version;
  std::vector<VulkanHeap> heaps;
  bool memory_budget = false;  // VK_EXT_memory_budget present (heap budget/usage filled)
  uint32_t subgroup_size = 0, min_subgroup_size = 0, max_subgroup_size = 0;
  bool shader_float16 = false, shader_int8 = false;
  bool storage_buffer_8bit = false, storage_buffer_16bit = false;
  bool integer_dot_product = false;              // feature shaderIntegerDotProduct
  bool integer_dot_product_8bit_accelerated = false;  // 4x8-bit packed signed dot product runs in hardware
  bool float_atomic_add = false;                 // shaderBufferFloat32AtomicAdd (split-K prefill matmuls)
  bool transfer_queue = false;                   // a transfer-only queue family (weight uploads on a copy engine)
  bool cooperative_matrix = false;               // VK_KHR_cooperative_matrix present
  std::vector<VulkanCoopMatrixShape> cooperative_matrix_shapes;
  uint32_t max_shared_memory = 0;  // maxComputeSharedMemorySize, bytes
  bool uma = false;                // integrated/CPU device: its "device memory" is system RAM
  std::optional<PciAddress> pci;   // VK_EXT_pci_bus_info
};

// VulkanReport: plain value. status says why devices may be empty.
struct VulkanReport {
  // "ok", "built-without-vulkan", "no-loader", "instance-failed", "not-probed"
  std::string status;
  std::string detail;            // dlerror(), VkResult, or why it was not probed
  std::string instance_version;  // "1.3.239"
  std::vector<VulkanDevice> devices;
  // Driver (ICD) manifests the loader would read: VK_DRIVER_FILES / VK_ICD_FILENAMES when set, else the standard
  // directories. Explains "no driver" answers: none installed, or installed but failing to load.
  std::vector<std::string> icd_manifests;
};

// The ICD manifest files visible to a loader in this environment (see VulkanReport::icd_manifests).
std::vector<std::string> find_icd_manifests();

// Loads libvulkan.so.1 with dlopen (not linked, so the binary also runs where there is no loader), creates an
// instance, reads every physical device and destroys the instance. Costs tens of milliseconds (drivers load).
// Never throws; failures land in status/detail.
VulkanReport probe_vulkan();

}  // namespace unicorn::hal
