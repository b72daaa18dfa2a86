// StreamSocket: the byte-stream half of TcpStream and UnixStream (read, write, shutdown, close
// on a registered descriptor), written once; the public classes add how they connect and name
// their ends.
#pragma once

#include "../../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "../../detail/registration.hpp"
#include "../../interest.hpp"
#include "../../task.hpp"
#include "readiness.hpp"

namespace weft::net {

/// Which direction shutdown() closes.
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

// A connected stream socket on the reactor. The operations are documented here once; TcpStream
// and UnixStream say what is particular to them.
class StreamSocket {
public:
    /// What read() returns: awaiting it yields the byte count (std::size_t). A leaf for select()
    /// and timeout().
    using ReadAwaiter = weft::detail::IoAwaiter<RecvOp>;
    /// What write() returns: awaiting it yields the byte count (std::size_t). A leaf for select()
    /// and timeout().
    using WriteAwaiter = weft::detail::IoAwaiter<SendOp>;
    /// What readable(), writable() and ready() return (see weft::net::ReadyAwaiter).
    using ReadyAwaiter = net::ReadyAwaiter;

    /// Reads what is available, up to buffer.size() bytes, waiting if nothing is. Yields the count;
    /// 0 means end of stream (or an empty buffer). `buffer` must outlive the await.
    /// Cancellation-safe.
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
    /// `data` must outlive the await. Cancellation-safe. EPIPE for a closed peer (no SIGPIPE).
    WriteAwaiter write(std::span<const std::byte> data) { return write_some(data.data(), data.size()); }
    /// As write(std::span<const std::byte>).
    WriteAwaiter write(std::string_view data) { return write_some(data.data(), data.size()); }
    /// Writes all of `data`. Not cancellation-safe: abandoned part way, an unknown prefix was sent.
    Task<void> write_all(std::span<const std::byte> data);
    /// As write_all(std::span<const std::byte>).
    Task<void> write_all(std::string_view data) { return write_all(std::as_bytes(std::span(data.data(), data.size()))); }

    /// Waits until the socket is readable: data, end of stream or an error to report (Tokio's
    /// readable()). Suspends only if the reactor reported nothing since the last would-block.
    /// Cancellation-safe; spends one unit of budget.
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
    /// The socket's descriptor (-1 if none); still owned by the stream.
    int native_handle() const noexcept { return reg_.fd(); }

protected:
    StreamSocket() noexcept = default;
    // Adopts a connected (or connecting), non-blocking socket and registers it with the current
    // runtime's reactor. Throws as Registration's constructor (the descriptor is closed).
    explicit StreamSocket(int fd) : reg_(fd) {}

    friend Task<void> connect_stream(StreamSocket& out, int fd, const sockaddr* address, socklen_t len, std::string what);

    weft::detail::Registration reg_;

private:
    ReadAwaiter read_some(void* data, std::size_t size) {
        return ReadAwaiter(reg_, weft::detail::Interest::read, "weft: read", RecvOp{reg_.fd(), data, size});
    }
    WriteAwaiter write_some(const void* data, std::size_t size) {
        return WriteAwaiter(reg_, weft::detail::Interest::write, "weft: write", SendOp{reg_.fd(), data, size});
    }
    std::optional<std::size_t> try_read_some(void* data, std::size_t size) {
        return try_call(reg_, weft::detail::Interest::read, "weft: try_read", RecvOp{reg_.fd(), data, size});
    }
    std::optional<std::size_t> try_write_some(const void* data, std::size_t size) {
        return try_call(reg_, weft::detail::Interest::write, "weft: try_write", SendOp{reg_.fd(), data, size});
    }
};

// Starts connecting the non-blocking, unregistered `fd` (owned from here) to `address`, adopts it
// into `out` and waits for the handshake. `address` must outlive the await. Throws
// std::system_error with the errno, `what` as its message.
Task<void> connect_stream(StreamSocket& out, int fd, const sockaddr* address, socklen_t len, std::string what);

}  // namespace detail
}  // namespace weft::net
