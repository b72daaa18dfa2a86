// BufReader and BufWriter: buffering, lines and length-delimited frames over any weft byte stream.
#pragma once

#include "../detail/language_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../task.hpp"
#include "errors.hpp"

namespace weft::net {

/// A byte stream BufReader can read from: `co_await s.read(std::span<char>)` yields how many bytes
/// it read (0: end of stream). TcpStream, UnixStream and their OwnedReadHalf are ones.
template <class S>
concept AsyncRead = requires(S& s, std::span<char> buffer) { s.read(buffer); };
/// A byte stream BufWriter can write to: `co_await s.write(std::string_view)` yields how many bytes
/// it wrote. TcpStream, UnixStream and their OwnedWriteHalf are ones.
template <class S>
concept AsyncWrite = requires(S& s, std::string_view data) { s.write(data); };

/// The largest frame read_frame() accepts by default (Tokio's LengthDelimitedCodec's: 8 MiB).
inline constexpr std::size_t kDefaultMaxFrameLength = 8 * 1024 * 1024;

/// Buffering over a stream's reads, so many small reads cost one system call.
///
///     weft::net::BufReader in(stream);      // any AsyncRead: a TcpStream, a read half, a UnixStream
///     std::string line;
///     while (bool more = co_await in.read_line(line)) handle(line);
///
/// Refers to the stream, which must outlive it. Owned by one task at a time (a BufWriter on the
/// same stream, or on its write half, may be used by another). Errors are the stream's (see
/// TcpStream).
template <AsyncRead Stream>
class BufReader {
public:
    /// Buffers up to `capacity` bytes from `stream`.
    /// @throws std::invalid_argument if `capacity` is 0.
    explicit BufReader(Stream& stream, std::size_t capacity = 8192) : stream_(stream), buffer_(capacity) {
        if (capacity == 0) throw std::invalid_argument("weft: BufReader capacity must be positive");
    }

    /// The buffered bytes, reading from the stream first if there are none. Empty: end of stream.
    /// Cancellation-safe: abandoned while waiting, it has read nothing.
    Task<std::span<const char>> fill_buf() {
        if (begin_ == end_) {
            begin_ = end_ = 0;
            end_ = co_await stream_.read(std::span<char>(buffer_));
        }
        co_return buffered();
    }
    /// Marks `n` buffered bytes as used (at most all of them).
    void consume(std::size_t n) noexcept { begin_ += std::min(n, end_ - begin_); }
    /// The bytes buffered and not yet consumed; no I/O.
    std::span<const char> buffered() const noexcept { return {buffer_.data() + begin_, end_ - begin_}; }

