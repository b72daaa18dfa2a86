// The socket options TcpStream, TcpSocket and UdpSocket share, written once as CRTP mixins over
// the class's native_handle(): IpSocketOptions (TTL, buffer sizes, local address) for every IP
// socket, TcpSocketOptions adds what only TCP has (nodelay, linger, keepalive).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "../socket_address.hpp"
#include "socket_ops.hpp"

namespace weft::net::detail {

// Options every IP socket has. Each getter and setter is one get/setsockopt call and throws
// std::system_error with the errno if it fails (EBADF on a socket that is gone).
template <class Socket>
class IpSocketOptions {
public:
    /// The time-to-live of outgoing packets (IP_TTL; the unicast hop limit for IPv6).
    std::uint32_t ttl() const {
        const int v = is_v6() ? get_int_option(fd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS")
                              : get_int_option(fd(), IPPROTO_IP, IP_TTL, "IP_TTL");
        return static_cast<std::uint32_t>(v);
    }
    /// Sets the time-to-live (1..255). @throws std::system_error (EINVAL out of range).
    void set_ttl(std::uint32_t ttl) {
        if (is_v6()) set_int_option(fd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, static_cast<int>(ttl), "IPV6_UNICAST_HOPS");
        else set_int_option(fd(), IPPROTO_IP, IP_TTL, static_cast<int>(ttl), "IP_TTL");
    }
    /// SO_RCVBUF as the kernel reports it (Linux doubles what was set, for its bookkeeping).
    std::uint32_t recv_buffer_size() const {
        return static_cast<std::uint32_t>(get_int_option(fd(), SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"));
    }
    /// Asks for a receive buffer of `size` bytes (SO_RCVBUF; the kernel may round or cap it).
    void set_recv_buffer_size(std::uint32_t size) {
        set_int_option(fd(), SOL_SOCKET, SO_RCVBUF, static_cast<int>(size), "SO_RCVBUF");
    }
    /// SO_SNDBUF as the kernel reports it (Linux doubles what was set).
    std::uint32_t send_buffer_size() const {
        return static_cast<std::uint32_t>(get_int_option(fd(), SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"));
    }
    /// Asks for a send buffer of `size` bytes (SO_SNDBUF; the kernel may round or cap it).
    void set_send_buffer_size(std::uint32_t size) {
        set_int_option(fd(), SOL_SOCKET, SO_SNDBUF, static_cast<int>(size), "SO_SNDBUF");
    }
    /// This end's address (with the port the system picked for port 0). @throws std::system_error.
    SocketAddress local_addr() const { return local_address(fd()); }

protected:
    int fd() const noexcept { return static_cast<const Socket&>(*this).native_handle(); }

private:
    bool is_v6() const { return local_address(fd()).is_v6(); }
};

// Options only TCP sockets have, on top of the IP ones.
template <class Socket>
class TcpSocketOptions : public IpSocketOptions<Socket> {
public:
    /// True while Nagle's algorithm is off (TCP_NODELAY).
    bool nodelay() const { return get_int_option(this->fd(), IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY") != 0; }
    /// Turns Nagle's algorithm off (`on`) or back on.
    void set_nodelay(bool on) { set_int_option(this->fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "TCP_NODELAY"); }
    /// True if the system sends keepalive probes on an idle connection (SO_KEEPALIVE).
    bool keepalive() const { return get_int_option(this->fd(), SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE") != 0; }
    /// Turns keepalive probes on or off.
    void set_keepalive(bool on) { set_int_option(this->fd(), SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0, "SO_KEEPALIVE"); }
    /// SO_LINGER: nullopt when off (close returns at once, unsent data goes out in the
    /// background), else how long closing waits for unsent data.
    std::optional<std::chrono::seconds> linger() const;
    /// Sets SO_LINGER (nullopt: off). A zero duration makes closing reset the connection.
    void set_linger(std::optional<std::chrono::seconds> duration);
};

std::optional<std::chrono::seconds> get_linger(int fd);
void set_linger(int fd, std::optional<std::chrono::seconds> duration);

template <class Socket>
std::optional<std::chrono::seconds> TcpSocketOptions<Socket>::linger() const {
    return get_linger(this->fd());
}
template <class Socket>
void TcpSocketOptions<Socket>::set_linger(std::optional<std::chrono::seconds> duration) {
    detail::set_linger(this->fd(), duration);
}

}  // namespace weft::net::detail
