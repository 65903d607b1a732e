#include "hal/vk_context.h"

#ifdef UNICORN_HAVE_VULKAN
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "hal/vk_coopmat_khr.h"
#include "hal/vk_shaders.h"

namespace unicorn::hal {

const char* vk_result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult(other)";
  }
}

void vk_check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) fail(what, " failed: ", vk_result_name(r), " (", static_cast<int>(r), ")");
}

const SpirvBlob& find_spirv(std::string_view name) {
  for (const SpirvBlob& b : embedded_spirv()) {
    if (name == b.name) return b;
  }
  fail("no embedded shader named '", name, "'");
}

namespace {

// The loader stays loaded for the life of the process: drivers may leave handlers behind after vkDestroyInstance.
PFN_vkGetInstanceProcAddr load_loader() {
  static void* lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = dlerror();
    fail("Vulkan loader not available: ", err != nullptr ? err : "libvulkan.so.1 not found");
  }
  auto gipa = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
  if (gipa == nullptr) fail("libvulkan.so.1 has no vkGetInstanceProcAddr");
  return gipa;
}

int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_OTHER: return 1;
    default: return 0;  // CPU (lavapipe) last
  }
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// Minimal instance without layers, for listing devices.
VkInstance create_plain_instance(PFN_vkGetInstanceProcAddr gipa, const char* app_name) {
  auto create = reinterpret_cast<PFN_vkCreateInstance>(gipa(nullptr, "vkCreateInstance"));
  if (create == nullptr) fail("Vulkan loader has no vkCreateInstance");
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO, nullptr, app_name, 1, "unicorn", 1, VK_API_VERSION_1_1};
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  const VkResult r = create(&ci, nullptr, &inst);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) fail("no Vulkan driver (ICD) is installed");
  vk_check(r, "vkCreateInstance");
  return inst;
}

std::vector<VulkanDeviceChoice> enumerate(PFN_vkGetInstanceProcAddr gipa, VkInstance inst,
                                          std::vector<VkPhysicalDevice>* handles) {
  auto enum_pd = reinterpret_cast<PFN_vkEnumeratePhysicalDevices>(gipa(inst, "vkEnumeratePhysicalDevices"));
  auto get_props = reinterpret_cast<PFN_vkGetPhysicalDeviceProperties>(gipa(inst, "vkGetPhysicalDeviceProperties"));
  uint32_t n = 0;
  vk_check(enum_pd(inst, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> pds(n);
  if (n > 0) vk_check(enum_pd(inst, &n, pds.data()), "vkEnumeratePhysicalDevices");
  std::vector<VulkanDeviceChoice> out;
  for (uint32_t i = 0; i < n; ++i) {
    VkPhysicalDeviceProperties p{};
    get_props(pds[i], &p);
    out.push_back({i, p.deviceName, p.deviceType});
  }
  if (handles != nullptr) *handles = std::move(pds);
  return out;
}

}  // namespace

uint32_t pick_required_subgroup_size(uint32_t default_size, const SubgroupSizeControl& control) {
  constexpr uint32_t kSlice = 32, kLargestWorkgroup = 256;
  if (default_size == kSlice || !control.supported || !control.compute_stage) return 0;
  if (control.max_workgroup_subgroups * kSlice < kLargestWorkgroup) return 0;
  return control.min_size <= kSlice && kSlice <= control.max_size ? kSlice : 0;
}

uint32_t select_vulkan_device(const std::vector<VulkanDeviceChoice>& devices, const std::string& spec) {
  if (devices.empty()) fail("no Vulkan device found");
  if (spec == "vulkan" || spec == "auto") {
    const auto best = std::max_element(devices.begin(), devices.end(), [](const auto& a, const auto& b) {
      return type_rank(a.type) < type_rank(b.type);  // max_element keeps the first of equal ranks
    });
    return best->index;
  }
  if (spec.rfind("vulkan:", 0) == 0) {
    const std::string num = spec.substr(7);
    if (num.empty() || num.size() > 4 || num.find_first_not_of("0123456789") != std::string::npos) {
      fail("bad device '", spec, "': expected vulkan:N with N a device index");
    }
    const uint32_t idx = static_cast<uint32_t>(std::stoul(num));
    if (idx >= devices.size()) fail("bad device '", spec, "': only ", devices.size(), " Vulkan device(s)");
    return idx;
  }
  fail("bad device '", spec, "': expected vulkan, vulkan:N or auto");
}

std::vector<VulkanDeviceChoice> VulkanContext::list_devices() {
  const PFN_vkGetInstanceProcAddr gipa = load_loader();
  VkInstance inst = create_plain_instance(gipa, "unicorn list");
  auto destroy = reinterpret_cast<PFN_vkDestroyInstance>(gipa(inst, "vkDestroyInstance"));
  try {
    auto out = enumerate(gipa, inst, nullptr);
    destroy(inst, nullptr);
    return out;
  } catch (...) {
    destroy(inst, nullptr);
    throw;
  }
}

VKAPI_ATTR VkBool32 VKAPI_CALL VulkanContext::on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                               VkDebugUtilsMessageTypeFlagsEXT,
                                                               const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                               void* self) {
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    auto* ctx = static_cast<VulkanContext*>(self);
    const uint64_t n = ++ctx->validation_errors_;
    if (n <= 10) std::fprintf(stderr, "vulkan validation error: %s\n", data->pMessage);
  } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    std::fprintf(stderr, "vulkan validation warning: %s\n", data->pMessage);
  }
  return VK_FALSE;
}

