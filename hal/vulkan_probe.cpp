#include "hal/vulkan_probe.h"

#include <cstdio>
#include <cstdlib>

#include "base/error.h"
#include "hal/sysfs_reader.h"

#ifdef UNICORN_HAVE_VULKAN
#define VK_NO_PROTOTYPES 1
#include <dlfcn.h>
#include <vulkan/vulkan.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "hal/vk_coopmat_khr.h"
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define UNICORN_LSAN 1
#endif

namespace unicorn::hal {

std::string PciAddress::str() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", domain, bus, device, function);
  return buf;
}

std::vector<std::string> find_icd_manifests() {
  std::vector<std::string> out;
  for (const char* var : {"VK_DRIVER_FILES", "VK_ICD_FILENAMES"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == 0) continue;
    std::string list = v;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t colon = list.find(':', start);
      const std::string item = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!item.empty()) out.push_back(item);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    return out;  // an override replaces the search, as in the loader
  }
  std::vector<std::string> dirs = {"/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d", "/usr/share/vulkan/icd.d"};
  if (const char* home = std::getenv("HOME")) dirs.push_back(std::string(home) + "/.local/share/vulkan/icd.d");
  for (const std::string& d : dirs) {
    for (const std::string& f : list_dir(d)) {
      if (f.size() > 5 && f.compare(f.size() - 5, 5, ".json") == 0) out.push_back(d + "/" + f);
    }
  }
  return out;
}

#ifndef UNICORN_HAVE_VULKAN

VulkanReport probe_vulkan() {
  VulkanReport r;
  r.icd_manifests = find_icd_manifests();
  r.status = "built-without-vulkan";
  r.detail = "this unicorn was built without Vulkan headers (UNICORN_VULKAN=OFF or not found)";
  return r;
}

#else

