// TcpStream: a connected TCP socket on the runtime's reactor.
#pragma once

#include "../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <string>

#include "../detail/registration.hpp"
#include "../interest.hpp"
#include "../task.hpp"
#include "socket_address.hpp"

namespace weft::net {

/// Which direction TcpStream::shutdown() closes.
enum class Shutdown {
    read = SHUT_RD,    ///< No more reading.
    write = SHUT_WR,   ///< No more writing: the peer reads end of stream.
    both = SHUT_RDWR   ///< Both.
};

namespace detail {
struct RecvOp {
    int fd;
    void* data;
    std::size_t size;
    ssize_t operator()() const noexcept { return ::recv(fd, data, size, 0); }
};
struct SendOp {
    int fd;
    const void* data;
    std::size_t size;
    // MSG_NOSIGNAL: a closed peer is an EPIPE error, not a process-killing SIGPIPE.
    ssize_t operator()() const noexcept { return ::send(fd, data, size, MSG_NOSIGNAL); }
};
}  // namespace detail

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
/// Nagle's delay would only add latency.
///
/// One task may read while another writes (a split reader and writer). Several tasks may even
/// wait to read (or write) at once: each readiness edge wakes all of them and each call takes
/// what is there, so nothing hangs, but which read gets which bytes (or in what order concurrent
/// writes land) is unspecified. close() and is_open() may be called from any thread.
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
class TcpStream {
public:
    /// What read() returns: awaiting it yields the byte count (std::size_t). A leaf for select()
    /// and timeout().
    using ReadAwaiter = weft::detail::IoAwaiter<detail::RecvOp>;
    /// What write() returns: awaiting it yields the byte count (std::size_t). A leaf for select()
    /// and timeout().
    using WriteAwaiter = weft::detail::IoAwaiter<detail::SendOp>;
    /// What readable(), writable() and ready() return: awaiting it yields the Ready the reactor
    /// reported. A leaf for select() and timeout().
    class WEFT_MUST_AWAIT ReadyAwaiter final : public weft::detail::ReadyAwaiter {
    public:
        using weft::detail::ReadyAwaiter::ReadyAwaiter;
        /// @throws std::system_error (ECANCELED) after close(); RuntimeShutdownError.
        Ready await_resume() { return Ready(weft::detail::ReadyAwaiter::await_resume().ready); }
    };

    /// No socket: operations fail with ECANCELED.
    TcpStream() noexcept = default;
    /// Adopts a connected, non-blocking socket (what TcpListener::accept does) and registers it
    /// with the current runtime's reactor.
    /// @throws std::logic_error outside a task of a weft runtime; RuntimeShutdownError after it
    /// shut down (the descriptor is closed either way).
    explicit TcpStream(int fd) : reg_(fd) {}

    /// Connects to `host` (a name or a numeric address) on `port`, trying each resolved address in
    /// turn. Names are resolved on the blocking pool, never on a worker thread. Cancellation-safe
    /// in that an abandoned connect closes its socket (a resolution already under way finishes on
    /// the pool and is dropped).
    /// @throws std::system_error: the last address's connect errno, or a resolver_category() code.
    static Task<TcpStream> connect(std::string host, std::uint16_t port);
    /// Connects to `address`. Cancellation-safe as the other overload.
    /// @throws std::system_error with the errno (ECONNREFUSED, ETIMEDOUT...), naming the address.
    static Task<TcpStream> connect(SocketAddress address);

    /// Reads what is available, up to buffer.size() bytes, waiting if nothing is. Yields the count;
    /// 0 means end of stream (or an empty buffer). `buffer` must outlive the await.
    /// Cancellation-safe. Throws as the class says.
    ReadAwaiter read(std::span<std::byte> buffer) { return read_some(buffer.data(), buffer.size()); }
    /// As read(std::span<std::byte>).
    ReadAwaiter read(std::span<char> buffer) { return read_some(buffer.data(), buffer.size()); }
    /// Reads exactly buffer.size() bytes. Not cancellation-safe: abandoned part way, the bytes
    /// read so far are in `buffer` but their count is lost.
    /// @throws std::system_error with StreamError::unexpected_eof if the stream ends first.
    Task<void> read_exact(std::span<std::byte> buffer);
    /// As read_exact(std::span<std::byte>).
    Task<void> read_exact(std::span<char> buffer) { return read_exact(std::as_writable_bytes(buffer)); }

