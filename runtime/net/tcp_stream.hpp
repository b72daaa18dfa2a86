// TcpStream: a connected TCP socket on the runtime's reactor.
#pragma once

#include "../detail/language_check.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "../task.hpp"
#include "detail/socket_options.hpp"
#include "detail/stream_socket.hpp"
#include "socket_address.hpp"
#include "split.hpp"

namespace weft::net {

class TcpSocket;

/// A connected TCP socket on the runtime's reactor.
///
///     weft::net::TcpStream s = co_await weft::net::TcpStream::connect("127.0.0.1", 6379);
///     co_await s.write_all(request);
///     std::size_t n = co_await s.read(buffer);          // 0: the peer closed its side
///
/// Every operation suspends the task (never the worker) until the socket is ready; await them
/// inside a task of the runtime the stream was created on. Errors are std::system_error: the
/// errno and the operation for failed calls (ECONNREFUSED, ECONNRESET, EPIPE...),
/// net::StreamError::unexpected_eof when read_exact runs out of stream, the resolver category for
/// a name that does not resolve. After close(), operations (including ones already waiting, from
/// another task) fail with ECANCELED; after the runtime shut down, with RuntimeShutdownError.
///
/// read() and write() are cancellation-safe: the system call runs only when the operation
/// completes, so one abandoned while waiting has moved no bytes. read_exact() and write_all() are
/// not: abandoned part way, an unknown part of the data has moved.
///
/// TCP_NODELAY is on: requests are written whole by the caller (write_all, BufWriter), so
/// Nagle's delay would only add latency. Options (nodelay, ttl, linger, keepalive, buffer sizes)
/// have getters and setters; each is one system call and throws std::system_error if it fails.
///
/// One task may read while another writes (a split reader and writer; into_split() hands each
/// its own half). Several tasks may even wait to read (or write) at once: each readiness edge
/// wakes all of them and each call takes what is there, so nothing hangs, but which read gets
/// which bytes (or in what order concurrent writes land) is unspecified. close() and is_open()
/// may be called from any thread.
///
/// Every operation spends one unit of the task's cooperative budget (128 per poll, as in Tokio):
/// with the budget spent it yields before its system call, so a task looping on a socket that is
/// always ready still lets the other tasks and timers of its worker run.
///
/// Readiness and non-blocking calls, as Tokio has them: readable(), writable() and ready() wait
/// for the reactor to report readiness (the same code as AsyncFd's), and try_read() / try_write()
/// make one non-blocking call, std::nullopt meaning it would block:
///
///     for (;;) {
///         co_await s.readable();
///         std::optional<std::size_t> n = s.try_read(buffer);
///         if (!n) continue;            // woken, but the data was gone: readiness cleared, wait again
///         if (*n == 0) break;          // end of stream
///         use(buffer.first(*n));
///     }
///
/// Move-only; destroying it closes the socket.
class TcpStream : public detail::StreamSocket, public detail::TcpSocketOptions<TcpStream> {
public:
    /// No socket: operations fail with ECANCELED.
    TcpStream() noexcept = default;
    /// Adopts a connected, non-blocking socket (what TcpListener::accept does) and registers it
    /// with the current runtime's reactor.
    /// @throws std::logic_error outside a task of a weft runtime; RuntimeShutdownError after it
    /// shut down (the descriptor is closed either way).
    explicit TcpStream(int fd) : StreamSocket(fd) {}

    /// Connects to `host` (a name or a numeric address) on `port`, trying each resolved address in
    /// turn. Names are resolved on the blocking pool, never on a worker thread. Cancellation-safe
    /// in that an abandoned connect closes its socket (a resolution already under way finishes on
    /// the pool and is dropped).
    /// @throws std::system_error: the last address's connect errno, or a resolver_category() code.
    static Task<TcpStream> connect(std::string host, std::uint16_t port);
    /// Connects to "host:port" ("localhost:6379", "[::1]:80"), as connect(host, port).
    /// @throws std::invalid_argument (when awaited) without a valid port; else as connect(host, port).
    static Task<TcpStream> connect(std::string host_port);
    /// Connects to `address`. Cancellation-safe as the other overload.
    /// @throws std::system_error with the errno (ECONNREFUSED, ETIMEDOUT...), naming the address.
    static Task<TcpStream> connect(SocketAddress address);

    /// Splits the stream into a read half and a write half that two tasks may use at once; see
    /// OwnedReadHalf (reunite() puts them back together). Dropping the write half shuts the
    /// write side down.
    std::pair<OwnedReadHalf<TcpStream>, OwnedWriteHalf<TcpStream>> into_split() && { return split_owned(std::move(*this)); }

    /// The peer's address. @throws std::system_error if getpeername fails (ENOTCONN...).
    SocketAddress peer_addr() const { return detail::peer_address(native_handle()); }

private:
    friend class TcpSocket;
};

}  // namespace weft::net
