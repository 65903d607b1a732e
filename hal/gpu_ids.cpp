#include "hal/gpu_ids.h"

namespace unicorn::hal {
namespace {

struct Family {
  uint32_t device;
  const char* family;
  const char* gfx;
  bool integrated;
};

// Device id -> family (pci.ids names) and LLVM gfx target (LLVM AMDGPUUsage processor table).
constexpr Family kFamilies[] = {
    {0x15bf, "Phoenix1", "gfx1103", true},       {0x15c8, "Phoenix2", "gfx1103", true},
    {0x1900, "Hawk Point1", "gfx1103", true},    {0x1901, "Hawk Point2", "gfx1103", true},
    {0x150e, "Strix Point", "gfx1150", true},    {0x1586, "Strix Halo", "gfx1151", true},
    {0x1114, "Krackan Point", "gfx1152", true},  {0x1681, "Rembrandt", "gfx1035", true},
    {0x164e, "Raphael", "gfx1036", true},        {0x1506, "Mendocino", "gfx1037", true},
    {0x1636, "Renoir", "gfx90c", true},          {0x1638, "Cezanne", "gfx90c", true},
    {0x744c, "Navi 31", "gfx1100", false},       {0x7480, "Navi 33", "gfx1102", false},
};

struct Marketing {
  uint32_t device;
  uint32_t revision;
  const char* name;
};

// (device, revision) -> product name, the rows of libdrm data/amdgpu.ids (commit 7d43d9b6, Aug 2025) for the
// device ids above.
constexpr Marketing kMarketing[] = {
    {0x1114, 0xc2, "AMD Radeon 860M Graphics"},
    {0x1114, 0xc3, "AMD Radeon 840M Graphics"},
    {0x1114, 0xd2, "AMD Radeon 860M Graphics"},
    {0x1114, 0xd3, "AMD Radeon 840M Graphics"},
    {0x1506, 0xc1, "AMD Radeon 610M"},
    {0x1506, 0xc2, "AMD Radeon 610M"},
    {0x1506, 0xc3, "AMD Radeon 610M"},
    {0x1506, 0xc4, "AMD Radeon 610M"},
    {0x150e, 0xc1, "AMD Radeon 890M Graphics"},
    {0x150e, 0xc4, "AMD Radeon 890M Graphics"},
    {0x150e, 0xc5, "AMD Radeon 890M Graphics"},
    {0x150e, 0xc6, "AMD Radeon 890M Graphics"},
    {0x150e, 0xd1, "AMD Radeon 890M Graphics"},
    {0x150e, 0xd2, "AMD Radeon 890M Graphics"},
    {0x150e, 0xd3, "AMD Radeon 890M Graphics"},
    {0x1586, 0xc1, "Radeon 8060S Graphics"},
    {0x1586, 0xc2, "Radeon 8050S Graphics"},
    {0x1586, 0xc4, "Radeon 8050S Graphics"},
    {0x1586, 0xd1, "Radeon 8060S Graphics"},
    {0x1586, 0xd2, "Radeon 8050S Graphics"},
    {0x1586, 0xd4, "Radeon 8050S Graphics"},
    {0x1586, 0xd5, "Radeon 8040S Graphics"},
    {0x15bf, 0x00, "AMD Radeon 780M Graphics"},
    {0x15bf, 0x01, "AMD Radeon 760M Graphics"},
    {0x15bf, 0x02, "AMD Radeon 780M Graphics"},
    {0x15bf, 0x03, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xc1, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xc2, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xc3, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xc4, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xc5, "AMD Radeon 740M Graphics"},
    {0x15bf, 0xc6, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xc7, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xc8, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xc9, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xca, "AMD Radeon 740M Graphics"},
    {0x15bf, 0xcb, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xcc, "AMD Radeon 740M Graphics"},
    {0x15bf, 0xcd, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xcf, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd0, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd1, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd2, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd3, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd4, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd5, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xd6, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xd7, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xd8, "AMD Radeon 740M Graphics"},
    {0x15bf, 0xd9, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xda, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xdb, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xdc, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xdd, "AMD Radeon 780M Graphics"},
    {0x15bf, 0xde, "AMD Radeon 740M Graphics"},
    {0x15bf, 0xdf, "AMD Radeon 760M Graphics"},
    {0x15bf, 0xf0, "AMD Radeon 760M Graphics"},
    {0x15c8, 0xc1, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xc2, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xc3, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xc4, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xd1, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xd2, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xd3, "AMD Radeon 740M Graphics"},
    {0x15c8, 0xd4, "AMD Radeon 740M Graphics"},
    {0x164e, 0xd8, "AMD Radeon 610M"},
    {0x164e, 0xd9, "AMD Radeon 610M"},
    {0x164e, 0xda, "AMD Radeon 610M"},
    {0x164e, 0xdb, "AMD Radeon 610M"},
    {0x164e, 0xdc, "AMD Radeon 610M"},
    {0x1681, 0x06, "AMD Radeon 680M"},
    {0x1681, 0x07, "AMD Radeon 660M"},
    {0x1681, 0x0a, "AMD Radeon 680M"},
    {0x1681, 0x0b, "AMD Radeon 660M"},
    {0x1681, 0xc7, "AMD Radeon 680M"},
    {0x1681, 0xc8, "AMD Radeon 680M"},
    {0x1681, 0xc9, "AMD Radeon 660M"},
    {0x1900, 0x01, "AMD Radeon 780M Graphics"},
    {0x1900, 0x02, "AMD Radeon 760M Graphics"},
    {0x1900, 0x03, "AMD Radeon 780M Graphics"},
    {0x1900, 0x04, "AMD Radeon 760M Graphics"},
    {0x1900, 0x05, "AMD Radeon 780M Graphics"},
    {0x1900, 0x06, "AMD Radeon 780M Graphics"},
    {0x1900, 0x07, "AMD Radeon 760M Graphics"},
    {0x1900, 0xb0, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb1, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb2, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb3, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb4, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb5, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb6, "AMD Radeon 780M Graphics"},
    {0x1900, 0xb7, "AMD Radeon 760M Graphics"},
    {0x1900, 0xb8, "AMD Radeon 760M Graphics"},
    {0x1900, 0xb9, "AMD Radeon 780M Graphics"},
    {0x1900, 0xba, "AMD Radeon 780M Graphics"},
    {0x1900, 0xbb, "AMD Radeon 780M Graphics"},
    {0x1900, 0xc0, "AMD Radeon 780M Graphics"},
    {0x1900, 0xc1, "AMD Radeon 760M Graphics"},
    {0x1900, 0xc2, "AMD Radeon 780M Graphics"},
    {0x1900, 0xc3, "AMD Radeon 760M Graphics"},
    {0x1900, 0xc4, "AMD Radeon 780M Graphics"},
    {0x1900, 0xc5, "AMD Radeon 780M Graphics"},
    {0x1900, 0xc6, "AMD Radeon 760M Graphics"},
    {0x1900, 0xc7, "AMD Radeon 780M Graphics"},
    {0x1900, 0xc8, "AMD Radeon 760M Graphics"},
    {0x1900, 0xc9, "AMD Radeon 780M Graphics"},
    {0x1900, 0xca, "AMD Radeon 760M Graphics"},
    {0x1900, 0xcb, "AMD Radeon 780M Graphics"},
    {0x1900, 0xcc, "AMD Radeon 780M Graphics"},
    {0x1900, 0xcd, "AMD Radeon 760M Graphics"},
    {0x1900, 0xce, "AMD Radeon 780M Graphics"},
    {0x1900, 0xcf, "AMD Radeon 760M Graphics"},
    {0x1900, 0xd0, "AMD Radeon 780M Graphics"},
    {0x1900, 0xd1, "AMD Radeon 760M Graphics"},
    {0x1900, 0xd2, "AMD Radeon 780M Graphics"},
    {0x1900, 0xd3, "AMD Radeon 760M Graphics"},
    {0x1900, 0xd4, "AMD Radeon 780M Graphics"},
    {0x1900, 0xd5, "AMD Radeon 780M Graphics"},
    {0x1900, 0xd6, "AMD Radeon 760M Graphics"},
    {0x1900, 0xd7, "AMD Radeon 780M Graphics"},
    {0x1900, 0xd8, "AMD Radeon 760M Graphics"},
    {0x1900, 0xd9, "AMD Radeon 780M Graphics"},
    {0x1900, 0xda, "AMD Radeon 760M Graphics"},
    {0x1900, 0xdb, "AMD Radeon 780M Graphics"},
    {0x1900, 0xdc, "AMD Radeon 780M Graphics"},
    {0x1900, 0xdd, "AMD Radeon 760M Graphics"},
    {0x1900, 0xde, "AMD Radeon 780M Graphics"},
    {0x1900, 0xdf, "AMD Radeon 760M Graphics"},
    {0x1900, 0xf0, "AMD Radeon 780M Graphics"},
    {0x1900, 0xf1, "AMD Radeon 780M Graphics"},
    {0x1900, 0xf2, "AMD Radeon 780M Graphics"},
    {0x1901, 0xc1, "AMD Radeon 740M Graphics"},
    {0x1901, 0xc2, "AMD Radeon 740M Graphics"},
    {0x1901, 0xc3, "AMD Radeon 740M Graphics"},
    {0x1901, 0xc6, "AMD Radeon 740M Graphics"},
    {0x1901, 0xc7, "AMD Radeon 740M Graphics"},
    {0x1901, 0xc8, "AMD Radeon 740M Graphics"},
    {0x1901, 0xc9, "AMD Radeon 740M Graphics"},
    {0x1901, 0xca, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd1, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd2, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd3, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd4, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd5, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd6, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd7, "AMD Radeon 740M Graphics"},
    {0x1901, 0xd8, "AMD Radeon 740M Graphics"},
    {0x744c, 0xc8, "AMD Radeon RX 7900 XTX"},
    {0x744c, 0xcc, "AMD Radeon RX 7900 XT"},
    {0x744c, 0xce, "AMD Radeon RX 7900 GRE"},
    {0x744c, 0xcf, "AMD Radeon RX 7900M"},
    {0x7480, 0x00, "AMD Radeon Pro W7600"},
    {0x7480, 0xc0, "AMD Radeon RX 7600 XT"},
    {0x7480, 0xc1, "AMD Radeon RX 7700S"},
    {0x7480, 0xc2, "AMD Radeon RX 7650 GRE"},
    {0x7480, 0xc3, "AMD Radeon RX 7600S"},
    {0x7480, 0xc7, "AMD Radeon RX 7600M XT"},
    {0x7480, 0xcf, "AMD Radeon RX 7600"},
};

}  // namespace

std::optional<AmdGpuIdentity> lookup_amd_gpu(uint32_t device_id, uint32_t revision) {
  for (const Family& f : kFamilies) {
    if (f.device != device_id) continue;
    AmdGpuIdentity id;
    id.family = f.family;
    id.gfx_target = f.gfx;
    id.integrated = f.integrated;
    for (const Marketing& m : kMarketing) {
      if (m.device == device_id && m.revision == revision) id.marketing_name = m.name;
    }
    return id;
  }
  return std::nullopt;
}

std::string pci_vendor_name(uint32_t vendor_id) {
  switch (vendor_id) {
    case kPciVendorAmd:
    case kPciVendorAmdCpu: return "AMD";
    case kPciVendorNvidia: return "NVIDIA";
    case kPciVendorIntel: return "Intel";
    case 0x10005: return "Mesa (software)";  // VK_VENDOR_ID_MESA
    default: return {};
  }
}

}  // namespace unicorn::hal
