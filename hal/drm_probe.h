#pragma once
// GPUs on the PCI bus and their DRM devices: ids, driver, render node and (amdgpu) VRAM/GTT totals and usage.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hal/device_node.h"
#include "hal/gpu_ids.h"
#include "hal/probe_roots.h"

namespace unicorn::hal {

// DrmGpu: plain value for one display-class PCI function.
struct DrmGpu {
  std::string pci_address;  // "0000:c4:00.0"
  uint32_t vendor_id = 0, device_id = 0, revision = 0, subsystem_vendor = 0, subsystem_device = 0;
  std::string vendor_name;         // "AMD", "NVIDIA", ...
  std::string driver;              // bound kernel driver ("amdgpu", "nvidia"); empty = none bound
  std::string driver_version;      // drmGetVersion "3.57.0" (live, when the node could be opened)
  std::string render_node;         // "<dev>/dri/renderD128"; empty when the driver made none
  std::string card_node;           // "<dev>/dri/card1"
  NodeAccess render_access;
  // amdgpu sysfs mem_info_* (bytes); absent for other drivers.
  std::optional<uint64_t> vram_total, vram_used, vis_vram_total, gtt_total, gtt_used;
  std::optional<AmdGpuIdentity> amd;  // known Radeon id: family, gfx target, marketing name
  bool integrated = false;            // known APU iGPU (memory is system RAM: VRAM is a carve-out, GTT the rest)
  std::string display_name() const;   // marketing name, else family, else "vendor:device"
};

// DrmReport: plain value. source says how devices were enumerated.
struct DrmReport {
  std::string source;  // "libdrm drmGetDevices2 + sysfs" or "sysfs scan of <sys>"
  std::string note;    // e.g. libdrm missing at build time
  std::vector<DrmGpu> gpus;
};

// Enumerates display-class PCI functions under <sys>/bus/pci/devices and their DRM nodes; on the live system also
// asks libdrm (drmGetDevices2, drmGetVersion) and adds what it alone knows. Never throws.
DrmReport probe_drm(const ProbeRoots& roots);

// Reads one PCI function directory (vendor, device, revision, driver, drm/ nodes, mem_info_*). Exposed for tests.
DrmGpu read_pci_gpu(const std::string& pci_dir, const std::string& pci_address, const ProbeRoots& roots);

}  // namespace unicorn::hal
