#pragma once
// Whether this user can open a device node (/dev/dri/renderD128, /dev/accel/accel0) and, if not, why.
#include <string>

namespace unicorn::hal {

// NodeAccess: plain value filled by check_node().
struct NodeAccess {
  std::string path;
  bool exists = false;
  bool char_device = false;  // false in a recorded tree, where nodes are plain placeholder files
  bool readable = false;
  bool writable = false;
  std::string group;             // owning group name ("render"), empty when unknown
  bool user_in_group = false;    // this process is a member of that group (or is root)
  bool ok() const { return exists && readable && writable; }
};

// stat + access(R_OK|W_OK) + group membership of this process. Never throws.
NodeAccess check_node(const std::string& path);

}  // namespace unicorn::hal