void VulkanContext::create_instance() {
  gipa_ = load_loader();
  bool want_validation = env_flag("UNICORN_VK_VALIDATE");
  if (want_validation) {
    auto enum_layers =
        reinterpret_cast<PFN_vkEnumerateInstanceLayerProperties>(gipa_(nullptr, "vkEnumerateInstanceLayerProperties"));
    uint32_t n = 0;
    enum_layers(&n, nullptr);
    std::vector<VkLayerProperties> layers(n);
    if (n > 0) enum_layers(&n, layers.data());
    want_validation = std::any_of(layers.begin(), layers.end(), [](const VkLayerProperties& l) {
      return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    });
    if (!want_validation) std::fprintf(stderr, "UNICORN_VK_VALIDATE=1 but VK_LAYER_KHRONOS_validation is not installed\n");
  }
  if (!want_validation) {
    instance_ = create_plain_instance(gipa_, "unicorn");
  } else {
    auto create = reinterpret_cast<PFN_vkCreateInstance>(gipa_(nullptr, "vkCreateInstance"));
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO, nullptr, "unicorn", 1, "unicorn", 1, VK_API_VERSION_1_1};
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkInstanceCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = 1;
    ci.ppEnabledLayerNames = &layer;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = &ext;
    vk_check(create(&ci, nullptr, &instance_), "vkCreateInstance (validation)");
    auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        gipa_(instance_, "vkCreateDebugUtilsMessengerEXT"));
    VkDebugUtilsMessengerCreateInfoEXT mi{};
    mi.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = &VulkanContext::on_debug_message;
    mi.pUserData = this;
    vk_check(create_messenger(instance_, &mi, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
    validation_ = true;
  }
#define UNICORN_VK_LOAD(name) fn_.name = reinterpret_cast<PFN_##name>(gipa_(instance_, #name));
  UNICORN_VK_INSTANCE_FNS(UNICORN_VK_LOAD)
#undef UNICORN_VK_LOAD
}

