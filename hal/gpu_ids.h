#pragma once
// Known GPU PCI ids: AMD Radeon marketing names (by device id + revision) and gfx targets (by device id).
#include <cstdint>
#include <optional>
#include <string>

namespace unicorn::hal {

inline constexpr uint32_t kPciVendorAmd = 0x1002;  // ATI/AMD graphics
inline constexpr uint32_t kPciVendorAmdCpu = 0x1022;  // AMD (CPU, NPU, chipset functions)
inline constexpr uint32_t kPciVendorNvidia = 0x10de;
inline constexpr uint32_t kPciVendorIntel = 0x8086;

// AmdGpuIdentity: plain value. marketing_name is empty when (device, revision) is not in the table (the family
// is still known then); sources: libdrm data/amdgpu.ids, pci.ids, LLVM AMDGPUUsage (see tests/data/probe/README.md).
struct AmdGpuIdentity {
  std::string family;          // "Phoenix1", "Strix Point", "Navi 31"
  std::string gfx_target;      // "gfx1103"
  std::string marketing_name;  // "AMD Radeon 780M Graphics"; empty when the revision is unknown
  bool integrated = false;     // an APU's iGPU (shares system RAM)
};

// nullopt when the device id is not one Unicorn knows.
std::optional<AmdGpuIdentity> lookup_amd_gpu(uint32_t device_id, uint32_t revision);
std::string pci_vendor_name(uint32_t vendor_id);

}  // namespace unicorn::hal
