#include "hal/drm_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "hal/pci_address.h"
#include "hal/sysfs_reader.h"

#ifdef UNICORN_HAVE_DRM
#include <xf86drm.h>
#endif

namespace unicorn::hal {

std::string DrmGpu::display_name() const {
  if (amd && !amd->marketing_name.empty()) return amd->marketing_name;
  char ids[16];
  std::snprintf(ids, sizeof ids, "%04x:%04x", vendor_id, device_id);
  if (amd) return str_cat("AMD ", amd->family, " GPU (", ids, " rev ", revision, ")");
  return vendor_name.empty() ? str_cat("GPU ", ids) : str_cat(vendor_name, " GPU ", ids);
}

DrmGpu read_pci_gpu(const std::string& dir, const std::string& address, const ProbeRoots& roots) {
  DrmGpu g;
  g.pci_address = address;
  g.vendor_id = static_cast<uint32_t>(read_number(dir + "/vendor").value_or(0));
  g.device_id = static_cast<uint32_t>(read_number(dir + "/device").value_or(0));
  g.revision = static_cast<uint32_t>(read_number(dir + "/revision").value_or(0));
  g.subsystem_vendor = static_cast<uint32_t>(read_number(dir + "/subsystem_vendor").value_or(0));
  g.subsystem_device = static_cast<uint32_t>(read_number(dir + "/subsystem_device").value_or(0));
  g.vendor_name = pci_vendor_name(g.vendor_id);
  g.driver = link_basename(dir + "/driver");
  if (g.driver.empty()) g.driver = uevent_value(dir + "/uevent", "DRIVER");
  for (const std::string& node : list_dir(dir + "/drm")) {
    if (node.rfind("renderD", 0) == 0 && g.render_node.empty()) g.render_node = roots.dev + "/dri/" + node;
    if (node.rfind("card", 0) == 0 && g.card_node.empty()) g.card_node = roots.dev + "/dri/" + node;
  }
  if (!g.render_node.empty()) g.render_access = check_node(g.render_node);
  g.vram_total = read_number(dir + "/mem_info_vram_total");
  g.vram_used = read_number(dir + "/mem_info_vram_used");
  g.vis_vram_total = read_number(dir + "/mem_info_vis_vram_total");
  g.gtt_total = read_number(dir + "/mem_info_gtt_total");
  g.gtt_used = read_number(dir + "/mem_info_gtt_used");
  if (g.vendor_id == kPciVendorAmd) g.amd = lookup_amd_gpu(g.device_id, g.revision);
  g.integrated = g.amd && g.amd->integrated;
  return g;
}

namespace {

#ifdef UNICORN_HAVE_DRM
// Adds what only libdrm knows on the live system: the nodes it sees and the driver's own version.
void merge_libdrm(DrmReport& report) {
  drmDevicePtr devs[64];
  const int n = drmGetDevices2(0, devs, 64);
  if (n == -ENOENT) return;  // no /dev/dri at all: simply no DRM devices
  if (n < 0) {
    report.note = str_cat("drmGetDevices2 failed: ", std::strerror(-n));
    return;
  }
  for (int i = 0; i < n; ++i) {
    const drmDevicePtr d = devs[i];
    if (d->bustype != DRM_BUS_PCI) continue;
    const std::string addr = PciAddress{static_cast<uint32_t>(d->businfo.pci->domain), d->businfo.pci->bus,
                                        d->businfo.pci->dev, d->businfo.pci->func}
                                 .str();
    DrmGpu* gpu = nullptr;
    for (DrmGpu& g : report.gpus) {
      if (g.pci_address == addr) gpu = &g;
    }
    if (gpu == nullptr) {  // a DRM device sysfs did not list as display class (e.g. a 3D controller variant)
      report.gpus.push_back(DrmGpu{});
      gpu = &report.gpus.back();
      *gpu = read_pci_gpu("/sys/bus/pci/devices/" + addr, addr, ProbeRoots{});
    }
    if ((d->available_nodes & (1 << DRM_NODE_RENDER)) && gpu->render_node.empty()) {
      gpu->render_node = d->nodes[DRM_NODE_RENDER];
      gpu->render_access = check_node(gpu->render_node);
    }
    const std::string node = !gpu->render_node.empty() ? gpu->render_node : std::string();
    if (node.empty() || !gpu->render_access.ok()) continue;
    const int fd = ::open(node.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    if (drmVersionPtr v = drmGetVersion(fd)) {
      if (gpu->driver.empty()) gpu->driver = v->name;
      gpu->driver_version = str_cat(v->version_major, ".", v->version_minor, ".", v->version_patchlevel);
      drmFreeVersion(v);
    }
    ::close(fd);
  }
  drmFreeDevices(devs, n);
}
#endif

}  // namespace

DrmReport probe_drm(const ProbeRoots& roots) {
  DrmReport report;
  const std::string bus = roots.sys + "/bus/pci/devices";
  for (const std::string& addr : list_dir(bus)) {
    const std::string dir = bus + "/" + addr;
    const uint64_t cls = read_number(dir + "/class").value_or(0);
    if ((cls >> 16) != 0x03) continue;  // PCI base class 0x03: display controller (VGA, 3D, other)
    report.gpus.push_back(read_pci_gpu(dir, addr, roots));
  }
  if (roots.sys_recorded() || roots.dev_recorded()) {
    report.source = str_cat("sysfs scan of ", roots.sys);
    return report;
  }
#ifdef UNICORN_HAVE_DRM
  report.source = "sysfs scan of /sys + libdrm (drmGetDevices2, drmGetVersion)";
  merge_libdrm(report);
#else
  report.source = "sysfs scan of /sys";
  report.note = "built without libdrm: driver versions are not read";
#endif
  return report;
}

}  // namespace unicorn::hal
