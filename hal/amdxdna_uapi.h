#pragma once
// The parts of the amdxdna kernel ABI that probe uses, written from the documented UAPI
// (include/uapi/drm/amdxdna_accel.h, Linux >= 6.14). Layouts are fixed by the kernel; the static_asserts pin them.
#include <sys/ioctl.h>

#include <cstdint>

namespace unicorn::hal::amdxdna {

// DRM ioctls are 'd' type, driver-private numbers start at DRM_COMMAND_BASE (0x40).
inline constexpr unsigned kDrmIoctlType = 'd';
inline constexpr unsigned kDrmCommandBase = 0x40;
inline constexpr unsigned kCmdGetInfo = 7;

// GET_INFO params.
inline constexpr uint32_t kQueryAieStatus = 0;
inline constexpr uint32_t kQueryAieMetadata = 1;
inline constexpr uint32_t kQueryAieVersion = 2;
inline constexpr uint32_t kQueryClockMetadata = 3;
inline constexpr uint32_t kQuerySensors = 4;
inline constexpr uint32_t kQueryHwContexts = 5;
inline constexpr uint32_t kQueryFirmwareVersion = 8;
inline constexpr uint32_t kGetPowerMode = 9;

struct GetInfo {
  uint32_t param;
  uint32_t buffer_size;  // in: our buffer's size; out: what the driver needs/wrote
  uint64_t buffer;       // user pointer
};
static_assert(sizeof(GetInfo) == 16);

struct AieVersion {
  uint32_t major, minor;
};
static_assert(sizeof(AieVersion) == 8);

struct AieTileMetadata {
  uint16_t row_count, row_start, dma_channel_count, lock_count, event_reg_count;
  uint16_t pad[3];
};
static_assert(sizeof(AieTileMetadata) == 16);

struct AieMetadata {
  uint32_t col_size;  // bytes of one column
  uint16_t cols, rows;
  AieVersion version;
  AieTileMetadata core, mem, shim;
};
static_assert(sizeof(AieMetadata) == 64);

struct Clock {
  uint8_t name[16];
  uint32_t freq_mhz;
  uint32_t pad;
};
static_assert(sizeof(Clock) == 24);

struct ClockMetadata {
  Clock mp_npu_clock;
  Clock h_clock;
};
static_assert(sizeof(ClockMetadata) == 48);

struct FirmwareVersion {
  uint32_t major, minor, patch, build;
};
static_assert(sizeof(FirmwareVersion) == 16);

struct PowerMode {
  uint8_t power_mode;  // 0 default, 1 low, 2 medium, 3 high, 4 turbo
  uint8_t pad[7];
};
static_assert(sizeof(PowerMode) == 8);

inline constexpr unsigned long kIoctlGetInfo = _IOWR(kDrmIoctlType, kDrmCommandBase + kCmdGetInfo, GetInfo);

}  // namespace unicorn::hal::amdxdna
