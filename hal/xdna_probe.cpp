#include "hal/xdna_probe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "hal/amdxdna_uapi.h"
#include "hal/gpu_ids.h"
#include "hal/sysfs_reader.h"

#ifdef UNICORN_HAVE_DRM
#include <xf86drm.h>
#endif

namespace unicorn::hal {
namespace {

// The live driver behind an open /dev/accel/accelN.
class LinuxXdnaIoctl final : public XdnaIoctl {
 public:
  explicit LinuxXdnaIoctl(int fd) : fd_(fd) {}
  ~LinuxXdnaIoctl() override { ::close(fd_); }
  int get_info(uint32_t param, void* buffer, uint32_t* size) override {
    amdxdna::GetInfo arg{param, *size, reinterpret_cast<uint64_t>(buffer)};
    if (::ioctl(fd_, amdxdna::kIoctlGetInfo, &arg) != 0) return errno;
    *size = arg.buffer_size;
    return 0;
  }
  int version(std::string* name, std::string* ver) override {
#ifdef UNICORN_HAVE_DRM
    drmVersionPtr v = drmGetVersion(fd_);
    if (v == nullptr) return errno != 0 ? errno : EIO;
    *name = v->name;
    *ver = str_cat(v->version_major, ".", v->version_minor, ".", v->version_patchlevel);
    drmFreeVersion(v);
    return 0;
#else
    (void)name;
    (void)ver;
    return ENOSYS;
#endif
  }

 private:
  int fd_;
};

// Recorded answers: each GET_INFO param is a JSON object (the struct's fields) or {"errno": N}.
class RecordedXdnaIoctl final : public XdnaIoctl {
 public:
  RecordedXdnaIoctl(nlohmann::json j, std::string path) : j_(std::move(j)), path_(std::move(path)) {}

  int get_info(uint32_t param, void* buffer, uint32_t* size) override {
    const char* key = param_key(param);
    if (key == nullptr || !j_.contains(key)) return EOPNOTSUPP;  // what amdxdna answers for params it lacks
    const nlohmann::json& a = j_.at(key);
    if (a.contains("errno")) return a.at("errno").get<int>();
    try {
      switch (param) {
        case amdxdna::kQueryFirmwareVersion: {
          amdxdna::FirmwareVersion v{a.at("major"), a.at("minor"), a.at("patch"), a.at("build")};
          return put(v, buffer, size);
        }
        case amdxdna::kQueryAieVersion: {
          amdxdna::AieVersion v{a.at("major"), a.at("minor")};
          return put(v, buffer, size);
        }
        case amdxdna::kQueryAieMetadata: {
          amdxdna::AieMetadata m{};
          m.col_size = a.at("col_size");
          m.cols = a.at("cols");
          m.rows = a.at("rows");
          m.version = {a.at("version").at("major"), a.at("version").at("minor")};
          m.core = tiles(a.at("core"));
          m.mem = tiles(a.at("mem"));
          m.shim = tiles(a.at("shim"));
          return put(m, buffer, size);
        }
        case amdxdna::kQueryClockMetadata: {
          amdxdna::ClockMetadata c{};
          clock(a.at("mp_npu_clock"), c.mp_npu_clock);
          clock(a.at("h_clock"), c.h_clock);
          return put(c, buffer, size);
        }
        case amdxdna::kGetPowerMode: {
          amdxdna::PowerMode p{};
          p.power_mode = a.at("power_mode");
          return put(p, buffer, size);
        }
        default: return EOPNOTSUPP;
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat("recorded answer ", key, " is malformed: ", e.what()), {path_, "", key});
    }
  }

  int version(std::string* name, std::string* ver) override {
    if (!j_.contains("version")) return ENOTTY;
    const nlohmann::json& v = j_.at("version");
    if (v.contains("errno")) return v.at("errno").get<int>();
    try {
      *name = v.at("name").get<std::string>();
      *ver = v.at("version").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat("recorded answer version is malformed: ", e.what()), {path_, "", "version"});
    }
    return 0;
  }

  static const char* param_key(uint32_t param) {
    switch (param) {
      case amdxdna::kQueryAieMetadata: return "QUERY_AIE_METADATA";
      case amdxdna::kQueryAieVersion: return "QUERY_AIE_VERSION";
      case amdxdna::kQueryClockMetadata: return "QUERY_CLOCK_METADATA";
      case amdxdna::kQueryFirmwareVersion: return "QUERY_FIRMWARE_VERSION";
      case amdxdna::kGetPowerMode: return "GET_POWER_MODE";
      default: return nullptr;
    }
  }

