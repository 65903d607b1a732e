#pragma once
// The AMD XDNA NPU: PCI function, generation, amdxdna driver binding, accel node and the driver's own answers.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hal/device_node.h"
#include "hal/probe_roots.h"

namespace unicorn::hal {

inline constexpr uint32_t kPciDeviceNpuPhoenix = 0x1502;  // vendor 0x1022; Phoenix and Hawk Point (XDNA1)
inline constexpr uint32_t kPciDeviceNpuStrix = 0x17f0;    // vendor 0x1022; Strix, Strix Halo, Krackan (XDNA2)

// What amdxdna_pci_drv.c and Documentation/accel/amdxdna/amdnpu.rst say about one PCI id + revision.
struct XdnaGeneration {
  std::string generation;  // "XDNA1" / "XDNA2"
  std::string npu;         // driver's device name: "npu1", "npu4", ...
  std::string product;     // "NPU Phoenix", "NPU Strix", ...
  bool driver_supports = false;  // the in-tree amdxdna binds this id/revision
};
std::optional<XdnaGeneration> xdna_generation(uint32_t device_id, uint32_t revision);

// Decoded DRM_IOCTL_AMDXDNA_GET_INFO answers; each part is absent when the driver refused it (see errors).
struct XdnaClock {
  std::string name;
  uint32_t freq_mhz = 0;
};
struct XdnaTiles {
  uint16_t row_count = 0, row_start = 0, dma_channel_count = 0, lock_count = 0, event_reg_count = 0;
};
struct XdnaAieMetadata {
  uint32_t col_size = 0;
  uint16_t cols = 0, rows = 0;
  uint32_t version_major = 0, version_minor = 0;
  XdnaTiles core, mem, shim;
};
struct XdnaAnswers {
  std::string driver_name;     // DRM_IOCTL_VERSION: "amdxdna_accel_driver"
  std::string driver_version;  // "major.minor.patch"
  std::optional<std::string> firmware_version;  // "1.5.2.380"
  std::optional<XdnaAieMetadata> aie;
  std::optional<std::string> aie_version;  // QUERY_AIE_VERSION "2.0"
  std::vector<XdnaClock> clocks;
  std::optional<std::string> power_mode;  // "default", "low", "medium", "high", "turbo"
  std::vector<std::string> errors;        // "QUERY_FIRMWARE_VERSION: Invalid argument"
};

// XdnaIoctl: the driver's query surface for one open accel node; not thread-safe; each call is one ioctl.
// Tests and recorded trees implement it with recorded answers.
class XdnaIoctl {
 public:
  virtual ~XdnaIoctl() = default;
  // DRM_IOCTL_AMDXDNA_GET_INFO: on entry *size is the buffer's size; on success the driver sets *size. Returns 0
  // or a positive errno.
  virtual int get_info(uint32_t param, void* buffer, uint32_t* size) = 0;
  // DRM_IOCTL_VERSION. Returns 0 or a positive errno.
  virtual int version(std::string* name, std::string* version) = 0;
};

// Opens /dev/accel/accelN read-write. nullptr with *err set (errno) when it cannot be opened.
std::unique_ptr<XdnaIoctl> open_xdna_node(const std::string& path, int* err);
// Recorded answers (JSON, documented in tests/data/probe/README.md), encoded into the kernel's struct layouts so the
// same decoding runs as against the live driver. Throws Error naming the file when it is malformed.
std::unique_ptr<XdnaIoctl> load_recorded_xdna(const std::string& json_path);
// Asks firmware version, AIE metadata/version, clocks and power mode; refusals land in answers.errors.
XdnaAnswers query_xdna(XdnaIoctl& io);

// XdnaNpu: plain value for one NPU PCI function.
struct XdnaNpu {
  std::string pci_address;
  uint32_t vendor_id = 0, device_id = 0, revision = 0;
  std::optional<XdnaGeneration> generation;
  std::string driver;      // bound driver ("amdxdna"); empty = none bound
  std::string accel_node;  // "<dev>/accel/accel0"; empty when no driver made one
  NodeAccess access;
  std::string query_source;  // "driver ioctl", "recorded answers FILE", or empty when not queried
  std::string query_error;   // why the driver was not or could not be asked
  std::optional<XdnaAnswers> answers;
};

struct XdnaReport {
  std::string kernel_release;        // "6.14.0-arch1"
  std::optional<bool> kernel_has_amdxdna;  // release >= 6.14 (in-tree driver); nullopt when unknown
  bool module_loaded = false;        // <sys>/module/amdxdna exists
  std::string xrt;                   // XRT install found (path), empty when none
  std::vector<XdnaNpu> npus;
};

// Finds NPUs as PCI functions (so one without a bound driver is still reported) and their accel nodes; queries each
// node through open_xdna_node (live) or the recorded answers in roots.ioctl_answers. Never throws.
XdnaReport probe_xdna(const ProbeRoots& roots);

// Parses "6.14.0-foo" -> (6, 14); nullopt when not a version.
std::optional<std::pair<int, int>> kernel_major_minor(const std::string& release);

}  // namespace unicorn::hal
