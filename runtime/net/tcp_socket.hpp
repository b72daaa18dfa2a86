// TcpSocket: a TCP socket being configured before it connects or listens.
#pragma once

#include "../detail/language_check.hpp"

#include <cstdint>

#include "../task.hpp"
#include "detail/socket_ops.hpp"
#include "detail/socket_options.hpp"
#include "socket_address.hpp"
#include "tcp_listener.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

/// A TCP socket not yet connected or listening, for options that must be set before (Tokio's
/// TcpSocket):
///
///     auto socket = weft::net::TcpSocket::new_v4();
///     socket.set_reuseaddr(true);
///     socket.bind(weft::net::SocketAddress("127.0.0.1", 0));
///     weft::net::TcpListener listener = std::move(socket).listen(128);
///     // or: weft::net::TcpStream s = co_await std::move(socket).connect(address);
///
/// Created non-blocking with TCP_NODELAY on (as every weft TcpStream; turn it off here to keep
/// Nagle's algorithm). Not on the reactor until connect() or listen(), so it may be made and
/// configured on any thread; those two need a task (or block_on) of the runtime to serve the
/// result. Option setters and getters are one system call each and throw std::system_error.
/// Move-only; destroying it closes the socket.
class TcpSocket : public detail::TcpSocketOptions<TcpSocket> {
public:
    /// An IPv4 TCP socket. @throws std::system_error if socket() fails (EMFILE...).
    static TcpSocket new_v4();
    /// An IPv6 TCP socket. @throws std::system_error if socket() fails.
    static TcpSocket new_v6();

    /// SO_REUSEADDR: bind to a local address still in TIME_WAIT (a restarted server).
    void set_reuseaddr(bool on);
    /// True if SO_REUSEADDR is on.
    bool reuseaddr() const;
    /// SO_REUSEPORT: several sockets may bind the same address and port (the kernel spreads
    /// connections among listeners); every one of them must set it before bind().
    void set_reuseport(bool on);
    /// True if SO_REUSEPORT is on.
    bool reuseport() const;

    /// Binds to `address` (port 0: a free one, see local_addr()).
    /// @throws std::system_error with the errno (EADDRINUSE, EACCES...), naming the address.
    void bind(const SocketAddress& address);
    /// Connects, consuming the socket (it is moved into the coroutine at once, so `socket` is
    /// empty after this call). Cancellation-safe: an abandoned connect closes the socket.
    /// @throws std::system_error with the errno (ECONNREFUSED...), naming the address.
    Task<TcpStream> connect(SocketAddress address) &&;
    /// Listens with room for `backlog` pending connections, consuming the socket.
    /// @throws std::system_error if listen() fails; std::logic_error outside a runtime;
    /// RuntimeShutdownError after it shut down.
    TcpListener listen(int backlog) &&;

    /// The descriptor (-1 after connect or listen took it); still owned by the socket.
    int native_handle() const noexcept { return fd_.get(); }

private:
    friend class TcpStream;
    friend class TcpListener;
    explicit TcpSocket(detail::OwnedFd fd) noexcept : fd_(std::move(fd)) {}
    // A socket of `address`'s family.
    static TcpSocket new_for(const SocketAddress& address);
    static Task<TcpStream> connect_fd(detail::OwnedFd fd, SocketAddress address);

    detail::OwnedFd fd_;
};

}  // namespace weft::net
