#include "hal/probe_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>

#include "base/error.h"

namespace unicorn::hal {
namespace {

// amdxdna pins every buffer object it hands the NPU (instruction buffers are 64 MB per context, weights are staged
// through pinned buffers), and pinned pages count against RLIMIT_MEMLOCK. Below this the NPU path cannot even hold a
// couple of staging buffers; distributions default to 8 MiB.
constexpr uint64_t kNpuMemlockMinimum = 1ull << 30;

bool software_vulkan(const VulkanDevice& d) { return d.type == "cpu"; }

void add(ProbeReport& r, std::string severity, std::string code, std::string what, std::string remedy) {
  r.problems.push_back({std::move(severity), std::move(code), std::move(what), std::move(remedy)});
}

std::string hex4(uint32_t v) {
  char b[8];
  std::snprintf(b, sizeof b, "%04x", v);
  return b;
}

void diagnose_vulkan(ProbeReport& r) {
  const VulkanReport& v = r.vulkan;
  if (v.status == "not-probed") return;
  if (v.status == "built-without-vulkan") {
    add(r, "info", "vulkan_not_built", "this unicorn was built without Vulkan support, so GPUs are not queried",
        "rebuild with the Vulkan headers installed (libvulkan-dev) and -DUNICORN_VULKAN=ON");
    return;
  }
  std::string manifests;
  for (const std::string& m : v.icd_manifests) manifests += (manifests.empty() ? "" : ", ") + m;
  if (v.status == "no-loader") {
    add(r, "warning", "no_vulkan_loader", str_cat("no Vulkan loader: ", v.detail),
        manifests.empty()
            ? "install the Vulkan loader and drivers (Debian/Ubuntu: sudo apt install libvulkan1 mesa-vulkan-drivers)"
            : str_cat("install the Vulkan loader (Debian/Ubuntu: sudo apt install libvulkan1); driver manifests are "
                      "already installed: ", manifests));
    return;
  }
  if (v.status == "instance-failed") {
    add(r, "warning", "vulkan_instance_failed", str_cat("the Vulkan loader is present but ", v.detail),
        manifests.empty()
            ? "install a Vulkan driver (AMD/Intel: mesa-vulkan-drivers; NVIDIA: the NVIDIA driver's Vulkan ICD)"
            : str_cat("driver manifests are installed (", manifests, ") but none could be loaded; run "
                      "VK_LOADER_DEBUG=error,warn unicorn probe to see the loader's reason"));
    return;
  }
  if (v.devices.empty()) {
    add(r, "warning", "no_vulkan_devices", "the Vulkan loader found no devices",
        "install a Vulkan driver (AMD/Intel: mesa-vulkan-drivers; NVIDIA: the NVIDIA driver's Vulkan ICD)");
    return;
  }
  const bool only_software = std::all_of(v.devices.begin(), v.devices.end(), software_vulkan);
  if (only_software) {
    const bool has_gpu = !r.drm.gpus.empty();
    add(r, "warning", "only_software_vulkan",
        str_cat("only a software Vulkan device was found (", v.devices.front().name,
                "); it runs on the CPU and is no faster than unicorn's own CPU path"),
        has_gpu ? "a GPU is on the PCI bus: install its Vulkan driver (AMD: mesa-vulkan-drivers for RADV) and check "
                  "that you can open its render node"
                : "no GPU was found on the PCI bus, so there is nothing to install; the CPU path is used");
  }
}

void diagnose_drm(ProbeReport& r) {
  for (const DrmGpu& g : r.drm.gpus) {
    if (g.driver.empty()) {
      std::string remedy = "load the GPU's kernel driver";
      if (g.vendor_id == kPciVendorAmd) remedy = "load amdgpu (sudo modprobe amdgpu) and check dmesg for firmware errors";
      if (g.vendor_id == kPciVendorNvidia) remedy = "install the NVIDIA driver (or nouveau for display only)";
      add(r, "warning", "gpu_no_driver", str_cat(g.display_name(), " at ", g.pci_address, " has no kernel driver bound"),
          remedy);
      continue;
    }
    if (g.render_node.empty()) {
      add(r, "warning", "gpu_no_render_node",
          str_cat(g.display_name(), " (driver ", g.driver, ") has no DRM render node"),
          g.vendor_id == kPciVendorNvidia ? "load nvidia-drm (sudo modprobe nvidia-drm)" : "check dmesg for driver errors");
      continue;
    }
    if (!g.render_access.exists) {
      add(r, "warning", "render_node_missing", str_cat(g.render_node, " does not exist although sysfs lists it"),
          "check that udev created the /dev/dri nodes (is /dev mounted from the host inside a container?)");
    } else if (!g.render_access.ok()) {
      const std::string grp = g.render_access.group.empty() ? "render" : g.render_access.group;
      add(r, "warning", "render_node_denied",
          str_cat("this user cannot open ", g.render_node, " (", g.display_name(), "): it needs read and write access",
                  g.render_access.user_in_group ? "" : str_cat(", and you are not in the group '", grp, "'")),
          str_cat("sudo usermod -aG ", grp, " $USER, then log out and back in"));
    }
  }
}

void diagnose_xdna(ProbeReport& r) {
  const XdnaReport& x = r.xdna;
  if (x.npus.empty()) {
    add(r, "info", "no_npu", "no NPU: no AMD XDNA PCI device (1022:1502 or 1022:17f0) is on the PCI bus", "");
    return;
  }
  for (const XdnaNpu& n : x.npus) {
    const std::string name = str_cat(n.generation ? n.generation->product : "NPU", " at ", n.pci_address);
    if (n.generation && !n.generation->driver_supports) {
      add(r, "warning", "npu_revision_unknown",
          str_cat(name, " has PCI revision 0x", hex4(n.revision), ", which the amdxdna driver does not list"),
          "a newer kernel or the out-of-tree amd/xdna-driver may support it");
    }
    if (n.driver.empty()) {
      if (x.kernel_has_amdxdna && !*x.kernel_has_amdxdna) {
        add(r, "error", "kernel_too_old",
            str_cat(name, " has no driver: kernel ", x.kernel_release, " predates amdxdna (in Linux 6.14 and newer)"),
            "upgrade to Linux 6.14 or newer, or build and load the out-of-tree driver from github.com/amd/xdna-driver");
      } else {
        add(r, "error", "amdxdna_not_loaded",
            str_cat(name, " has no driver bound: amdxdna is ", x.module_loaded ? "loaded but did not bind" : "not loaded"),
            "sudo modprobe amdxdna, then check dmesg: it needs the NPU firmware (linux-firmware, amdnpu/"
            "<device>_<rev>/npu.sbin) and IOMMU SVA enabled");
      }
      continue;
    }
    if (n.driver != "amdxdna") {
      add(r, "warning", "npu_other_driver", str_cat(name, " is bound to '", n.driver, "', not amdxdna"), "");
      continue;
    }
    if (n.accel_node.empty()) {
      add(r, "error", "npu_no_accel_node", str_cat(name, ": amdxdna is bound but made no accel node"),
          "check dmesg for amdxdna errors (firmware load, IOMMU SVA)");
      continue;
    }
    if (n.access.exists && !n.access.ok()) {
      const std::string grp = n.access.group.empty() ? "render" : n.access.group;
      add(r, "warning", "accel_node_denied",
          str_cat("this user cannot open ", n.accel_node, " (", name, "): it needs read and write access",
                  n.access.user_in_group ? "" : str_cat(", and you are not in the group '", grp, "'")),
          str_cat("sudo usermod -aG ", grp, " $USER and log out and back in, or add a udev rule giving the "
                  "accel subsystem group render mode 0660"));
    }
    if (!n.query_error.empty()) {
      add(r, "warning", "npu_query_failed", str_cat(name, ": the driver was not queried: ", n.query_error), "");
    } else if (n.answers && !n.answers->errors.empty()) {
      std::string list;
      for (const std::string& e : n.answers->errors) list += (list.empty() ? "" : "; ") + e;
      add(r, "info", "npu_query_partial", str_cat(name, ": some driver queries were refused: ", list),
          "older amdxdna versions lack some queries; a newer kernel answers them");
    }
    if (r.cpu.memlock.known && !r.cpu.memlock.unlimited && r.cpu.memlock.bytes < kNpuMemlockMinimum) {
      add(r, "warning", "memlock_low",
          str_cat("the memlock limit is ", format_bytes(r.cpu.memlock.bytes),
                  "; the NPU driver pins its buffers and needs far more"),
          "raise it: ulimit -l unlimited in this shell, or a line '<user> - memlock unlimited' in "
          "/etc/security/limits.d/99-npu.conf (LimitMEMLOCK=infinity for systemd services), then log in again");
    }
  }
}

MemoryFit fit(std::string pool, std::string device, uint64_t total, uint64_t free_bytes, uint64_t model,
              std::string note) {
  MemoryFit f;
  f.pool = std::move(pool);
  f.device = std::move(device);
  f.total = total;
  f.capacity = free_bytes;
  f.fits = model <= free_bytes;
  f.fraction = model == 0 ? 1.0 : std::min(1.0, static_cast<double>(free_bytes) / static_cast<double>(model));
  f.note = std::move(note);
  return f;
}

void plan(ProbeReport& r, std::optional<uint64_t> model_bytes) {
  ProbePlan& p = r.plan;
  p.run_device = "cpu";
  p.model_bytes = model_bytes;
  std::string isa = "AVX2";
  if (r.cpu.features.avx512f && r.cpu.features.avx512bw && r.cpu.features.avx512vl) isa = "AVX-512";
  else if (!r.cpu.features.avx2) isa = "baseline x86-64 (no AVX2)";
  p.notes.push_back(str_cat("prefill and decode: CPU (", r.cpu.physical_cores > 0 ? r.cpu.physical_cores : r.cpu.logical_cores,
                            " cores, ", isa, " kernels): the default (--device cpu)"));
#ifdef UNICORN_HAVE_VULKAN
  const char* gpu_use = ": used with --device vulkan (or --device auto, which picks a GPU over the CPU)";
  const char* drm_only = ": not used, because no Vulkan driver reports it (install its Vulkan driver, e.g. Mesa RADV)";
#else
  const char* gpu_use = ": not used, because this unicorn was built without the Vulkan backend";
  const char* drm_only = gpu_use;
#endif
  bool hw_gpu = false;
  for (const VulkanDevice& d : r.vulkan.devices) {
    if (software_vulkan(d)) continue;
    hw_gpu = true;
    p.notes.push_back(str_cat("GPU ", d.name, " (Vulkan ", d.type, ")", gpu_use));
#ifdef UNICORN_HAVE_VULKAN
    // What the Vulkan kernels are expected to use there (VulkanContext decides, from a few more features; the NV
    // cooperative-matrix extension, which the probe does not query, is taken where a device has only that one).
    const bool kernel_shape = std::any_of(d.cooperative_matrix_shapes.begin(), d.cooperative_matrix_shapes.end(),
                                          [](const VulkanCoopMatrixShape& c) {
                                            return c.m == 16 && c.n == 16 && c.k == 16 && c.a_type == "float16" &&
                                                   c.b_type == "float16" && c.c_type == "float32" &&
                                                   c.result_type == "float32" && c.scope == "subgroup";
                                          });
    const bool subgroup32 = d.subgroup_size == 32 || (d.min_subgroup_size <= 32 && d.max_subgroup_size >= 32);
    if (d.cooperative_matrix && kernel_shape && d.shader_float16 && subgroup32)
      p.notes.push_back(str_cat("  prefill mat-muls of quantized weights on cooperative matrices (",
                                "VK_KHR_cooperative_matrix, 16x16x16 fp16 with fp32 sums)"));
    if (d.integer_dot_product) p.notes.push_back("  Q8_0 mat-vecs on integer dot products (4 x int8)");
#endif
  }
  if (!hw_gpu) {
    for (const DrmGpu& g : r.drm.gpus) {
      p.notes.push_back(str_cat("GPU ", g.display_name(), drm_only));
    }
  }
  for (const XdnaNpu& n : r.xdna.npus) {
    std::string why = "NPU execution is not built yet in this revision";
    if (n.generation && n.generation->generation == "XDNA1")
      why += "; XDNA1 (Phoenix/Hawk Point) also has no LLM support in AMD's own stack";
    p.notes.push_back(str_cat(n.generation ? n.generation->product : "NPU", " at ", n.pci_address,
                              ": not used, because ", why));
  }
  if (!model_bytes) return;
  const uint64_t m = *model_bytes;
  for (const DrmGpu& g : r.drm.gpus) {
    if (g.vram_total) {
      const uint64_t used = g.vram_used.value_or(0);
      const uint64_t free_b = *g.vram_total > used ? *g.vram_total - used : 0;
      p.fits.push_back(fit("VRAM", g.display_name(), *g.vram_total, free_b, m,
                           g.integrated ? "iGPU: the VRAM carve-out is system RAM reserved by the firmware" : ""));
    }
    if (g.gtt_total) {
      const uint64_t used = g.gtt_used.value_or(0);
      const uint64_t free_b = *g.gtt_total > used ? *g.gtt_total - used : 0;
      p.fits.push_back(fit("GTT", g.display_name(), *g.gtt_total, free_b, m,
                           "GTT is system RAM the GPU maps; it competes with the CPU for the same RAM"));
      if (g.integrated && g.vram_total) {
        // An iGPU can hold a model across both pools, so the sum is what decides whether it fits on the GPU.
        const MemoryFit& vram = p.fits[p.fits.size() - 2];
        p.fits.push_back(fit("VRAM+GTT", g.display_name(), vram.total + *g.gtt_total, vram.capacity + free_b, m,
                             "iGPU: the carve-out and GTT together, both system RAM"));
      }
    }
  }
  for (const VulkanDevice& d : r.vulkan.devices) {
    if (software_vulkan(d)) continue;
    for (size_t i = 0; i < d.heaps.size(); ++i) {
      const VulkanHeap& h = d.heaps[i];
      if (!h.device_local) continue;
      const uint64_t avail = h.budget ? (*h.budget > h.usage.value_or(0) ? *h.budget - h.usage.value_or(0) : 0) : h.size;
      p.fits.push_back(fit("Vulkan heap", str_cat(d.name, " heap ", i), h.size, avail, m,
                           h.budget ? "VK_EXT_memory_budget budget minus usage" : "heap size (no memory budget extension)"));
    }
  }
  if (r.cpu.ram_available_bytes) {
    p.fits.push_back(fit("RAM", "", r.cpu.ram_total_bytes.value_or(0), *r.cpu.ram_available_bytes, m,
                         "available RAM; the CPU path maps the model file, so a model larger than this is re-read "
                         "from disk every token"));
  }
}

}  // namespace

const DrmGpu* drm_gpu_for(const ProbeReport& report, const VulkanDevice& device) {
  if (!device.pci) return nullptr;
  const std::string addr = device.pci->str();
  for (const DrmGpu& g : report.drm.gpus) {
    if (g.pci_address == addr) return &g;
  }
  return nullptr;
}

bool ProbeReport::has(std::string_view what) const {
  if (what == "cpu") return true;
  if (what == "vulkan") return vulkan.status == "ok" && !vulkan.devices.empty();
  if (what == "gpu") {
    if (vulkan.status == "ok")
      return std::any_of(vulkan.devices.begin(), vulkan.devices.end(), [](const VulkanDevice& d) { return !software_vulkan(d); });
    if (vulkan.status != "not-probed") return false;
    return std::any_of(drm.gpus.begin(), drm.gpus.end(),
                       [](const DrmGpu& g) { return !g.driver.empty() && g.render_access.ok(); });
  }
  if (what == "npu") {
    return std::any_of(xdna.npus.begin(), xdna.npus.end(),
                       [](const XdnaNpu& n) {
                         return n.driver == "amdxdna" && n.access.ok() && n.answers && n.query_error.empty();
                       });
  }
  fail("unknown device kind '", what, "' (expected cpu, vulkan, gpu or npu)");
}

void diagnose(ProbeReport& report, std::optional<uint64_t> model_bytes) {
  report.problems.clear();
  report.plan = ProbePlan{};
  diagnose_vulkan(report);
  diagnose_drm(report);
  diagnose_xdna(report);
  plan(report, model_bytes);
}

ProbeReport run_probe(const ProbeOptions& options) {
  ProbeReport r;
  r.source = options.roots.describe();
  r.cpu = probe_cpu(options.roots);
  if (options.vulkan && !options.roots.recorded()) {
    r.vulkan = probe_vulkan();
  } else {
    r.vulkan.status = "not-probed";
    r.vulkan.detail = options.roots.recorded()
                          ? "Vulkan is only probed on this machine, not for a recorded tree"
                          : "Vulkan probing was turned off (--no-vulkan)";
  }
  r.drm = probe_drm(options.roots);
  r.xdna = probe_xdna(options.roots);
  diagnose(r, options.model_bytes);
  return r;
}

std::string format_bytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

uint64_t parse_byte_size(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  const std::string number = text.substr(0, i);
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  char* end = nullptr;
  const double v = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !(v >= 0))
    fail("size '", text, "' is not a number with an optional unit (e.g. 3.1GB, 2GiB, 4000000000)");
  double scale = 0;
  std::string u;
  for (char c : unit) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u.empty() || u == "B") scale = 1;
  else if (u == "KB") scale = 1e3;
  else if (u == "MB") scale = 1e6;
  else if (u == "GB") scale = 1e9;
  else if (u == "TB") scale = 1e12;
  else if (u == "KIB") scale = 1024.0;
  else if (u == "MIB") scale = 1024.0 * 1024;
  else if (u == "GIB") scale = 1024.0 * 1024 * 1024;
  else if (u == "TIB") scale = 1024.0 * 1024 * 1024 * 1024;
  else fail("size '", text, "' has unknown unit '", unit, "' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
  const double bytes = v * scale;
  if (bytes > 1e18) fail("size '", text, "' is absurdly large");
  return static_cast<uint64_t>(std::llround(bytes));
}

}  // namespace unicorn::hal
