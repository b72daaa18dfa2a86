// TcpListener: accepts TCP connections on the runtime's reactor.
//
//   auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress("127.0.0.1", 0));
//   std::uint16_t port = listener.local_addr().port();   // port 0 picked a free one
//   for (;;) { auto [stream, peer] = co_await listener.accept(); ... }
//
// bind() is synchronous (it never blocks); call it inside a task or block_on. Errors are
// std::system_error with the errno and the operation (EADDRINUSE, EACCES...). After close() a
// waiting accept fails with ECANCELED; after the runtime shut down, with RuntimeShutdownError.
#pragma once

#include "../detail/language_check.hpp"

#include <cstdint>
#include <string_view>
#include <utility>

#include "../detail/registration.hpp"
#include "../task.hpp"
#include "socket_address.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

/// A connection TcpListener::accept() took: the stream and who is on the other end.
struct Accepted {
    /// Takes `s` and the peer's address `p`.
    // A constructor, not an aggregate: g++ 12 destroys a brace-initialised aggregate temporary in
    // a co_return or co_await before moving from it (see README), which would close the socket.
    Accepted(TcpStream s, SocketAddress p) noexcept : stream(std::move(s)), peer(p) {}
    TcpStream stream;    ///< The accepted connection (TCP_NODELAY on).
    SocketAddress peer;  ///< The peer's address.
};

/// A listening TCP socket on the runtime's reactor.
///
///     auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress("127.0.0.1", 0));
///     std::uint16_t port = listener.local_addr().port();   // port 0 picked a free one
///     for (;;) { auto [stream, peer] = co_await listener.accept(); ... }
///
/// bind() is synchronous (it never blocks); call it inside a task of the runtime whose reactor is
/// to serve it. Errors are std::system_error with the errno and the operation (EADDRINUSE,
/// EACCES...). After close() a waiting accept fails with ECANCELED; after the runtime shut down,
/// with RuntimeShutdownError. Move-only; destroying it closes the socket.
class TcpListener {
public:
    /// No socket: accept() fails with ECANCELED.
    TcpListener() noexcept = default;

    /// Binds and listens (SO_REUSEADDR on, so a restarted server can rebind at once).
    /// @throws std::system_error if socket, bind or listen fails.
    /// @throws std::logic_error outside a task of a weft runtime; RuntimeShutdownError after it shut down.
    static TcpListener bind(const SocketAddress& address, int backlog = 1024);
    /// Binds and listens on a numeric `ip` and `port`.
    /// @throws std::invalid_argument if `ip` is not a numeric address; otherwise as bind(const SocketAddress&, int).
    static TcpListener bind(std::string_view ip, std::uint16_t port, int backlog = 1024) {
        return bind(SocketAddress(ip, port), backlog);
    }

    /// Waits for the next connection. Await inside a task; one accept at a time per listener.
    /// Cancellation-safe: an accept abandoned while waiting has taken no connection; the next
    /// accept gets it.
    /// @throws std::system_error with the errno (ECANCELED after close()), or RuntimeShutdownError.
    Task<Accepted> accept();

    /// The bound address (with the port the system picked for port 0).
    /// @throws std::system_error if getsockname fails.
    SocketAddress local_addr() const;
    /// Stops listening now; a waiting accept fails with ECANCELED. Idempotent; from any thread.
    void close() noexcept { reg_.close(); }
    /// The socket's descriptor (-1 if none); still owned by the listener.
    int native_handle() const noexcept { return reg_.fd(); }

private:
    explicit TcpListener(int fd) : reg_(fd) {}
    weft::detail::Registration reg_;
};

}  // namespace weft::net