    /// Writes some of `data`, waiting for room if there is none; yields how much was written.
    /// `data` must outlive the await. Cancellation-safe. Throws as the class says (EPIPE for a
    /// closed peer: no SIGPIPE).
    WriteAwaiter write(std::span<const std::byte> data) { return write_some(data.data(), data.size()); }
    /// As write(std::span<const std::byte>).
    WriteAwaiter write(std::string_view data) { return write_some(data.data(), data.size()); }
    /// Writes all of `data`. Not cancellation-safe: abandoned part way, an unknown prefix was sent.
    Task<void> write_all(std::span<const std::byte> data);
    /// As write_all(std::span<const std::byte>).
    Task<void> write_all(std::string_view data) { return write_all(std::as_bytes(std::span(data.data(), data.size()))); }

    /// Waits until the socket is readable: data, end of stream or an error to report (Tokio's
    /// readable()). Suspends only if the reactor reported nothing since the last would-block.
    /// Cancellation-safe; spends one unit of budget. Throws as the class says.
    ReadyAwaiter readable() { return ready(Interest::readable); }
    /// Waits until the socket is writable (or hung up, or in error). As readable().
    ReadyAwaiter writable() { return ready(Interest::writable); }
    /// Waits for any of `interest`; yields what is ready (Ready::is_readable() ...). As readable().
    ReadyAwaiter ready(Interest interest) { return ReadyAwaiter(reg_, interest.to_detail(), "weft: ready"); }

    /// Reads what is available now without waiting: the count (0: end of stream, or an empty
    /// buffer), or std::nullopt if it would block (nothing reported ready since the last
    /// would-block, or the call got EAGAIN, which clears the readiness; await readable()).
    /// @throws std::system_error with the errno (ECANCELED after close()); RuntimeShutdownError.
    std::optional<std::size_t> try_read(std::span<std::byte> buffer) { return try_read_some(buffer.data(), buffer.size()); }
    /// As try_read(std::span<std::byte>).
    std::optional<std::size_t> try_read(std::span<char> buffer) { return try_read_some(buffer.data(), buffer.size()); }
    /// Writes what fits now without waiting: the count, or std::nullopt if it would block (await
    /// writable()). Throws as try_read (EPIPE for a closed peer: no SIGPIPE).
    std::optional<std::size_t> try_write(std::span<const std::byte> data) { return try_write_some(data.data(), data.size()); }
    /// As try_write(std::span<const std::byte>).
    std::optional<std::size_t> try_write(std::string_view data) { return try_write_some(data.data(), data.size()); }

    /// Shuts down one or both directions (the peer reads end of stream after a write shutdown).
    /// @throws std::system_error (ECANCELED after close()), or RuntimeShutdownError.
    void shutdown(Shutdown how);
    /// Closes the connection now; waiting operations fail with ECANCELED. Idempotent; from any thread.
    void close() noexcept { reg_.close(); }
    /// False after close(), after the runtime shut down, or with no socket. From any thread.
    bool is_open() const noexcept { return reg_.is_open(); }

    /// This end's address. @throws std::system_error if getsockname fails.
    SocketAddress local_addr() const;
    /// The peer's address. @throws std::system_error if getpeername fails (ENOTCONN...).
    SocketAddress peer_addr() const;
    /// Turns Nagle's algorithm off (`on`) or back on. @throws std::system_error if setsockopt fails.
    void set_nodelay(bool on);
    /// True while Nagle's algorithm is off. @throws std::system_error if getsockopt fails.
    bool nodelay() const;
    /// The socket's descriptor (-1 if none); still owned by the stream.
    int native_handle() const noexcept { return reg_.fd(); }

private:
    ReadAwaiter read_some(void* data, std::size_t size) {
        return ReadAwaiter(reg_, weft::detail::Interest::read, "weft: read", detail::RecvOp{reg_.fd(), data, size});
    }
    WriteAwaiter write_some(const void* data, std::size_t size) {
        return WriteAwaiter(reg_, weft::detail::Interest::write, "weft: write", detail::SendOp{reg_.fd(), data, size});
    }

    std::optional<std::size_t> try_read_some(void* data, std::size_t size);
    std::optional<std::size_t> try_write_some(const void* data, std::size_t size);

    weft::detail::Registration reg_;
};

}  // namespace weft::net
