#pragma once
// `unicorn probe` as data: every device fact, the problems found with their remedies, and the plan for a model.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hal/cpu_info.h"
#include "hal/drm_probe.h"
#include "hal/probe_roots.h"
#include "hal/vulkan_probe.h"
#include "hal/xdna_probe.h"

namespace unicorn::hal {

// Version of the JSON document written by report_to_json (docs/PROBE.md); bumped on any incompatible change.
inline constexpr int kProbeSchemaVersion = 1;

struct ProbeProblem {
  std::string severity;  // "error" (something present does not work), "warning", "info"
  std::string code;      // stable id for scripts: "no_vulkan_loader", "render_node_denied", ...
  std::string what;      // plain words
  std::string remedy;    // what to change; empty when nothing can be done
};

// How much of a model of model_bytes fits in one memory pool.
struct MemoryFit {
  std::string pool;    // "VRAM", "GTT", "RAM", "Vulkan heap"
  std::string device;  // which GPU (empty for RAM)
  uint64_t capacity = 0;  // bytes free for the model now (total minus used, or the Vulkan budget)
  uint64_t total = 0;     // bytes in the pool
  bool fits = false;
  double fraction = 0;  // share of the model that fits, 0..1
  std::string note;
};

struct ProbePlan {
  std::string run_device;           // the device `unicorn run` would use in this build: "cpu"
  std::vector<std::string> notes;   // which part runs where and why, plain words
  std::optional<uint64_t> model_bytes;
  std::vector<MemoryFit> fits;
};

// ProbeReport: plain value built once by run_probe(); not thread-safe to mutate.
struct ProbeReport {
  std::string source;  // "this machine" or "recorded tree (...)"
  CpuInfo cpu;
  VulkanReport vulkan;
  DrmReport drm;
  XdnaReport xdna;
  std::vector<ProbeProblem> problems;
  ProbePlan plan;

  // --require: "cpu", "vulkan" (any Vulkan device, software included), "gpu" (a hardware GPU: a non-CPU Vulkan
  // device, or when Vulkan was not probed a GPU whose driver is bound and render node is usable), "npu" (an NPU
  // bound to amdxdna whose accel node this user can open and whose driver answered). Throws Error otherwise.
  bool has(std::string_view what) const;
};

struct ProbeOptions {
  ProbeRoots roots;
  std::optional<uint64_t> model_bytes;
  // Vulkan is always live (it goes through the loader), so it is skipped for recorded trees.
  bool vulkan = true;
};

// The DRM GPU at a Vulkan device's PCI address (VK_EXT_pci_bus_info), or nullptr when unknown or absent.
const DrmGpu* drm_gpu_for(const ProbeReport& report, const VulkanDevice& device);

// Probes everything (tens of milliseconds, mostly Vulkan driver loading), then diagnose(). Never throws for missing
// hardware; only for malformed recorded input.
ProbeReport run_probe(const ProbeOptions& options);

// Fills problems and plan from the facts already in the report. Pure; tests call it on hand-built facts.
void diagnose(ProbeReport& report, std::optional<uint64_t> model_bytes);

// The versioned JSON document described in docs/PROBE.md.
nlohmann::json report_to_json(const ProbeReport& report);

// "3.1GB" (decimal units KB/MB/GB/TB), "2GiB" (binary KiB/MiB/GiB/TiB) or a plain byte count. Throws Error.
uint64_t parse_byte_size(const std::string& text);
// "3.10 GB" style rendering (decimal), used in human output.
std::string format_bytes(uint64_t bytes);

}  // namespace unicorn::hal
