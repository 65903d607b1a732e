// `unicorn probe`: flags and printing only; the facts, problems and plan come from hal/probe_report.h.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "base/error.h"
#include "cli/commands.h"
#include "cli/parse.h"
#include "hal/probe_report.h"

namespace unicorn::cli {
namespace {

namespace po = boost::program_options;
using hal::format_bytes;

const char* yes_no(bool b) { return b ? "yes" : "no"; }

std::string hex(uint32_t v, int width) {
  char b[16];
  std::snprintf(b, sizeof b, "%0*x", width, v);
  return b;
}

// Size of a model file, or of the weight files of a HuggingFace directory.
uint64_t model_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path);
  if (!fs::is_directory(path, ec)) fail_in({path, "", ""}, "model not found");
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(path)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".safetensors" || ext == ".gguf" || ext == ".ucn")) total += e.file_size();
  }
  if (total == 0) fail_in({path, "", ""}, "directory holds no .safetensors, .gguf or .ucn file");
  return total;
}

void print_cpu(const hal::CpuInfo& c) {
  std::printf("CPU  (%s)\n", c.source.c_str());
  std::printf("  %s  [%s]\n", c.model_name.empty() ? "(model unknown)" : c.model_name.c_str(), c.vendor.c_str());
  std::printf("  cores: %d physical, %d logical\n", c.physical_cores, c.logical_cores);
  const hal::CpuFeatures& f = c.features;
  const std::pair<const char*, bool> feats[] = {
      {"AVX2", f.avx2},           {"FMA", f.fma},           {"F16C", f.f16c},         {"AVX512F", f.avx512f},
      {"AVX512BW", f.avx512bw},   {"AVX512VL", f.avx512vl}, {"AVX512_VNNI", f.avx512_vnni},
      {"AVX512_BF16", f.avx512_bf16}, {"AMX_TILE", f.amx_tile}, {"AMX_INT8", f.amx_int8}, {"AMX_BF16", f.amx_bf16}};
  std::string have, lack;
  for (const auto& [name, on] : feats) (on ? have : lack) += std::string(" ") + name;
  std::printf("  ISA:%s\n  not available:%s\n", have.empty() ? " (none of the listed)" : have.c_str(),
              lack.empty() ? " (none)" : lack.c_str());
  std::printf("  RAM: %s total, %s available\n",
              c.ram_total_bytes ? format_bytes(*c.ram_total_bytes).c_str() : "unknown",
              c.ram_available_bytes ? format_bytes(*c.ram_available_bytes).c_str() : "unknown");
  std::printf("  memlock limit: %s\n\n", !c.memlock.known       ? "unknown"
                                         : c.memlock.unlimited ? "unlimited"
                                                               : format_bytes(c.memlock.bytes).c_str());
}

