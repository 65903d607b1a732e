#pragma once
// What the CPU and its memory offer: vendor, cores, the ISA features the kernels use, RAM and the memlock limit.
#include <cstdint>
#include <optional>
#include <string>

#include "hal/probe_roots.h"

namespace unicorn::hal {

// ISA features that matter for the CPU kernels. Each is true only when the CPU has it AND the OS enabled the
// register state for it (XCR0), because an instruction the OS does not save across context switches is unusable.
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false, avx512_bf16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
};

// A resource limit: unknown, unlimited, or a byte count.
struct ByteLimit {
  bool known = false;
  bool unlimited = false;
  uint64_t bytes = 0;
};

// CpuInfo: plain value filled once by probe_cpu().
struct CpuInfo {
  std::string source;  // "cpuid + /proc of this machine" or "recorded <proc>/cpuinfo"
  std::string vendor;
  std::string model_name;
  int logical_cores = 0;   // 0 = unknown
  int physical_cores = 0;  // 0 = unknown
  CpuFeatures features;
  std::optional<uint64_t> ram_total_bytes;
  std::optional<uint64_t> ram_available_bytes;
  ByteLimit memlock;  // soft RLIMIT_MEMLOCK: how much this process may pin (the NPU driver pins its buffers)
};

// Facts parsed from /proc/cpuinfo text.
struct CpuinfoText {
  std::string vendor;
  std::string model_name;
  int logical_cores = 0;
  int physical_cores = 0;
  CpuFeatures flags;  // from the "flags" line (the kernel lists only features it enabled)
};
CpuinfoText parse_cpuinfo(const std::string& text);
// MemTotal / MemAvailable in bytes from /proc/meminfo text.
void parse_meminfo(const std::string& text, std::optional<uint64_t>& total, std::optional<uint64_t>& available);
// "Max locked memory" soft limit from /proc/<pid>/limits text.
ByteLimit parse_limits_memlock(const std::string& text);

// Live: cpuid/xgetbv for vendor, brand and features, getrlimit for memlock, <proc>/cpuinfo for core counts and
// <proc>/meminfo for RAM. Recorded (roots.proc_recorded()): everything from <proc>/cpuinfo, meminfo, self/limits.
// Never throws; unknown facts stay unknown.
CpuInfo probe_cpu(const ProbeRoots& roots);

}  // namespace unicorn::hal
