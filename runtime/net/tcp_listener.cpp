#include "tcp_listener.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace weft::net {

TcpListener TcpListener::bind(const SocketAddress& address, int backlog) {
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::system_category(), "weft: socket");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, address.native(), address.native_len()) < 0 || ::listen(fd, backlog) < 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::system_category(), "weft: bind " + address.to_string());
    }
    return TcpListener(fd);
}

Task<Accepted> TcpListener::accept() {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int listen_fd = reg_.fd();
    const std::size_t fd = co_await weft::detail::IoAwaiter(reg_, weft::detail::Interest::read, "weft: accept", [&]() -> ssize_t {
        len = sizeof peer;
        return ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    TcpStream stream(static_cast<int>(fd));
    stream.set_nodelay(true);
    Accepted accepted(std::move(stream), SocketAddress::from_native(reinterpret_cast<sockaddr*>(&peer), len));
    co_return accepted;
}

SocketAddress TcpListener::local_addr() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(reg_.fd(), reinterpret_cast<sockaddr*>(&a), &len) < 0)
        throw std::system_error(errno, std::system_category(), "weft: getsockname");
    return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&a), len);
}

}  // namespace weft::net
