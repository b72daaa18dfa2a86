// TcpStream: a connected TCP socket on the runtime's reactor.
//
//   weft::net::TcpStream s = co_await weft::net::TcpStream::connect("127.0.0.1", 6379);
//   co_await s.write_all(request);
//   std::size_t n = co_await s.read(buffer);          // 0: the peer closed its side
//
// Every operation suspends the task (never the worker) until the socket is ready. Errors are
// std::system_error: the errno and the operation for failed calls (ECONNREFUSED, ECONNRESET,
// EPIPE...), net::StreamError::unexpected_eof when read_exact runs out of stream, the resolver
// category for a name that does not resolve. After close(), operations (including ones already
// waiting, from another task) fail with ECANCELED; after the runtime shut down, with
// RuntimeShutdownError.
//
// TCP_NODELAY is on: requests are written whole by the caller (write_all, BufWriter), so
// Nagle's delay would only add latency.
//
// One task may read while another writes (a split reader and writer); two concurrent reads (or
// writes) on one stream are not supported. Move-only; destroying it closes the socket.
#pragma once

#include "../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <string>

#include "../detail/registration.hpp"
#include "../task.hpp"
#include "socket_address.hpp"

namespace weft::net {

enum class Shutdown { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

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

class TcpStream {
public:
    using ReadAwaiter = weft::detail::IoAwaiter<detail::RecvOp>;
    using WriteAwaiter = weft::detail::IoAwaiter<detail::SendOp>;

    TcpStream() noexcept = default;
    // Adopts a connected, non-blocking socket (what TcpListener::accept does).
    explicit TcpStream(int fd) : reg_(fd) {}

    // Connects to `host` (a name or a numeric address) on `port`, trying each resolved address in
    // turn. Names are resolved on the blocking pool, never on a worker thread.
    static Task<TcpStream> connect(std::string host, std::uint16_t port);
    static Task<TcpStream> connect(SocketAddress address);

    // Reads what is available, up to buffer.size() bytes, waiting if nothing is. Yields the count;
    // 0 means end of stream (or an empty buffer).
    ReadAwaiter read(std::span<std::byte> buffer) { return read_some(buffer.data(), buffer.size()); }
    ReadAwaiter read(std::span<char> buffer) { return read_some(buffer.data(), buffer.size()); }
    // Reads exactly buffer.size() bytes; throws StreamError::unexpected_eof if the stream ends first.
    Task<void> read_exact(std::span<std::byte> buffer);
    Task<void> read_exact(std::span<char> buffer) { return read_exact(std::as_writable_bytes(buffer)); }

    // Writes some of `data`, waiting for room if there is none; yields how much was written.
    WriteAwaiter write(std::span<const std::byte> data) { return write_some(data.data(), data.size()); }
    WriteAwaiter write(std::string_view data) { return write_some(data.data(), data.size()); }
    // Writes all of `data`.
    Task<void> write_all(std::span<const std::byte> data);
    Task<void> write_all(std::string_view data) { return write_all(std::as_bytes(std::span(data.data(), data.size()))); }

    // Shuts down one or both directions (the peer reads end of stream after a write shutdown).
    void shutdown(Shutdown how);
    // Closes the connection now; waiting operations fail with ECANCELED. Idempotent.
    void close() noexcept { reg_.close(); }
    bool is_open() const noexcept { return reg_.is_open(); }

    SocketAddress local_addr() const;
    SocketAddress peer_addr() const;
    void set_nodelay(bool on);
    bool nodelay() const;
    int native_handle() const noexcept { return reg_.fd(); }

private:
    ReadAwaiter read_some(void* data, std::size_t size) {
        return ReadAwaiter(reg_, weft::detail::Interest::read, "weft: read", detail::RecvOp{reg_.fd(), data, size});
    }
    WriteAwaiter write_some(const void* data, std::size_t size) {
        return WriteAwaiter(reg_, weft::detail::Interest::write, "weft: write", detail::SendOp{reg_.fd(), data, size});
    }

    weft::detail::Registration reg_;
};

}  // namespace weft::net
