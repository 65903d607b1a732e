#include "hal/probe_roots.h"

namespace unicorn::hal {

std::string ProbeRoots::describe() const {
  if (!recorded()) return "this machine";
  std::string s = "recorded tree (sys=" + sys + ", dev=" + dev + ", proc=" + proc;
  if (!ioctl_answers.empty()) s += ", ioctl answers=" + ioctl_answers;
  return s + ")";
}

}  // namespace unicorn::hal
