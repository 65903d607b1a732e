#pragma once
// VK_KHR_cooperative_matrix postdates the Vulkan 1.3.239 headers of Debian 12, so its few definitions are written
// here from the Vulkan registry (vk.xml): structure types 1000506000..2, the properties query; VkComponentTypeKHR
// (float16 0, float32 1, ...) and VkScopeKHR (subgroup 3) have the values of the NV extension's enums.
#ifdef UNICORN_HAVE_VULKAN
#include <cstdint>

#include "hal/vk_functions.h"

namespace unicorn::hal {

constexpr const char* kCoopMatrixKhrExtension = "VK_KHR_cooperative_matrix";
constexpr VkStructureType kStypeCoopMatrixFeaturesKhr = static_cast<VkStructureType>(1000506000);
constexpr VkStructureType kStypeCoopMatrixPropertiesKhr = static_cast<VkStructureType>(1000506001);

struct CoopMatrixFeaturesKhr {
  VkStructureType sType;
  void* pNext;
  VkBool32 cooperativeMatrix;
  VkBool32 cooperativeMatrixRobustBufferAccess;
};

struct CoopMatrixPropertiesKhr {
  VkStructureType sType;
  void* pNext;
  uint32_t MSize, NSize, KSize;
  int32_t AType, BType, CType, ResultType;
  VkBool32 saturatingAccumulation;
  int32_t scope;
};

using PfnGetCoopMatrixProps = VkResult(VKAPI_PTR*)(VkPhysicalDevice, uint32_t*, CoopMatrixPropertiesKhr*);

}  // namespace unicorn::hal
#endif