void print_vulkan(const hal::ProbeReport& r) {
  const hal::VulkanReport& v = r.vulkan;
  std::printf("Vulkan  (%s%s)\n", v.status.c_str(),
              v.instance_version.empty() ? "" : (", instance " + v.instance_version).c_str());
  if (!v.detail.empty()) std::printf("  %s\n", v.detail.c_str());
  if (v.status != "not-probed") {
    std::string m;
    for (const std::string& f : v.icd_manifests) m += " " + f;
    std::printf("  driver manifests:%s\n", m.empty() ? " none" : m.c_str());
  }
  if (v.status == "ok" && v.devices.empty()) std::printf("  no devices\n");
  for (size_t i = 0; i < v.devices.size(); ++i) {
    const hal::VulkanDevice& d = v.devices[i];
    std::printf("  [%zu] %s  (%s%s)\n", i, d.name.c_str(), d.type.c_str(), d.type == "cpu" ? ", software" : "");
    std::printf("      vendor 0x%s device 0x%s; driver %s (%s) version %s; API %s\n", hex(d.vendor_id, 4).c_str(),
                hex(d.device_id, 4).c_str(), d.driver_name.c_str(), d.driver_info.c_str(), d.driver_version.c_str(),
                d.api_version.c_str());
    for (size_t h = 0; h < d.heaps.size(); ++h) {
      const hal::VulkanHeap& heap = d.heaps[h];
      std::printf("      heap %zu: %s%s", h, format_bytes(heap.size).c_str(), heap.device_local ? " device-local" : "");
      if (heap.budget) std::printf(", budget %s, used %s", format_bytes(*heap.budget).c_str(), format_bytes(heap.usage.value_or(0)).c_str());
      std::printf("\n");
    }
    if (!d.memory_budget) std::printf("      (no VK_EXT_memory_budget: budgets unknown)\n");
    std::printf("      subgroup %u (range %u..%u); float16 %s; int8 %s; 8-bit storage %s; 16-bit storage %s\n",
                d.subgroup_size, d.min_subgroup_size, d.max_subgroup_size, yes_no(d.shader_float16),
                yes_no(d.shader_int8), yes_no(d.storage_buffer_8bit), yes_no(d.storage_buffer_16bit));
    std::printf("      integer dot product %s (4x8-bit accelerated %s); max shared memory %s; UMA %s; PCI %s\n",
                yes_no(d.integer_dot_product), yes_no(d.integer_dot_product_8bit_accelerated),
                format_bytes(d.max_shared_memory).c_str(), yes_no(d.uma), d.pci ? d.pci->str().c_str() : "unknown");
    std::printf("      float atomic add %s (split-K prefill); transfer-only queue %s (uploads on a copy engine)\n",
                yes_no(d.float_atomic_add), yes_no(d.transfer_queue));
    if (const hal::DrmGpu* g = hal::drm_gpu_for(r, d))
      std::printf("      is the DRM GPU at %s (%s)\n", g->pci_address.c_str(), g->display_name().c_str());
    if (!d.cooperative_matrix) {
      std::printf("      cooperative matrix (VK_KHR_cooperative_matrix): no\n");
    } else {
      std::printf("      cooperative matrix shapes:");
      for (const auto& s : d.cooperative_matrix_shapes)
        std::printf(" %ux%ux%u %s*%s+%s->%s (%s);", s.m, s.n, s.k, s.a_type.c_str(), s.b_type.c_str(), s.c_type.c_str(),
                    s.result_type.c_str(), s.scope.c_str());
      std::printf("\n");
    }
  }
  std::printf("\n");
}

void print_drm(const hal::DrmReport& r) {
  std::printf("GPUs  (%s)\n", r.source.c_str());
  if (!r.note.empty()) std::printf("  %s\n", r.note.c_str());
  if (r.gpus.empty()) std::printf("  none: no display-class PCI device\n");
  for (const hal::DrmGpu& g : r.gpus) {
    std::printf("  %s  %s  [%s:%s rev %s]", g.pci_address.c_str(), g.display_name().c_str(), hex(g.vendor_id, 4).c_str(),
                hex(g.device_id, 4).c_str(), hex(g.revision, 2).c_str());
    if (g.amd) std::printf("  %s, %s, %s", g.amd->family.c_str(), g.amd->gfx_target.c_str(), g.integrated ? "integrated" : "discrete");
    std::printf("\n      driver %s%s%s", g.driver.empty() ? "(none bound)" : g.driver.c_str(),
                g.driver_version.empty() ? "" : " ", g.driver_version.c_str());
    if (!g.render_node.empty())
      std::printf("; render node %s (%s)", g.render_node.c_str(),
                  !g.render_access.exists ? "missing" : g.render_access.ok() ? "read/write ok" : "NO ACCESS");
    std::printf("\n");
    if (g.vram_total)
      std::printf("      VRAM %s (used %s, CPU-visible %s)\n", format_bytes(*g.vram_total).c_str(),
                  g.vram_used ? format_bytes(*g.vram_used).c_str() : "?",
                  g.vis_vram_total ? format_bytes(*g.vis_vram_total).c_str() : "?");
    if (g.gtt_total)
      std::printf("      GTT %s (used %s)\n", format_bytes(*g.gtt_total).c_str(),
                  g.gtt_used ? format_bytes(*g.gtt_used).c_str() : "?");
  }
  std::printf("\n");
}

