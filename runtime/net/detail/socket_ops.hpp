// System-call helpers shared by the socket types: descriptors, options, addresses, accept.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "../socket_address.hpp"

namespace weft::net::detail {

[[noreturn]] void throw_errno(int err, const std::string& what);

// A socket not (yet) registered with a reactor (TcpSocket, a connect under way): closed on
// destruction unless released to a Registration.
class OwnedFd {
public:
    OwnedFd() noexcept = default;
    explicit OwnedFd(int fd) noexcept : fd_(fd) {}
    OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    OwnedFd& operator=(OwnedFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~OwnedFd() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    void reset() noexcept;
    int fd_ = -1;
};

// socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC). Throws std::system_error.
OwnedFd new_socket(int family, int type);

// getsockopt / setsockopt of an int; `what` names the option in the error.
int get_int_option(int fd, int level, int name, const char* what);
void set_int_option(int fd, int level, int name, int value, const char* what);

// getsockname / getpeername as a SocketAddress. Throw std::system_error.
SocketAddress local_address(int fd);
SocketAddress peer_address(int fd);

// A Unix domain socket's address from a filesystem path. Throws std::system_error with
// ENAMETOOLONG for a path that does not fit sun_path.
struct UnixPath {
    sockaddr_un addr{};
    socklen_t len = 0;
};
UnixPath unix_path(std::string_view path);
// getsockname / getpeername of a Unix domain socket: its path, empty for an unnamed socket.
std::string local_unix_path(int fd);
std::string peer_unix_path(int fd);

// accept4 for IoAwaiter: completes with the new (non-blocking) descriptor and the peer's address.
struct AcceptOp {
    struct Result {
        int fd;
        SocketAddress peer;
    };
    int listen_fd;
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
    ssize_t operator()() noexcept {
        peer_len = sizeof peer;
        return ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    Result result(std::size_t fd) const noexcept {
        return {static_cast<int>(fd), SocketAddress::from_native(reinterpret_cast<const sockaddr*>(&peer), peer_len)};
    }
};

}  // namespace weft::net::detail