namespace {

// The kernels' fragment shape (matmul_cm_main.glsl), in VkComponentTypeKHR / VkScopeKHR values.
constexpr int32_t kComponentF16 = 0, kComponentF32 = 1, kScopeSubgroup = 3;

bool is_kernel_shape(uint32_t m, uint32_t n, uint32_t k, int32_t a, int32_t b, int32_t c, int32_t d, int32_t scope) {
  return m == 16 && n == 16 && k == 16 && a == kComponentF16 && b == kComponentF16 && c == kComponentF32 &&
         d == kComponentF32 && scope == kScopeSubgroup;
}

// What a cooperative-matrix properties query (either extension's; Props is its structure) lists; empty when the
// entry point is missing or fails.
template <typename Props, typename Get>
std::vector<Props> coop_properties(Get get, VkPhysicalDevice physical, VkStructureType stype) {
  uint32_t n = 0;
  if (get == nullptr || get(physical, &n, nullptr) != VK_SUCCESS) return {};
  Props blank{};
  blank.sType = stype;
  std::vector<Props> props(n, blank);
  if (get(physical, &n, props.data()) != VK_SUCCESS) return {};
  return props;
}

bool nv_has_coop_shape(PFN_vkGetInstanceProcAddr gipa, VkInstance instance, VkPhysicalDevice physical) {
  const auto props = coop_properties<VkCooperativeMatrixPropertiesNV>(
      reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
          gipa(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV")),
      physical, VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV);
  return std::any_of(props.begin(), props.end(), [](const auto& p) {
    return is_kernel_shape(p.MSize, p.NSize, p.KSize, p.AType, p.BType, p.CType, p.DType, p.scope);
  });
}

bool khr_has_coop_shape(PFN_vkGetInstanceProcAddr gipa, VkInstance instance, VkPhysicalDevice physical) {
  const auto props = coop_properties<CoopMatrixPropertiesKhr>(
      reinterpret_cast<PfnGetCoopMatrixProps>(gipa(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR")),
      physical, kStypeCoopMatrixPropertiesKhr);
  return std::any_of(props.begin(), props.end(), [](const auto& p) {
    return is_kernel_shape(p.MSize, p.NSize, p.KSize, p.AType, p.BType, p.CType, p.ResultType, p.scope) &&
           p.saturatingAccumulation == VK_FALSE;
  });
}

}  // namespace

const char* coop_matrix_name(CoopMatrix c) {
  switch (c) {
    case CoopMatrix::Nv: return "VK_NV_cooperative_matrix";
    case CoopMatrix::Khr: return "VK_KHR_cooperative_matrix";
    default: return "none";
  }
}

CoopMatrix pick_coop_matrix(const CoopMatrixSupport& support, const char* setting) {
  const std::string s = setting == nullptr ? "" : setting;
  if (s == "0") return CoopMatrix::None;
  if (!s.empty() && s != "nv" && s != "khr") throw Error(str_cat("UNICORN_VK_COOPMAT='", s, "' is not 0, nv or khr"));
  if (!support.prerequisites) return CoopMatrix::None;
  if (s == "nv") return support.nv ? CoopMatrix::Nv : CoopMatrix::None;
  if (s == "khr") return support.khr ? CoopMatrix::Khr : CoopMatrix::None;
  return support.khr ? CoopMatrix::Khr : support.nv ? CoopMatrix::Nv : CoopMatrix::None;
}

void VulkanContext::create_device(const std::string& spec) {
  std::vector<VkPhysicalDevice> handles;
  const auto choices = enumerate(gipa_, instance_, &handles);
  physical_ = handles[select_vulkan_device(choices, spec)];
  fn_.vkGetPhysicalDeviceProperties(physical_, &props_);
  fn_.vkGetPhysicalDeviceMemoryProperties(physical_, &mem_props_);
  if (props_.apiVersion < VK_API_VERSION_1_1) fail(props_.deviceName, ": Vulkan 1.1 is required");

  VkPhysicalDeviceSubgroupProperties sg{};
  sg.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &sg, {}};
  fn_.vkGetPhysicalDeviceProperties2(physical_, &p2);
  const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  if (!(sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) || (sg.supportedOperations & need) != need) {
    fail(props_.deviceName, ": compute shaders lack subgroup arithmetic, which the Vulkan kernels need");
  }
  subgroup_size_ = sg.subgroupSize;

  uint32_t n_ext = 0;
  fn_.vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n_ext, nullptr);
  std::vector<VkExtensionProperties> exts(n_ext);
  if (n_ext > 0) fn_.vkEnumerateDeviceExtensionProperties(physical_, nullptr, &n_ext, exts.data());
  bool atomic_float_ext = false, float16_ext = false, executable_ext = false, size_control_ext = false;
  bool coopmat_nv_ext = false, coopmat_khr_ext = false, memory_model_ext = false, int_dot_ext = false;
  for (const VkExtensionProperties& e : exts) {
    if (std::strcmp(e.extensionName, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME) == 0) size_control_ext = true;
    if (std::strcmp(e.extensionName, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME) == 0) executable_ext = true;
    if (std::strcmp(e.extensionName, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME) == 0) float16_ext = true;
    if (std::strcmp(e.extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0) memory_budget_ = true;
    if (std::strcmp(e.extensionName, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME) == 0) atomic_float_ext = true;
    if (std::strcmp(e.extensionName, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) == 0) coopmat_nv_ext = true;
    if (std::strcmp(e.extensionName, kCoopMatrixKhrExtension) == 0) coopmat_khr_ext = true;
    if (std::strcmp(e.extensionName, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME) == 0) memory_model_ext = true;
    if (std::strcmp(e.extensionName, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME) == 0) int_dot_ext = true;
  }
  // Optional features, enabled where the device has them: float atomic add on storage buffers (split-K prefill
  // matmuls), 16-bit storage-buffer access (an F16 KV cache), fp16 arithmetic (the prefill mat-muls) and a required
  // subgroup size.
  void* query_chain = nullptr;
  const auto link = [](auto& feature, void*& chain, bool on) {
    if (!on) return;
    feature.pNext = chain;
    chain = &feature;
  };
  VkPhysicalDeviceSubgroupSizeControlFeaturesEXT size_control{};
  size_control.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT;
  link(size_control, query_chain, size_control_ext);
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR float16{};
  float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR;
  link(float16, query_chain, float16_ext);
  VkPhysicalDeviceShaderAtomicFloatFeaturesEXT atomic_float{};
  atomic_float.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT;
  link(atomic_float, query_chain, atomic_float_ext);
  VkPhysicalDevice16BitStorageFeatures storage16{};
  storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  link(storage16, query_chain, true);
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat_nv{};
  coopmat_nv.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
  link(coopmat_nv, query_chain, coopmat_nv_ext);
  CoopMatrixFeaturesKhr coopmat_khr{};
  coopmat_khr.sType = kStypeCoopMatrixFeaturesKhr;
  link(coopmat_khr, query_chain, coopmat_khr_ext);
  VkPhysicalDeviceVulkanMemoryModelFeatures memory_model{};
  memory_model.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES;
  link(memory_model, query_chain, memory_model_ext);
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR int_dot{};
  int_dot.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR;
  link(int_dot, query_chain, int_dot_ext);
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, query_chain, {}};
  fn_.vkGetPhysicalDeviceFeatures2(physical_, &f2);
  float_atomic_add_ = atomic_float_ext && atomic_float.shaderBufferFloat32AtomicAdd == VK_TRUE;
  storage16_ = storage16.storageBuffer16BitAccess == VK_TRUE;
  float16_math_ = float16_ext && float16.shaderFloat16 == VK_TRUE;
  SubgroupSizeControl control;
  if (size_control_ext && size_control.subgroupSizeControl == VK_TRUE) {
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sc{};
    sc.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT;
    VkPhysicalDeviceProperties2 sp2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &sc, {}};
    fn_.vkGetPhysicalDeviceProperties2(physical_, &sp2);
    control = {true, (sc.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0, sc.minSubgroupSize,
               sc.maxSubgroupSize, sc.maxComputeWorkgroupSubgroups};
  }
  const char* sg32_env = std::getenv("UNICORN_VK_SUBGROUP32");
  if (sg32_env == nullptr || std::strcmp(sg32_env, "0") != 0) {
    required_subgroup_size_ = pick_required_subgroup_size(subgroup_size_, control);
  }
  int_dot_ = int_dot_ext && int_dot.shaderIntegerDotProduct == VK_TRUE;
#ifndef UNICORN_HAVE_INT_DOT_SHADERS
  int_dot_ = false;  // this glslc could not compile them
#endif
  // Cooperative matrices: the shape the kernels use, fp16 arithmetic, the Vulkan memory model (glslang writes
  // cooperative-matrix SPIR-V with it) and 32-wide subgroups (the kernels' 8 subgroups of a 256-invocation group).
  CoopMatrixSupport coopmat;
  coopmat.prerequisites = float16_math_ && memory_model.vulkanMemoryModel == VK_TRUE &&
                          (required_subgroup_size_ > 0 ? required_subgroup_size_ : subgroup_size_) == 32;
  coopmat.nv = coopmat_nv_ext && coopmat_nv.cooperativeMatrix == VK_TRUE &&
               nv_has_coop_shape(gipa_, instance_, physical_);
  coopmat.khr = coopmat_khr_ext && coopmat_khr.cooperativeMatrix == VK_TRUE &&
                khr_has_coop_shape(gipa_, instance_, physical_);
#ifndef UNICORN_HAVE_COOPMAT_SHADERS
  coopmat.prerequisites = false;  // this glslc could not compile them
#endif
  coop_matrix_ = pick_coop_matrix(coopmat, std::getenv("UNICORN_VK_COOPMAT"));
  // UNICORN_VK_PIPELINE_STATS=1: the driver's statistics of each pipeline (registers, spills...) on stderr.
  const char* stats_env = std::getenv("UNICORN_VK_PIPELINE_STATS");
  pipeline_stats_ = executable_ext && stats_env != nullptr && std::strcmp(stats_env, "1") == 0;

  uint32_t nq = 0;
  fn_.vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  fn_.vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, qf.data());
  // Prefer a compute family without graphics (async compute) but take any with compute.
  int chosen = -1;
  for (uint32_t i = 0; i < nq; ++i) {
    if (!(qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (chosen < 0 || !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) chosen = static_cast<int>(i);
  }
  if (chosen < 0) fail(props_.deviceName, ": no compute queue");
  queue_family_ = static_cast<uint32_t>(chosen);
  timestamp_bits_ = qf[queue_family_].timestampValidBits;
  // A transfer-only family (a DMA engine) for weight uploads, unless UNICORN_VK_TRANSFER_QUEUE=0.
  const char* tq = std::getenv("UNICORN_VK_TRANSFER_QUEUE");
  if (tq == nullptr || std::strcmp(tq, "0") != 0) {
    for (uint32_t i = 0; i < nq; ++i) {
      const VkQueueFlags fl = qf[i].queueFlags;
      const bool transfer_only = (fl & VK_QUEUE_TRANSFER_BIT) && !(fl & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT));
      if (transfer_only && qf[i].queueCount > 0) {
        transfer_family_ = static_cast<int>(i);
        break;
      }
    }
  }

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qis[2]{};
  for (VkDeviceQueueCreateInfo& qi : qis) {
    qi.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
  }
  qis[0].queueFamilyIndex = queue_family_;
  if (transfer_family_ >= 0) qis[1].queueFamilyIndex = static_cast<uint32_t>(transfer_family_);
  VkDeviceCreateInfo di{};
  di.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  di.queueCreateInfoCount = transfer_family_ >= 0 ? 2 : 1;
  di.pQueueCreateInfos = qis;
  std::vector<const char*> enabled;
  VkPhysicalDeviceShaderAtomicFloatFeaturesEXT enable_atomic_float{};
  enable_atomic_float.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT;
  VkPhysicalDevice16BitStorageFeatures enable_storage16{};
  enable_storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR enable_float16{};
  enable_float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR;
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR enable_executable{};
  enable_executable.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR;
  VkPhysicalDeviceSubgroupSizeControlFeaturesEXT enable_size_control{};
  enable_size_control.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT;
  void* chain = nullptr;
  if (required_subgroup_size_ > 0) {
    enabled.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    enable_size_control.subgroupSizeControl = VK_TRUE;
    subgroup_size_ = required_subgroup_size_;
  }
  link(enable_size_control, chain, required_subgroup_size_ > 0);
  if (pipeline_stats_) {
    enabled.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    enable_executable.pipelineExecutableInfo = VK_TRUE;
  }
  link(enable_executable, chain, pipeline_stats_);
  if (float16_math_) {
    enabled.push_back(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    enable_float16.shaderFloat16 = VK_TRUE;
  }
  link(enable_float16, chain, float16_math_);
  if (float_atomic_add_) {
    enabled.push_back(VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
    enable_atomic_float.shaderBufferFloat32Atomics = atomic_float.shaderBufferFloat32Atomics;
    enable_atomic_float.shaderBufferFloat32AtomicAdd = VK_TRUE;
  }
  link(enable_atomic_float, chain, float_atomic_add_);
  VkPhysicalDeviceCooperativeMatrixFeaturesNV enable_coopmat_nv{};
  enable_coopmat_nv.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
  enable_coopmat_nv.cooperativeMatrix = VK_TRUE;
  CoopMatrixFeaturesKhr enable_coopmat_khr{};
  enable_coopmat_khr.sType = kStypeCoopMatrixFeaturesKhr;
  enable_coopmat_khr.cooperativeMatrix = VK_TRUE;
  VkPhysicalDeviceVulkanMemoryModelFeatures enable_memory_model{};
  enable_memory_model.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES;
  enable_memory_model.vulkanMemoryModel = VK_TRUE;
  if (coop_matrix_ != CoopMatrix::None) {
    enabled.push_back(coop_matrix_ == CoopMatrix::Nv ? VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME
                                                     : kCoopMatrixKhrExtension);
    enabled.push_back(VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME);
  }
  link(enable_coopmat_nv, chain, coop_matrix_ == CoopMatrix::Nv);
  link(enable_coopmat_khr, chain, coop_matrix_ == CoopMatrix::Khr);
  link(enable_memory_model, chain, coop_matrix_ != CoopMatrix::None);
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR enable_int_dot{};
  enable_int_dot.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR;
  enable_int_dot.shaderIntegerDotProduct = VK_TRUE;
  if (int_dot_) enabled.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  link(enable_int_dot, chain, int_dot_);
  enable_storage16.storageBuffer16BitAccess = VK_TRUE;
  link(enable_storage16, chain, storage16_);
  di.pNext = chain;
  di.enabledExtensionCount = static_cast<uint32_t>(enabled.size());
  di.ppEnabledExtensionNames = enabled.empty() ? nullptr : enabled.data();
  vk_check(fn_.vkCreateDevice(physical_, &di, nullptr, &device_), "vkCreateDevice");
#define UNICORN_VK_LOAD(name) fn_.name = reinterpret_cast<PFN_##name>(fn_.vkGetDeviceProcAddr(device_, #name));
  UNICORN_VK_DEVICE_FNS(UNICORN_VK_LOAD)
#undef UNICORN_VK_LOAD
  fn_.vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pi{};
  pi.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = queue_family_;
  vk_check(fn_.vkCreateCommandPool(device_, &pi, nullptr, &command_pool_), "vkCreateCommandPool");
  if (transfer_family_ >= 0) {
    fn_.vkGetDeviceQueue(device_, static_cast<uint32_t>(transfer_family_), 0, &transfer_queue_);
    pi.queueFamilyIndex = static_cast<uint32_t>(transfer_family_);
    vk_check(fn_.vkCreateCommandPool(device_, &pi, nullptr, &transfer_pool_), "vkCreateCommandPool (transfer)");
  }
}

std::unique_ptr<VulkanContext> VulkanContext::create(const std::string& device_spec) {
  std::unique_ptr<VulkanContext> ctx(new VulkanContext());
  ctx->create_instance();
  ctx->create_device(device_spec);
  return ctx;
}

VulkanContext::~VulkanContext() {
  if (device_ != VK_NULL_HANDLE) {
    fn_.vkDeviceWaitIdle(device_);
    if (command_pool_ != VK_NULL_HANDLE) fn_.vkDestroyCommandPool(device_, command_pool_, nullptr);
    if (transfer_pool_ != VK_NULL_HANDLE) fn_.vkDestroyCommandPool(device_, transfer_pool_, nullptr);
    fn_.vkDestroyDevice(device_, nullptr);
  }
  if (messenger_ != VK_NULL_HANDLE) {
    auto destroy_messenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        gipa_(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    destroy_messenger(instance_, messenger_, nullptr);
  }
  if (instance_ != VK_NULL_HANDLE) fn_.vkDestroyInstance(instance_, nullptr);
}

std::vector<VulkanHeap> VulkanContext::heaps() const {
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
  budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
  VkPhysicalDeviceMemoryProperties2 p2{};
  p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
  if (memory_budget_) p2.pNext = &budget;
  fn_.vkGetPhysicalDeviceMemoryProperties2(physical_, &p2);
  std::vector<VulkanHeap> out(p2.memoryProperties.memoryHeapCount);
  for (uint32_t i = 0; i < out.size(); ++i) {
    const VkMemoryHeap& h = p2.memoryProperties.memoryHeaps[i];
    out[i].size = h.size;
    out[i].device_local = (h.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    out[i].available = h.size;
    if (memory_budget_) {
      const uint64_t b = budget.heapBudget[i], u = budget.heapUsage[i];
      out[i].available = b > u ? b - u : 0;
    }
  }
  return out;
}

int VulkanContext::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                                    VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (uint32_t i = 0; i < mem_props_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags f = mem_props_.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return static_cast<int>(i);
    if (fallback < 0) fallback = static_cast<int>(i);
  }
  return fallback;
}

void VulkanContext::submit_and_wait(VkCommandBuffer cb) const {
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, 0};
  VkFence fence = VK_NULL_HANDLE;
  vk_check(fn_.vkCreateFence(device_, &fi, nullptr, &fence), "vkCreateFence");
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  VkResult r = fn_.vkQueueSubmit(queue_, 1, &si, fence);
  if (r == VK_SUCCESS) r = fn_.vkWaitForFences(device_, 1, &fence, VK_TRUE, UINT64_MAX);
  fn_.vkDestroyFence(device_, fence, nullptr);
  vk_check(r, "vkQueueSubmit/vkWaitForFences");
}

void VulkanContext::submit(VkCommandBuffer cb, VkFence fence) const {
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  vk_check(fn_.vkQueueSubmit(queue_, 1, &si, fence), "vkQueueSubmit");
}

void VulkanContext::submit_and_wait(const std::function<void(VkCommandBuffer)>& record) const {
  VkCommandBufferAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  ai.commandPool = command_pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  vk_check(fn_.vkAllocateCommandBuffers(device_, &ai, &cb), "vkAllocateCommandBuffers");
  try {
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vk_check(fn_.vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
    record(cb);
    vk_check(fn_.vkEndCommandBuffer(cb), "vkEndCommandBuffer");
    submit_and_wait(cb);
  } catch (...) {
    fn_.vkFreeCommandBuffers(device_, command_pool_, 1, &cb);
    throw;
  }
  fn_.vkFreeCommandBuffers(device_, command_pool_, 1, &cb);
}

}  // namespace unicorn::hal
#endif
