// BufReader and BufWriter: buffering over a TcpStream.
#pragma once

#include "../detail/language_check.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../task.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

/// Buffering over a TcpStream's reads, so many small reads cost one system call.
///
///     weft::net::BufReader in(stream);
///     std::string line;
///     while (bool more = co_await in.read_line(line)) handle(line);
///
/// Refers to the stream, which must outlive it. Owned by one task at a time (a BufWriter on the
/// same stream may be used by another). Errors are the stream's (see TcpStream).
class BufReader {
public:
    /// Buffers up to `capacity` bytes from `stream`.
    /// @throws std::invalid_argument if `capacity` is 0.
    explicit BufReader(TcpStream& stream, std::size_t capacity = 8192);

    /// The buffered bytes, reading from the stream first if there are none. Empty: end of stream.
    /// Cancellation-safe: abandoned while waiting, it has read nothing.
    Task<std::span<const char>> fill_buf();
    /// Marks `n` buffered bytes as used (at most all of them).
    void consume(std::size_t n) noexcept { begin_ += std::min(n, end_ - begin_); }
    /// The bytes buffered and not yet consumed; no I/O.
    std::span<const char> buffered() const noexcept { return {buffer_.data() + begin_, end_ - begin_}; }

    /// Up to out.size() bytes (buffered first); 0 at end of stream. Cancellation-safe.
    Task<std::size_t> read(std::span<char> out);
    /// Exactly out.size() bytes. Not cancellation-safe: abandoned part way, the count read is lost.
    /// @throws std::system_error with StreamError::unexpected_eof if the stream ends first.
    Task<void> read_exact(std::span<char> out);
    /// Appends bytes up to and including `delim` to `out`; yields how many (0: end of stream;
    /// fewer without `delim` at the end: the stream ended mid-line). Cancellation-safe in that
    /// bytes taken before it was abandoned are already appended to `out`: call again with the
    /// same `out` to go on.
    Task<std::size_t> read_until(char delim, std::string& out);
    /// The next line without its "\n" or "\r\n", into `line` (replacing it). False at end of
    /// stream. Not cancellation-safe: a partial line taken before it was abandoned is in `line`,
    /// and the next call clears it.
    Task<bool> read_line(std::string& line);

private:
    TcpStream& stream_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0, end_ = 0;
};

/// Buffering over a TcpStream's writes, so many small writes cost one system call.
///
///     weft::net::BufWriter out(stream);
///     co_await out.write("PING\r\n");
///     co_await out.flush();   // nothing reaches the socket before a flush or a full buffer
///
/// Refers to the stream, which must outlive it. Owned by one task at a time (a BufReader on the
/// same stream may be used by another). Errors are the stream's (see TcpStream). Destroying it
/// drops what is buffered: flush first.
class BufWriter {
public:
    /// Buffers up to `capacity` bytes for `stream`.
    /// @throws std::invalid_argument if `capacity` is 0.
    explicit BufWriter(TcpStream& stream, std::size_t capacity = 8192);

    /// Buffers `data`, writing the buffer out when it fills; data at least as large as the buffer
    /// goes straight to the stream. Not cancellation-safe: abandoned, none of `data` is buffered,
    /// though for data as large as the buffer an unknown prefix may have been sent. What was
    /// buffered before is never sent twice (see flush()).
    Task<void> write(std::string_view data);
    /// Writes out everything buffered. Cancellation-safe: abandoned part way (or failed), the bytes
    /// sent have left the buffer and the rest stay, so a later flush sends each byte once.
    Task<void> flush();
    /// How many bytes wait in the buffer; no I/O.
    std::size_t buffered() const noexcept { return buffer_.size(); }

private:
    TcpStream& stream_;
    std::size_t capacity_;
    std::string buffer_;
};

}  // namespace weft::net
