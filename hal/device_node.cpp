#include "hal/device_node.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace unicorn::hal {

NodeAccess check_node(const std::string& path) {
  NodeAccess a;
  a.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return a;
  a.exists = true;
  a.char_device = S_ISCHR(st.st_mode);
  a.readable = ::access(path.c_str(), R_OK) == 0;
  a.writable = ::access(path.c_str(), W_OK) == 0;
  if (const struct group* g = ::getgrgid(st.st_gid)) a.group = g->gr_name;
  a.user_in_group = ::geteuid() == 0 || ::getegid() == st.st_gid;
  const int n = ::getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> groups(static_cast<size_t>(n));
    const int got = ::getgroups(n, groups.data());
    for (int i = 0; i < got; ++i) a.user_in_group = a.user_in_group || groups[i] == st.st_gid;
  }
  return a;
}

}  // namespace unicorn::hal