 private:
  template <typename T>
  static int put(const T& v, void* buffer, uint32_t* size) {
    if (*size < sizeof(T)) return EINVAL;
    std::memcpy(buffer, &v, sizeof(T));
    *size = sizeof(T);
    return 0;
  }
  static amdxdna::AieTileMetadata tiles(const nlohmann::json& t) {
    amdxdna::AieTileMetadata m{};
    m.row_count = t.at("row_count");
    m.row_start = t.at("row_start");
    m.dma_channel_count = t.at("dma_channel_count");
    m.lock_count = t.at("lock_count");
    m.event_reg_count = t.at("event_reg_count");
    return m;
  }
  static void clock(const nlohmann::json& c, amdxdna::Clock& out) {
    const std::string name = c.at("name").get<std::string>();
    std::memcpy(out.name, name.data(), std::min(name.size(), sizeof(out.name)));
    out.freq_mhz = c.at("freq_mhz");
  }

  nlohmann::json j_;
  std::string path_;
};

const char* param_name(uint32_t param) {
  switch (param) {
    case amdxdna::kQueryAieMetadata: return "QUERY_AIE_METADATA";
    case amdxdna::kQueryAieVersion: return "QUERY_AIE_VERSION";
    case amdxdna::kQueryClockMetadata: return "QUERY_CLOCK_METADATA";
    case amdxdna::kQueryFirmwareVersion: return "QUERY_FIRMWARE_VERSION";
    case amdxdna::kGetPowerMode: return "GET_POWER_MODE";
    default: return "GET_INFO";
  }
}

// One GET_INFO call into a T; the error text when the driver refused or answered short.
template <typename T>
std::optional<T> ask(XdnaIoctl& io, uint32_t param, std::vector<std::string>& errors) {
  T value{};
  uint32_t size = sizeof(T);
  const int rc = io.get_info(param, &value, &size);
  if (rc != 0) {
    errors.push_back(str_cat(param_name(param), ": ", std::strerror(rc)));
    return std::nullopt;
  }
  if (size < sizeof(T)) {
    errors.push_back(str_cat(param_name(param), ": short answer (", size, " of ", sizeof(T), " bytes)"));
    return std::nullopt;
  }
  return value;
}

std::string fixed_string(const uint8_t* s, size_t n) {
  size_t len = 0;
  while (len < n && s[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(s), len);
}

XdnaTiles tiles(const amdxdna::AieTileMetadata& t) {
  return {t.row_count, t.row_start, t.dma_channel_count, t.lock_count, t.event_reg_count};
}

}  // namespace

std::optional<XdnaGeneration> xdna_generation(uint32_t device_id, uint32_t revision) {
  if (device_id == kPciDeviceNpuPhoenix) {
    if (revision == 0x00) return XdnaGeneration{"XDNA1", "npu1", "NPU Phoenix (Phoenix / Hawk Point)", true};
    return XdnaGeneration{"XDNA1", "", str_cat("NPU Phoenix family, revision ", revision), false};
  }
  if (device_id == kPciDeviceNpuStrix) {
    switch (revision) {
      case 0x00: return XdnaGeneration{"XDNA2", "npu2", "NPU (npu2)", true};
      case 0x10: return XdnaGeneration{"XDNA2", "npu4", "NPU Strix", true};
      case 0x11: return XdnaGeneration{"XDNA2", "npu5", "NPU Strix Halo", true};
      case 0x20: return XdnaGeneration{"XDNA2", "npu6", "NPU Krackan", true};
      default: return XdnaGeneration{"XDNA2", "", str_cat("NPU Strix family, revision ", revision), false};
    }
  }
  return std::nullopt;
}

std::unique_ptr<XdnaIoctl> open_xdna_node(const std::string& path, int* err) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  *err = 0;
  return std::make_unique<LinuxXdnaIoctl>(fd);
}

std::unique_ptr<XdnaIoctl> load_recorded_xdna(const std::string& json_path) {
  const std::string text = read_text_file(json_path);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail_in({json_path, "", ""}, "recorded ioctl answers are not a JSON object");
  return std::make_unique<RecordedXdnaIoctl>(std::move(j), json_path);
}