    /// Up to out.size() bytes (buffered first); 0 at end of stream. Cancellation-safe.
    Task<std::size_t> read(std::span<char> out) {
        if (begin_ == end_ && out.size() >= buffer_.size()) co_return co_await stream_.read(out);  // skip the copy
        const std::span<const char> have = co_await fill_buf();
        const std::size_t n = std::min(have.size(), out.size());
        std::memcpy(out.data(), have.data(), n);
        consume(n);
        co_return n;
    }
    /// Exactly out.size() bytes. Not cancellation-safe: abandoned part way, the count read is lost.
    /// @throws std::system_error with StreamError::unexpected_eof if the stream ends first.
    Task<void> read_exact(std::span<char> out) {
        std::size_t done = 0;
        while (done < out.size()) {
            const std::size_t n = co_await read(out.subspan(done));
            if (n == 0) throw std::system_error(StreamError::unexpected_eof, "weft: read_exact");
            done += n;
        }
    }
    /// Appends bytes up to and including `delim` to `out`; yields how many (0: end of stream;
    /// fewer without `delim` at the end: the stream ended mid-line). Cancellation-safe in that
    /// bytes taken before it was abandoned are already appended to `out`: call again with the
    /// same `out` to go on.
    Task<std::size_t> read_until(char delim, std::string& out) {
        std::size_t total = 0;
        for (;;) {
            const std::span<const char> have = co_await fill_buf();
            if (have.empty()) co_return total;
            const char* hit = static_cast<const char*>(std::memchr(have.data(), delim, have.size()));
            const std::size_t n = hit ? static_cast<std::size_t>(hit - have.data()) + 1 : have.size();
            out.append(have.data(), n);
            consume(n);
            total += n;
            if (hit) co_return total;
        }
    }
    /// The next line without its "\n" or "\r\n", into `line` (replacing it). False at end of
    /// stream (a last line without "\n" is returned first). Cancellation-safe, so it can race other
    /// operations in weft::select: abandoned part way, the bytes of the line taken so far stay in
    /// the reader and the next read_line returns the whole line (read_line again before any other
    /// read, which would not see them).
    Task<bool> read_line(std::string& line) {
        // Not `if (co_await ... == 0)`: g++ 12 miscompiles a co_await in a condition expression
        // (the awaiting task never resumes; README, Pitfalls).
        const std::size_t n = co_await read_until('\n', partial_line_);
        if (n == 0 && partial_line_.empty()) co_return false;
        line.swap(partial_line_);
        partial_line_.clear();
        if (!line.empty() && line.back() == '\n') line.pop_back();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        co_return true;
    }
    /// The next length-delimited frame (a 4-byte big-endian length, then that many bytes: Tokio's
    /// LengthDelimitedCodec's default format; BufWriter::write_frame writes it) into `frame`,
    /// replacing it. False at end of stream between frames. Not cancellation-safe.
    /// @throws std::system_error with StreamError::frame_too_large for a length above
    /// `max_length` (nothing of the frame is read past its header), StreamError::unexpected_eof if
    /// the stream ends inside a frame.
    Task<bool> read_frame(std::string& frame, std::size_t max_length = kDefaultMaxFrameLength) {
        frame.clear();
        char header[4];
        const std::size_t first = co_await read(std::span<char>(header, 1));
        if (first == 0) co_return false;
        co_await read_exact(std::span<char>(header + 1, 3));
        std::size_t length = 0;
        for (char c : header) length = (length << 8) | static_cast<unsigned char>(c);
        if (length > max_length) throw std::system_error(StreamError::frame_too_large, "weft: read_frame");
        frame.resize(length);
        co_await read_exact(std::span<char>(frame));
        co_return true;
    }

private:
    Stream& stream_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0, end_ = 0;
    std::string partial_line_;  // a line read_line began and was abandoned in (see read_line)
};

/// Buffering over a stream's writes, so many small writes cost one system call.
///
///     weft::net::BufWriter out(stream);     // any AsyncWrite: a TcpStream, a write half, a UnixStream
///     co_await out.write("PING\r\n");
///     co_await out.flush();   // nothing reaches the socket before a flush or a full buffer
///
/// Refers to the stream, which must outlive it. Owned by one task at a time (a BufReader on the
/// same stream may be used by another). Errors are the stream's (see TcpStream). Destroying it
/// drops what is buffered: flush first.
template <AsyncWrite Stream>
class BufWriter {
public:
    /// Buffers up to `capacity` bytes for `stream`.
    /// @throws std::invalid_argument if `capacity` is 0.
    explicit BufWriter(Stream& stream, std::size_t capacity = 8192) : stream_(stream), capacity_(capacity) {
        if (capacity == 0) throw std::invalid_argument("weft: BufWriter capacity must be positive");
        buffer_.reserve(capacity);
    }

    /// Buffers `data`, writing the buffer out when it fills; data at least as large as the buffer
    /// goes straight to the stream. Not cancellation-safe: abandoned, none of `data` is buffered,
    /// though for data as large as the buffer an unknown prefix may have been sent. What was
    /// buffered before is never sent twice (see flush()).
    Task<void> write(std::string_view data) {
        if (buffer_.size() + data.size() > capacity_) co_await flush();
        if (data.size() >= capacity_) {
            while (!data.empty()) {
                const std::size_t n = co_await stream_.write(data);
                data.remove_prefix(n);
            }
            co_return;
        }
        buffer_.append(data);
    }
    /// Buffers `data` as one length-delimited frame (see BufReader::read_frame); flush to send it.
    /// @throws std::length_error for data of 4 GiB or more (the length must fit 4 bytes).
    Task<void> write_frame(std::string_view data) {
        if (data.size() > 0xffffffffu) throw std::length_error("weft: write_frame: frame too long");
        const auto length = static_cast<std::uint32_t>(data.size());
        const char header[4] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                                static_cast<char>(length >> 8), static_cast<char>(length)};
        co_await write(std::string_view(header, 4));
        co_await write(data);
    }
    /// Writes out everything buffered. Cancellation-safe: abandoned part way (or failed), the bytes
    /// sent have left the buffer and the rest stay, so a later flush sends each byte once.
    Task<void> flush() {
        // One write at a time, each dropping what it sent: a flush abandoned part way (a timeout,
        // an aborted task) or failed leaves exactly the unsent bytes, so a later flush never
        // repeats one.
        while (!buffer_.empty()) {
            const std::size_t n = co_await stream_.write(std::string_view(buffer_));
            buffer_.erase(0, n);
        }
    }
    /// How many bytes wait in the buffer; no I/O.
    std::size_t buffered() const noexcept { return buffer_.size(); }

private:
    Stream& stream_;
    std::size_t capacity_;
    std::string buffer_;
};

}  // namespace weft::net
