#include "udp_socket.hpp"

#include <cerrno>

#include "detail/socket_ops.hpp"

namespace weft::net {

UdpSocket UdpSocket::bind(const SocketAddress& address) {
    detail::OwnedFd fd = detail::new_socket(address.family(), SOCK_DGRAM);
    if (::bind(fd.get(), address.native(), address.native_len()) < 0) detail::throw_errno(errno, "weft: bind " + address.to_string());
    return UdpSocket(fd.release());
}

void UdpSocket::connect(const SocketAddress& address) {
    if (!reg_.is_open()) reg_.throw_closed("weft: connect");
    if (::connect(reg_.fd(), address.native(), address.native_len()) < 0)
        detail::throw_errno(errno, "weft: connect to " + address.to_string());
}

bool UdpSocket::broadcast() const { return detail::get_int_option(reg_.fd(), SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST") != 0; }
void UdpSocket::set_broadcast(bool on) { detail::set_int_option(reg_.fd(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, "SO_BROADCAST"); }

}  // namespace weft::net