namespace {

std::string component_type(int32_t t) {
  switch (t) {
    case 0: return "float16";
    case 1: return "float32";
    case 2: return "float64";
    case 3: return "sint8";
    case 4: return "sint16";
    case 5: return "sint32";
    case 6: return "sint64";
    case 7: return "uint8";
    case 8: return "uint16";
    case 9: return "uint32";
    case 10: return "uint64";
    case 1000141000: return "bfloat16";
    case 1000491002: return "float8_e4m3";
    case 1000491003: return "float8_e5m2";
    default: return str_cat("type", t);
  }
}

std::string scope_name(int32_t s) {
  switch (s) {
    case 1: return "device";
    case 2: return "workgroup";
    case 3: return "subgroup";
    case 5: return "queue-family";
    default: return str_cat("scope", s);
  }
}

std::string device_type(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::string api_version_str(uint32_t v) {
  return str_cat(VK_API_VERSION_MAJOR(v), ".", VK_API_VERSION_MINOR(v), ".", VK_API_VERSION_PATCH(v));
}

// Drivers pack driverVersion their own way; NVIDIA uses 10.8.8.6 bits, the others the Vulkan version packing.
std::string driver_version_str(uint32_t vendor, uint32_t v) {
  if (vendor == 0x10de) return str_cat(v >> 22, ".", (v >> 14) & 0xff, ".", (v >> 6) & 0xff, ".", v & 0x3f);
  return api_version_str(v);
}

struct Loader {
  void* lib = nullptr;
  PFN_vkGetInstanceProcAddr gipa = nullptr;
};

template <typename Fn>
Fn instance_fn(const Loader& l, VkInstance inst, const char* name) {
  return reinterpret_cast<Fn>(l.gipa(inst, name));
}

// app_version: the apiVersion the instance was created with; device-level structs of a Vulkan version may only be
// used when both the instance and the device reach it.
VulkanDevice read_device(const Loader& l, VkInstance inst, uint32_t app_version, VkPhysicalDevice pd) {
  auto get_props = instance_fn<PFN_vkGetPhysicalDeviceProperties>(l, inst, "vkGetPhysicalDeviceProperties");
  auto get_props2 = instance_fn<PFN_vkGetPhysicalDeviceProperties2>(l, inst, "vkGetPhysicalDeviceProperties2");
  auto get_feats2 = instance_fn<PFN_vkGetPhysicalDeviceFeatures2>(l, inst, "vkGetPhysicalDeviceFeatures2");
  auto get_mem = instance_fn<PFN_vkGetPhysicalDeviceMemoryProperties>(l, inst, "vkGetPhysicalDeviceMemoryProperties");
  auto get_mem2 =
      instance_fn<PFN_vkGetPhysicalDeviceMemoryProperties2>(l, inst, "vkGetPhysicalDeviceMemoryProperties2");
  auto enum_exts =
      instance_fn<PFN_vkEnumerateDeviceExtensionProperties>(l, inst, "vkEnumerateDeviceExtensionProperties");
  auto get_queues = instance_fn<PFN_vkGetPhysicalDeviceQueueFamilyProperties>(
      l, inst, "vkGetPhysicalDeviceQueueFamilyProperties");

  VulkanDevice d;
  VkPhysicalDeviceProperties base{};
  get_props(pd, &base);
  d.name = base.deviceName;
  d.type = device_type(base.deviceType);
  d.vendor_id = base.vendorID;
  d.device_id = base.deviceID;
  d.api_version = api_version_str(base.apiVersion);
  d.driver_version = driver_version_str(base.vendorID, base.driverVersion);
  d.max_shared_memory = base.limits.maxComputeSharedMemorySize;
  d.uma = base.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || base.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  uint32_t n_queues = 0;
  get_queues(pd, &n_queues, nullptr);
  std::vector<VkQueueFamilyProperties> families(n_queues);
  if (n_queues > 0) get_queues(pd, &n_queues, families.data());
  for (const VkQueueFamilyProperties& f : families) {
    const VkQueueFlags fl = f.queueFlags;
    d.transfer_queue |= (fl & VK_QUEUE_TRANSFER_BIT) && !(fl & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) &&
                        f.queueCount > 0;
  }

  std::set<std::string> exts;
  uint32_t n_ext = 0;
  if (enum_exts(pd, nullptr, &n_ext, nullptr) == VK_SUCCESS) {
    std::vector<VkExtensionProperties> props(n_ext);
    if (enum_exts(pd, nullptr, &n_ext, props.data()) == VK_SUCCESS) {
      for (uint32_t i = 0; i < n_ext; ++i) exts.insert(props[i].extensionName);
    }
  }
  const uint32_t effective = std::min(base.apiVersion, app_version);
  const bool v11 = effective >= VK_API_VERSION_1_1 && get_props2 != nullptr && get_feats2 != nullptr;
  const bool v12 = v11 && effective >= VK_API_VERSION_1_2;
  const bool v13 = v11 && effective >= VK_API_VERSION_1_3;
  const bool has_budget = v11 && exts.count(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) && get_mem2 != nullptr;
  const bool has_pci = v11 && exts.count(VK_EXT_PCI_BUS_INFO_EXTENSION_NAME);
  const bool has_dot = v13 || (v11 && exts.count(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME));
  const bool has_sg_control = v13 || (v11 && exts.count(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME));
  const bool has_f16i8 = v12 || (v11 && exts.count(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME));
  const bool has_8bit = v12 || (v11 && exts.count(VK_KHR_8BIT_STORAGE_EXTENSION_NAME));
  const bool has_atomic_float = v11 && exts.count(VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
  d.cooperative_matrix = v11 && exts.count("VK_KHR_cooperative_matrix");

  if (v11) {
    // Each struct joins the pNext chain only when the device's version or extension list promises it.
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, nullptr, {}};
    VkPhysicalDeviceSubgroupProperties sg{};
    sg.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceDriverProperties drv{};
    drv.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    VkPhysicalDeviceSubgroupSizeControlProperties sgc{};
    sgc.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES;
    VkPhysicalDevicePCIBusInfoPropertiesEXT pci{};
    pci.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT;
    VkPhysicalDeviceShaderIntegerDotProductProperties dotp{};
    dotp.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES;
    void** tail = &p2.pNext;
    auto link = [&tail](auto& s) {
      *tail = &s;
      tail = &s.pNext;
    };
    link(sg);
    if (v12 || exts.count(VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME)) link(drv);
    if (has_sg_control) link(sgc);
    if (has_pci) link(pci);
    if (has_dot) link(dotp);
    get_props2(pd, &p2);
    d.subgroup_size = sg.subgroupSize;
    d.driver_name = drv.driverName;
    d.driver_info = drv.driverInfo;
    if (has_sg_control) {
      d.min_subgroup_size = sgc.minSubgroupSize;
      d.max_subgroup_size = sgc.maxSubgroupSize;
    } else {
      d.min_subgroup_size = d.max_subgroup_size = sg.subgroupSize;
    }
    if (has_pci) d.pci = PciAddress{pci.pciDomain, pci.pciBus, pci.pciDevice, pci.pciFunction};
    if (has_dot) d.integer_dot_product_8bit_accelerated = dotp.integerDotProduct4x8BitPackedSignedAccelerated;

    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, nullptr, {}};
    VkPhysicalDeviceShaderFloat16Int8Features f16{};
    f16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
    VkPhysicalDevice8BitStorageFeatures s8{};
    s8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
    VkPhysicalDevice16BitStorageFeatures s16{};
    s16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dotf{};
    dotf.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES;
    VkPhysicalDeviceShaderAtomicFloatFeaturesEXT atomics{};
    atomics.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT;
    CoopMatrixFeaturesKhr cmf{};
    cmf.sType = kStypeCoopMatrixFeaturesKhr;
    tail = &f2.pNext;
    link(s16);
    if (has_f16i8) link(f16);
    if (has_8bit) link(s8);
    if (has_dot) link(dotf);
    if (has_atomic_float) link(atomics);
    if (d.cooperative_matrix) link(cmf);
    get_feats2(pd, &f2);
    d.shader_float16 = f16.shaderFloat16;
    d.shader_int8 = f16.shaderInt8;
    d.storage_buffer_8bit = s8.storageBuffer8BitAccess;
    d.storage_buffer_16bit = s16.storageBuffer16BitAccess;
    d.integer_dot_product = dotf.shaderIntegerDotProduct;
    d.float_atomic_add = atomics.shaderBufferFloat32AtomicAdd;
    if (d.cooperative_matrix && !cmf.cooperativeMatrix) d.cooperative_matrix = false;
  }

  if (has_budget) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
    budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
    VkPhysicalDeviceMemoryProperties2 m2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, &budget, {}};
    get_mem2(pd, &m2);
    d.memory_budget = true;
    for (uint32_t i = 0; i < m2.memoryProperties.memoryHeapCount; ++i) {
      const VkMemoryHeap& h = m2.memoryProperties.memoryHeaps[i];
      d.heaps.push_back({h.size, (h.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0, budget.heapBudget[i],
                         budget.heapUsage[i]});
    }
  } else {
    VkPhysicalDeviceMemoryProperties m{};
    get_mem(pd, &m);
    for (uint32_t i = 0; i < m.memoryHeapCount; ++i) {
      d.heaps.push_back({m.memoryHeaps[i].size, (m.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0,
                         std::nullopt, std::nullopt});
    }
  }

  if (d.cooperative_matrix) {
    auto get_cm = instance_fn<PfnGetCoopMatrixProps>(l, inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
    uint32_t n = 0;
    if (get_cm != nullptr && get_cm(pd, &n, nullptr) == VK_SUCCESS && n > 0) {
      std::vector<CoopMatrixPropertiesKhr> props(n);
      for (auto& p : props) {
        p = CoopMatrixPropertiesKhr{};
        p.sType = kStypeCoopMatrixPropertiesKhr;
      }
      if (get_cm(pd, &n, props.data()) == VK_SUCCESS) {
        for (uint32_t i = 0; i < n; ++i) {
          const auto& p = props[i];
          d.cooperative_matrix_shapes.push_back({p.MSize, p.NSize, p.KSize, component_type(p.AType),
                                                 component_type(p.BType), component_type(p.CType),
                                                 component_type(p.ResultType), scope_name(p.scope),
                                                 p.saturatingAccumulation != 0});
        }
      }
    }
  }
  return d;
}

}  // namespace

namespace {
// Drivers keep one-time global state (Mesa's llvmpipe allocates under pthread_once) that LeakSanitizer reports once
// the loader has unloaded them; those allocations are not ours to free, so the probe's driver calls are exempt.
struct DriverLeakExemption {
#ifdef UNICORN_LSAN
  DriverLeakExemption() { __lsan_disable(); }
  ~DriverLeakExemption() { __lsan_enable(); }
#endif
};
}  // namespace

VulkanReport probe_vulkan() {
  [[maybe_unused]] const DriverLeakExemption exempt;
  VulkanReport r;
  r.icd_manifests = find_icd_manifests();
  Loader l;
  // Kept loaded for the life of the process: ICDs may register handlers that outlive the instance.
  l.lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (l.lib == nullptr) {
    r.status = "no-loader";
    const char* err = dlerror();
    r.detail = err != nullptr ? err : "libvulkan.so.1 not found";
    return r;
  }
  l.gipa = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(l.lib, "vkGetInstanceProcAddr"));
  if (l.gipa == nullptr) {
    r.status = "no-loader";
    r.detail = "libvulkan.so.1 has no vkGetInstanceProcAddr";
    return r;
  }
  uint32_t inst_version = VK_API_VERSION_1_0;
  auto enum_version = instance_fn<PFN_vkEnumerateInstanceVersion>(l, nullptr, "vkEnumerateInstanceVersion");
  if (enum_version != nullptr) enum_version(&inst_version);
  r.instance_version = api_version_str(inst_version);