void print_xdna(const hal::XdnaReport& x) {
  std::printf("NPU  (kernel %s; amdxdna module %s; XRT %s)\n", x.kernel_release.empty() ? "unknown" : x.kernel_release.c_str(),
              x.module_loaded ? "loaded" : "not loaded", x.xrt.empty() ? "not found" : x.xrt.c_str());
  if (x.npus.empty()) std::printf("  none: no AMD XDNA PCI device (1022:1502 or 1022:17f0)\n");
  for (const hal::XdnaNpu& n : x.npus) {
    std::printf("  %s  %s  [%s:%s rev %s]  %s%s\n", n.pci_address.c_str(), n.generation ? n.generation->product.c_str() : "NPU",
                hex(n.vendor_id, 4).c_str(), hex(n.device_id, 4).c_str(), hex(n.revision, 2).c_str(),
                n.generation ? n.generation->generation.c_str() : "",
                n.generation && !n.generation->npu.empty() ? (" (" + n.generation->npu + ")").c_str() : "");
    std::printf("      driver %s", n.driver.empty() ? "(none bound)" : n.driver.c_str());
    if (!n.accel_node.empty())
      std::printf("; node %s (%s)", n.accel_node.c_str(),
                  !n.access.exists ? "missing" : n.access.ok() ? "read/write ok" : "NO ACCESS");
    std::printf("\n");
    if (!n.query_error.empty()) std::printf("      driver not queried: %s\n", n.query_error.c_str());
    if (n.answers) {
      const hal::XdnaAnswers& a = *n.answers;
      std::printf("      from %s:\n", n.query_source.c_str());
      if (!a.driver_name.empty()) std::printf("        driver %s %s\n", a.driver_name.c_str(), a.driver_version.c_str());
      if (a.firmware_version) std::printf("        firmware %s\n", a.firmware_version->c_str());
      if (a.aie)
        std::printf("        AIE array %u columns x %u rows (core tiles %u rows from row %u, memory tiles %u, shim %u), "
                    "AIE version %u.%u\n",
                    a.aie->cols, a.aie->rows, a.aie->core.row_count, a.aie->core.row_start, a.aie->mem.row_count,
                    a.aie->shim.row_count, a.aie->version_major, a.aie->version_minor);
      for (const hal::XdnaClock& c : a.clocks) std::printf("        clock %s: %u MHz\n", c.name.c_str(), c.freq_mhz);
      if (a.power_mode) std::printf("        power mode %s\n", a.power_mode->c_str());
      for (const std::string& e : a.errors) std::printf("        refused: %s\n", e.c_str());
    }
  }
  std::printf("\n");
}

void print_report(const hal::ProbeReport& r) {
  if (r.source == "this machine") std::printf("unicorn probe  (source: this machine)\n\n");
  else std::printf("unicorn probe  (source: %s -- a recording, NOT this machine)\n\n", r.source.c_str());
  print_cpu(r.cpu);
  print_vulkan(r);
  print_drm(r.drm);
  print_xdna(r.xdna);
  std::printf("Problems\n");
  if (r.problems.empty()) std::printf("  none\n");
  for (const hal::ProbeProblem& p : r.problems) {
    std::printf("  [%s] %s\n", p.severity.c_str(), p.what.c_str());
    if (!p.remedy.empty()) std::printf("      fix: %s\n", p.remedy.c_str());
  }
  std::printf("\nPlan\n  unicorn run would use: %s\n", r.plan.run_device.c_str());
  for (const std::string& n : r.plan.notes) std::printf("  - %s\n", n.c_str());
  if (r.plan.model_bytes) {
    std::printf("  a model of %s (%llu bytes):\n", format_bytes(*r.plan.model_bytes).c_str(),
                static_cast<unsigned long long>(*r.plan.model_bytes));
    for (const hal::MemoryFit& f : r.plan.fits) {
      std::printf("    %-11s %s%s%s: %s free of %s -> %s\n", f.pool.c_str(), f.device.empty() ? "" : "(",
                  f.device.c_str(), f.device.empty() ? "" : ")", format_bytes(f.capacity).c_str(),
                  format_bytes(f.total).c_str(),
                  f.fits ? "fits" : ("does not fit, " + std::to_string(static_cast<int>(f.fraction * 100)) + "% would").c_str());
    }
  }
  std::printf("\navailable: cpu %s, vulkan %s, gpu %s, npu %s\n", yes_no(r.has("cpu")), yes_no(r.has("vulkan")),
              yes_no(r.has("gpu")), yes_no(r.has("npu")));
}

}  // namespace

