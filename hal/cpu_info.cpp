#include "hal/cpu_info.h"

#include <sys/resource.h>

#include <cstring>
#include <set>
#include <sstream>
#include <utility>

#include "hal/sysfs_reader.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define UNICORN_X86 1
#endif

namespace unicorn::hal {
namespace {

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, e - b + 1);
}

#ifdef UNICORN_X86
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};
Regs cpuid(unsigned leaf, unsigned sub = 0) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}
uint64_t xgetbv0() {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

void cpuid_facts(CpuInfo& info) {
  const unsigned max_leaf = __get_cpuid_max(0, nullptr);
  Regs v = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor, &v.b, 4);
  std::memcpy(vendor + 4, &v.d, 4);
  std::memcpy(vendor + 8, &v.c, 4);
  info.vendor = vendor;
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      Regs r = cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &r, 16);
    }
    info.model_name = trim(brand);
  }
  if (max_leaf < 7) return;
  const Regs l1 = cpuid(1);
  const Regs l7 = cpuid(7, 0);
  const Regs l7_1 = l7.a >= 1 ? cpuid(7, 1) : Regs{};  // leaf 7 EAX = highest sub-leaf
  const bool osxsave = (l1.c >> 27) & 1;
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask + ZMM_Hi256 + Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;    // XTILECFG + XTILEDATA
  CpuFeatures& f = info.features;
  f.fma = os_avx && ((l1.c >> 12) & 1);
  f.f16c = os_avx && ((l1.c >> 29) & 1);
  f.avx2 = os_avx && ((l7.b >> 5) & 1);
  f.avx512f = os_avx512 && ((l7.b >> 16) & 1);
  f.avx512bw = os_avx512 && ((l7.b >> 30) & 1);
  f.avx512vl = os_avx512 && ((l7.b >> 31) & 1);
  f.avx512_vnni = os_avx512 && ((l7.c >> 11) & 1);
  f.avx512_bf16 = os_avx512 && ((l7_1.a >> 5) & 1);
  f.amx_bf16 = os_amx && ((l7.d >> 22) & 1);
  f.amx_tile = os_amx && ((l7.d >> 24) & 1);
  f.amx_int8 = os_amx && ((l7.d >> 25) & 1);
}
#endif

}  // namespace

CpuinfoText parse_cpuinfo(const std::string& text) {
  CpuinfoText out;
  std::istringstream in(text);
  std::string line;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical_id;
  bool have_topology = false;
  bool flags_seen = false;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "processor") {
      ++out.logical_cores;
    } else if (key == "vendor_id" && out.vendor.empty()) {
      out.vendor = value;
    } else if (key == "model name" && out.model_name.empty()) {
      out.model_name = value;
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      cores.insert({physical_id, value});
      have_topology = true;
    } else if (key == "flags" && !flags_seen) {
      flags_seen = true;
      std::istringstream fl(value);
      std::string flag;
      CpuFeatures& f = out.flags;
      while (fl >> flag) {
        if (flag == "avx2") f.avx2 = true;
        else if (flag == "fma") f.fma = true;
        else if (flag == "f16c") f.f16c = true;
        else if (flag == "avx512f") f.avx512f = true;
        else if (flag == "avx512bw") f.avx512bw = true;
        else if (flag == "avx512vl") f.avx512vl = true;
        else if (flag == "avx512_vnni") f.avx512_vnni = true;
        else if (flag == "avx512_bf16") f.avx512_bf16 = true;
        else if (flag == "amx_tile") f.amx_tile = true;
        else if (flag == "amx_int8") f.amx_int8 = true;
        else if (flag == "amx_bf16") f.amx_bf16 = true;
      }
    }
  }
  if (have_topology) out.physical_cores = static_cast<int>(cores.size());
  return out;
}

void parse_meminfo(const std::string& text, std::optional<uint64_t>& total, std::optional<uint64_t>& available) {
  std::istringstream in(text);
  std::string key;
  uint64_t value;
  std::string unit;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (!(ls >> key >> value)) continue;
    ls >> unit;
    const uint64_t scale = unit == "kB" ? 1024 : 1;
    if (key == "MemTotal:") total = value * scale;
    else if (key == "MemAvailable:") available = value * scale;
  }
}

ByteLimit parse_limits_memlock(const std::string& text) {
  ByteLimit lim;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max locked memory", 0) != 0) continue;
    std::istringstream ls(line.substr(std::strlen("Max locked memory")));
    std::string soft;
    if (!(ls >> soft)) break;
    if (soft == "unlimited") {
      lim.known = lim.unlimited = true;
    } else if (auto n = parse_number(soft)) {
      lim.known = true;
      lim.bytes = *n;
    }
    break;
  }
  return lim;
}

CpuInfo probe_cpu(const ProbeRoots& roots) {
  CpuInfo info;
  const CpuinfoText text = parse_cpuinfo(read_trimmed(roots.proc + "/cpuinfo").value_or(""));
  info.logical_cores = text.logical_cores;
  info.physical_cores = text.physical_cores;
  if (roots.proc_recorded()) {
    info.source = "recorded " + roots.proc + "/cpuinfo";
    info.vendor = text.vendor;
    info.model_name = text.model_name;
    info.features = text.flags;
    info.memlock = parse_limits_memlock(read_trimmed(roots.proc + "/self/limits").value_or(""));
  } else {
#ifdef UNICORN_X86
    info.source = "cpuid and /proc of this machine";
    cpuid_facts(info);
#else
    info.source = "/proc of this machine";
    info.vendor = text.vendor;
    info.model_name = text.model_name;
    info.features = text.flags;
#endif
    struct rlimit rl {};
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
      info.memlock.known = true;
      info.memlock.unlimited = rl.rlim_cur == RLIM_INFINITY;
      info.memlock.bytes = info.memlock.unlimited ? 0 : static_cast<uint64_t>(rl.rlim_cur);
    }
  }
  parse_meminfo(read_trimmed(roots.proc + "/meminfo").value_or(""), info.ram_total_bytes, info.ram_available_bytes);
  return info;
}

}  // namespace unicorn::hal