  auto create = instance_fn<PFN_vkCreateInstance>(l, nullptr, "vkCreateInstance");
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO, nullptr, "unicorn probe", 1, "unicorn", 1,
                        std::min<uint32_t>(inst_version, VK_API_VERSION_1_3)};
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  const VkResult cr = create != nullptr ? create(&ci, nullptr, &inst) : VK_ERROR_INITIALIZATION_FAILED;
  if (cr != VK_SUCCESS) {
    r.status = "instance-failed";
    r.detail = cr == VK_ERROR_INCOMPATIBLE_DRIVER
                   ? "no Vulkan driver (ICD) is installed (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)"
                   : str_cat("vkCreateInstance failed with VkResult ", cr);
    return r;
  }
  auto destroy = instance_fn<PFN_vkDestroyInstance>(l, inst, "vkDestroyInstance");
  auto enum_pd = instance_fn<PFN_vkEnumeratePhysicalDevices>(l, inst, "vkEnumeratePhysicalDevices");
  uint32_t n = 0;
  VkResult er = enum_pd(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  if (er == VK_SUCCESS && n > 0) er = enum_pd(inst, &n, pds.data());
  if (er != VK_SUCCESS && er != VK_INCOMPLETE) {
    r.status = "instance-failed";
    r.detail = str_cat("vkEnumeratePhysicalDevices failed with VkResult ", er);
  } else {
    r.status = "ok";
    for (uint32_t i = 0; i < n; ++i) r.devices.push_back(read_device(l, inst, app.apiVersion, pds[i]));
  }
  destroy(inst, nullptr);
  return r;
}

#endif

}  // namespace unicorn::hal