XdnaAnswers query_xdna(XdnaIoctl& io) {
  XdnaAnswers a;
  if (const int rc = io.version(&a.driver_name, &a.driver_version); rc != 0)
    a.errors.push_back(str_cat("DRM_IOCTL_VERSION: ", std::strerror(rc)));
  if (auto fw = ask<amdxdna::FirmwareVersion>(io, amdxdna::kQueryFirmwareVersion, a.errors))
    a.firmware_version = str_cat(fw->major, ".", fw->minor, ".", fw->patch, ".", fw->build);
  if (auto m = ask<amdxdna::AieMetadata>(io, amdxdna::kQueryAieMetadata, a.errors)) {
    a.aie = XdnaAieMetadata{m->col_size,        m->cols,         m->rows,        m->version.major,
                            m->version.minor,   tiles(m->core),  tiles(m->mem),  tiles(m->shim)};
  }
  if (auto v = ask<amdxdna::AieVersion>(io, amdxdna::kQueryAieVersion, a.errors))
    a.aie_version = str_cat(v->major, ".", v->minor);
  if (auto c = ask<amdxdna::ClockMetadata>(io, amdxdna::kQueryClockMetadata, a.errors)) {
    a.clocks.push_back({fixed_string(c->mp_npu_clock.name, 16), c->mp_npu_clock.freq_mhz});
    a.clocks.push_back({fixed_string(c->h_clock.name, 16), c->h_clock.freq_mhz});
  }
  if (auto p = ask<amdxdna::PowerMode>(io, amdxdna::kGetPowerMode, a.errors)) {
    static const char* const kModes[] = {"default", "low", "medium", "high", "turbo"};
    a.power_mode = p->power_mode < 5 ? kModes[p->power_mode] : str_cat("unknown (", int(p->power_mode), ")");
  }
  return a;
}

std::optional<std::pair<int, int>> kernel_major_minor(const std::string& release) {
  int major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return std::nullopt;
  return std::make_pair(major, minor);
}

XdnaReport probe_xdna(const ProbeRoots& roots) {
  XdnaReport r;
  r.kernel_release = read_trimmed(roots.proc + "/sys/kernel/osrelease").value_or("");
  if (auto mm = kernel_major_minor(r.kernel_release)) r.kernel_has_amdxdna = *mm >= std::make_pair(6, 14);
  r.module_loaded = path_exists(roots.sys + "/module/amdxdna");
  if (!roots.recorded()) {
    for (const char* p : {"/opt/xilinx/xrt", "/usr/lib/x86_64-linux-gnu/libxrt_coreutil.so.2"}) {
      if (path_exists(p) && r.xrt.empty()) r.xrt = p;
    }
  }
  const std::string bus = roots.sys + "/bus/pci/devices";
  for (const std::string& addr : list_dir(bus)) {
    const std::string dir = bus + "/" + addr;
    if (read_number(dir + "/vendor").value_or(0) != kPciVendorAmdCpu) continue;
    const uint32_t device = static_cast<uint32_t>(read_number(dir + "/device").value_or(0));
    if (device != kPciDeviceNpuPhoenix && device != kPciDeviceNpuStrix) continue;
    XdnaNpu npu;
    npu.pci_address = addr;
    npu.vendor_id = kPciVendorAmdCpu;
    npu.device_id = device;
    npu.revision = static_cast<uint32_t>(read_number(dir + "/revision").value_or(0));
    npu.generation = xdna_generation(device, npu.revision);
    npu.driver = link_basename(dir + "/driver");
    if (npu.driver.empty()) npu.driver = uevent_value(dir + "/uevent", "DRIVER");
    for (const std::string& node : list_dir(dir + "/accel")) {
      if (node.rfind("accel", 0) == 0 && npu.accel_node.empty()) npu.accel_node = roots.dev + "/accel/" + node;
    }
    if (npu.accel_node.empty()) {
      npu.query_error = npu.driver.empty() ? "no driver is bound to the NPU, so there is no accel node"
                                           : str_cat("driver ", npu.driver, " made no accel node");
    } else {
      npu.access = check_node(npu.accel_node);
      const std::string node_name = npu.accel_node.substr(npu.accel_node.rfind('/') + 1);
      try {
        std::unique_ptr<XdnaIoctl> io;
        if (!roots.ioctl_answers.empty()) {
          const std::string file = roots.ioctl_answers + "/" + node_name + ".json";
          if (path_exists(file)) {
            io = load_recorded_xdna(file);
            npu.query_source = "recorded answers " + file;
          } else {
            npu.query_error = "no recorded answers at " + file;
          }
        } else if (!npu.access.exists) {
          npu.query_error = npu.accel_node + " does not exist";
        } else if (!npu.access.char_device) {
          npu.query_error = npu.accel_node + " is not a character device (recorded tree without recorded answers)";
        } else {
          int err = 0;
          io = open_xdna_node(npu.accel_node, &err);
          if (io) npu.query_source = "driver ioctl on " + npu.accel_node;
          else npu.query_error = str_cat("cannot open ", npu.accel_node, ": ", std::strerror(err));
        }
        if (io) npu.answers = query_xdna(*io);
      } catch (const Error& e) {
        npu.query_error = e.what();
      }
    }
    r.npus.push_back(std::move(npu));
  }
  return r;
}

}  // namespace unicorn::hal
