#pragma once
// Whether the HTTP client of a request is still connected. cpp-httplib 0.11 (Debian 12) gives handlers no
// socket and no is_connection_closed(), so the connection's descriptor is found by its addresses (local port,
// peer address and port) among this process's sockets, and polled: a peer that closed or reset shows as readable
// with end-of-file, hang-up or error. Costs a scan of /proc/self/fd once per request and one poll() per check.
#include <string>

namespace unicorn::server {

// ClientConnection: immutable after construction; gone() may be called from any one thread at a time. When no
// matching socket is found (a test double, a platform without /proc), gone() always answers false.
class ClientConnection {
 public:
  ClientConnection() = default;
  ClientConnection(int local_port, const std::string& remote_addr, int remote_port);

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection. Bytes of a further (pipelined) request mean alive.
  bool gone() const;

 private:
  int fd_ = -1;
};

}  // namespace unicorn::server
