// TcpListener: accepts TCP connections on the runtime's reactor.
//
//   auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress("127.0.0.1", 0));
//   std::uint16_t port = listener.local_addr().port();   // port 0 picked a free one
//   for (;;) { auto [stream, peer] = co_await listener.accept(); ... }
//
// bind() is synchronous (it never blocks); call it inside a task or block_on. Errors are
// std::system_error with the errno and the operation (EADDRINUSE, EACCES...). After close() a
// waiting accept fails with ECANCELED; after the runtime shut down, with RuntimeShutdownError.
//
// Out of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM), accept() throws and keeps the listener's
// readiness: the reactor is edge-triggered, so forgetting it would strand the connections already
// in the backlog until another one arrives. The caller must not retry at once; it backs off
// (Tokio's guidance, what hyper does): see TcpListener.
#pragma once

#include "../detail/language_check.hpp"

#include <cstdint>
#include <string>
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
///
/// Running out of descriptors: accept() then throws std::system_error with EMFILE or ENFILE (or
/// ENOBUFS, ENOMEM) and leaves the pending connections in the backlog, still marked ready.
/// Retrying at once would fail again until a descriptor is freed, spinning (the cooperative budget
/// keeps such a loop from starving the other tasks, but not from burning a core): back off first,
/// as Tokio recommends. Other accept errors concern one connection; retry those at once.
///
///     for (;;) {
///         bool out_of_descriptors = false;
///         try {
///             auto [stream, peer] = co_await listener.accept();
///             weft::spawn(handle(std::move(stream)));
///         } catch (const std::system_error& e) {
///             const int err = e.code().value();
///             if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) throw;
///             out_of_descriptors = true;  // no co_await inside a handler
///         }
///         if (out_of_descriptors) co_await weft::sleep(100ms);  // let connections close first
///     }
///
/// Several tasks may await accept() on one listener at once: each connection wakes every waiting
/// accept, one takes it and the others wait on, so each connection is accepted exactly once.
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
    /// Resolves "host:port" ("localhost:8080", "[::1]:0") on the blocking pool and binds to the
    /// first address that accepts the bind, as Tokio's `TcpListener::bind(addr).await` (this
    /// overload must be awaited; the others are synchronous). Backlog 1024; use TcpSocket for another.
    /// @throws std::invalid_argument (when awaited) without a valid port; std::system_error: the
    /// last address's bind errno, or a resolver_category() code.
    static Task<TcpListener> bind(std::string host_port);

    /// Waits for the next connection. Await inside a task; several tasks may accept at once.
    /// Spends one unit of the task's cooperative budget (yielding first when it is spent).
    /// Cancellation-safe: an accept abandoned while waiting has taken no connection; the next
    /// accept gets it.
    /// @throws std::system_error with the errno (ECANCELED after close(); EMFILE, ENFILE: back off
    /// before retrying, see the class), or RuntimeShutdownError.
    Task<Accepted> accept();

    /// The bound address (with the port the system picked for port 0).
    /// @throws std::system_error if getsockname fails.
    SocketAddress local_addr() const;
    /// Stops listening now; a waiting accept fails with ECANCELED. Idempotent; from any thread.
    void close() noexcept { reg_.close(); }
    /// The socket's descriptor (-1 if none); still owned by the listener.
    int native_handle() const noexcept { return reg_.fd(); }

private:
    friend class TcpSocket;
    explicit TcpListener(int fd) : reg_(fd) {}
    weft::detail::Registration reg_;
};

}  // namespace weft::net
