#include "detail/socket_ops.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <system_error>

namespace weft::net::detail {

void throw_errno(int err, const std::string& what) { throw std::system_error(err, std::system_category(), what); }

void OwnedFd::reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

OwnedFd new_socket(int family, int type) {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno(errno, "weft: socket");
    return OwnedFd(fd);
}

int get_int_option(int fd, int level, int name, const char* what) {
    int v = 0;
    socklen_t len = sizeof v;
    if (::getsockopt(fd, level, name, &v, &len) < 0) throw_errno(errno, std::string("weft: get ") + what);
    return v;
}

void set_int_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) < 0) throw_errno(errno, std::string("weft: set ") + what);
}

SocketAddress local_address(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno(errno, "weft: getsockname");
    return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&a), len);
}

SocketAddress peer_address(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno(errno, "weft: getpeername");
    return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&a), len);
}

UnixPath unix_path(std::string_view path) {
    UnixPath p;
    p.addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof p.addr.sun_path) throw_errno(ENAMETOOLONG, "weft: unix socket path " + std::string(path));
    std::memcpy(p.addr.sun_path, path.data(), path.size());
    p.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return p;
}

namespace {
std::string path_of(const sockaddr_un& a, socklen_t len) {
    const std::size_t offset = offsetof(sockaddr_un, sun_path);
    if (len <= offset) return {};
    return std::string(a.sun_path, ::strnlen(a.sun_path, len - offset));
}
}  // namespace

std::string local_unix_path(int fd) {
    sockaddr_un a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno(errno, "weft: getsockname");
    return path_of(a, len);
}

std::string peer_unix_path(int fd) {
    sockaddr_un a{};
    socklen_t len = sizeof a;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno(errno, "weft: getpeername");
    return path_of(a, len);
}

}  // namespace weft::net::detail

#include "detail/socket_options.hpp"

namespace weft::net::detail {

std::optional<std::chrono::seconds> get_linger(int fd) {
    ::linger l{};
    socklen_t len = sizeof l;
    if (::getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) < 0) throw_errno(errno, "weft: get SO_LINGER");
    if (!l.l_onoff) return std::nullopt;
    return std::chrono::seconds(l.l_linger);
}

void set_linger(int fd, std::optional<std::chrono::seconds> duration) {
    ::linger l{};
    l.l_onoff = duration ? 1 : 0;
    l.l_linger = duration ? static_cast<int>(duration->count()) : 0;
    if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) < 0) throw_errno(errno, "weft: set SO_LINGER");
}

}  // namespace weft::net::detail
