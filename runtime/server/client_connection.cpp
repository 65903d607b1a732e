#include "runtime/server/client_connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <cstdlib>
#include <cstring>

namespace unicorn::server {
namespace {

// Port and printable address of a socket address (IPv4 or IPv6); false for other families.
bool describe(const sockaddr_storage& a, int& port, std::string& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&a);
    port = ntohs(s->sin_port);
    inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf));
  } else if (a.ss_family == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
    port = ntohs(s->sin6_port);
    inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf));
  } else {
    return false;
  }
  addr = buf;
  return true;
}

}  // namespace

ClientConnection::ClientConnection(int local_port, const std::string& remote_addr, int remote_port) {
  if (local_port <= 0 || remote_port <= 0) return;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return;
  while (const dirent* e = readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(d)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof(local), pl = sizeof(peer);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &ll) != 0) continue;  // not a socket
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;   // not connected
    int lport = 0, pport = 0;
    std::string laddr, paddr;
    if (!describe(local, lport, laddr) || !describe(peer, pport, paddr)) continue;
    if (lport == local_port && pport == remote_port && paddr == remote_addr) {
      fd_ = static_cast<int>(fd);
      break;
    }
  }
  closedir(d);
}

bool ClientConnection::gone() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)) return true;
  if (p.revents & POLLIN) {
    char c;
    return recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;  // end of file: the peer closed its side
  }
  return false;
}

}  // namespace unicorn::server
