#pragma once
// Where the probes read the system from: the live /sys, /dev and /proc, or a recorded tree (tests, bug reports).
#include <string>

namespace unicorn::hal {

// ProbeRoots: plain value. A recorded tree is read exactly like the live one, so every probe is testable without
// the hardware; whatever it reports is labelled with its source so a recording is never shown as this machine.
struct ProbeRoots {
  std::string sys = "/sys";
  std::string dev = "/dev";
  std::string proc = "/proc";
  // Directory of recorded DRM_IOCTL_AMDXDNA_GET_INFO answers (accelN.json); empty = ask the live driver.
  std::string ioctl_answers;

  bool sys_recorded() const { return sys != "/sys"; }
  bool dev_recorded() const { return dev != "/dev"; }
  bool proc_recorded() const { return proc != "/proc"; }
  bool recorded() const { return sys_recorded() || dev_recorded() || proc_recorded() || !ioctl_answers.empty(); }
  // "this machine" or "recorded tree (sys=..., dev=..., proc=...)".
  std::string describe() const;
};

}  // namespace unicorn::hal