int cmd_probe(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: unicorn probe [options]\n\n"
      "Shows the CPU, Vulkan devices, GPUs (DRM/amdgpu) and the AMD XDNA NPU here, every problem found with its\n"
      "remedy, and which device `unicorn run` would use. Exit status: 0 ok, 3 when --require names a missing\n"
      "device, 1 on internal failure.\n\noptions");
  std::string require, sysfs_root, dev_root, proc_root, root, ioctl_answers, model_size, model_file;
  opts.add_options()("help,h", "show this help")("json", "print the JSON document of docs/PROBE.md instead of text")(
      "require", po::value(&require), "cpu|vulkan|gpu|npu: exit 3 when that device is missing")(
      "model-size", po::value(&model_size), "plan for a model of this size (3.1GB, 2GiB, bytes)")(
      "model,m", po::value(&model_file), "plan for this model file (its size; for a directory its weight files)")(
      "sysfs-root", po::value(&sysfs_root), "read this directory instead of /sys (a recorded tree)")(
      "dev-root", po::value(&dev_root), "read this directory instead of /dev")(
      "proc-root", po::value(&proc_root), "read this directory instead of /proc (cpuinfo, meminfo, self/limits)")(
      "ioctl-answers", po::value(&ioctl_answers), "recorded NPU driver answers (accelN.json) instead of the driver")(
      "root", po::value(&root), "a recorded machine: DIR/sys, DIR/dev, DIR/proc and DIR/ioctl where they exist")(
      "no-vulkan", "do not load the Vulkan loader");
  po::variables_map vm;
  if (parse_or_print_help(args, opts, vm)) return kExitOk;
  if (!require.empty() && require != "cpu" && require != "vulkan" && require != "gpu" && require != "npu")
    throw po::error("--require must be cpu, vulkan, gpu or npu, not '" + require + "'");
  if (!model_size.empty() && !model_file.empty()) throw po::error("give either --model-size or -m, not both");

  hal::ProbeOptions options;
  if (!root.empty()) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(root)) fail_in({root, "", ""}, "--root is not a directory");
    if (fs::is_directory(root + "/sys")) options.roots.sys = root + "/sys";
    if (fs::is_directory(root + "/dev")) options.roots.dev = root + "/dev";
    if (fs::is_directory(root + "/proc")) options.roots.proc = root + "/proc";
    if (fs::is_directory(root + "/ioctl")) options.roots.ioctl_answers = root + "/ioctl";
    if (!options.roots.recorded()) fail_in({root, "", ""}, "--root has none of sys/, dev/, proc/, ioctl/");
  }
  if (!sysfs_root.empty()) options.roots.sys = sysfs_root;
  if (!dev_root.empty()) options.roots.dev = dev_root;
  if (!proc_root.empty()) options.roots.proc = proc_root;
  if (!ioctl_answers.empty()) options.roots.ioctl_answers = ioctl_answers;
  for (const std::string* dir : {&sysfs_root, &dev_root, &proc_root, &ioctl_answers}) {
    if (!dir->empty() && !std::filesystem::is_directory(*dir)) fail_in({*dir, "", ""}, "not a directory");
  }
  if (!model_size.empty()) options.model_bytes = hal::parse_byte_size(model_size);
  if (!model_file.empty()) options.model_bytes = model_file_bytes(model_file);
  options.vulkan = !vm.count("no-vulkan");

  const hal::ProbeReport report = hal::run_probe(options);
  if (vm.count("json")) std::cout << hal::report_to_json(report).dump(2) << "\n";
  else print_report(report);
  std::cout.flush();
  if (!require.empty() && !report.has(require)) {
    std::fprintf(stderr, "unicorn probe: required device '%s' is missing (see the problems above)\n", require.c_str());
    return kExitMissing;
  }
  return kExitOk;
}

}  // namespace unicorn::cli
