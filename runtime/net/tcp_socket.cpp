#include "tcp_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "tcp_listener.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

namespace {
detail::OwnedFd new_tcp_socket(int family) {
    detail::OwnedFd fd = detail::new_socket(family, SOCK_STREAM);
    detail::set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    return fd;
}
}  // namespace

TcpSocket TcpSocket::new_v4() { return TcpSocket(new_tcp_socket(AF_INET)); }
TcpSocket TcpSocket::new_v6() { return TcpSocket(new_tcp_socket(AF_INET6)); }
TcpSocket TcpSocket::new_for(const SocketAddress& address) { return TcpSocket(new_tcp_socket(address.family())); }

void TcpSocket::set_reuseaddr(bool on) { detail::set_int_option(fd(), SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0, "SO_REUSEADDR"); }
bool TcpSocket::reuseaddr() const { return detail::get_int_option(fd(), SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR") != 0; }
void TcpSocket::set_reuseport(bool on) { detail::set_int_option(fd(), SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0, "SO_REUSEPORT"); }
bool TcpSocket::reuseport() const { return detail::get_int_option(fd(), SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT") != 0; }

void TcpSocket::bind(const SocketAddress& address) {
    if (::bind(fd(), address.native(), address.native_len()) < 0) detail::throw_errno(errno, "weft: bind " + address.to_string());
}

Task<TcpStream> TcpSocket::connect(SocketAddress address) && { return connect_fd(std::move(fd_), address); }

Task<TcpStream> TcpSocket::connect_fd(detail::OwnedFd fd, SocketAddress address) {
    TcpStream stream;
    co_await detail::connect_stream(stream, fd.release(), address.native(), address.native_len(),
                                           "weft: connect to " + address.to_string());
    co_return stream;
}

TcpListener TcpSocket::listen(int backlog) && {
    if (::listen(fd(), backlog) < 0) detail::throw_errno(errno, "weft: listen");
    return TcpListener(fd_.release());
}

}  // namespace weft::net
