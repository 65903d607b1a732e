#pragma once
#include <cstdint>
#include <string>

namespace unicorn::hal {

// PciAddress: plain value; str() is the sysfs spelling "0000:c4:00.0" that links Vulkan, DRM and sysfs views.
struct PciAddress {
  uint32_t domain = 0, bus = 0, device = 0, function = 0;
  std::string str() const;
};

}  // namespace unicorn::hal
