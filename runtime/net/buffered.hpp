// BufReader and BufWriter: buffering over a TcpStream, so many small reads or writes cost one
// system call each way.
//
//   weft::net::BufReader in(stream);
//   std::string line;
//   while (bool more = co_await in.read_line(line)) handle(line);
//
//   weft::net::BufWriter out(stream);
//   co_await out.write("PING\r\n");
//   co_await out.flush();                   // nothing reaches the socket before a flush or a full buffer
//
// Both refer to the stream (which must outlive them); a reader and a writer may be used by two
// tasks at once. Errors are the stream's.
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

class BufReader {
public:
    explicit BufReader(TcpStream& stream, std::size_t capacity = 8192);

    // The buffered bytes, reading from the stream first if there are none. Empty: end of stream.
    Task<std::span<const char>> fill_buf();
    // Marks `n` buffered bytes as used.
    void consume(std::size_t n) noexcept { begin_ += std::min(n, end_ - begin_); }
    std::span<const char> buffered() const noexcept { return {buffer_.data() + begin_, end_ - begin_}; }

    // Up to out.size() bytes (buffered first); 0 at end of stream.
    Task<std::size_t> read(std::span<char> out);
    // Exactly out.size() bytes; StreamError::unexpected_eof if the stream ends first.
    Task<void> read_exact(std::span<char> out);
    // Appends bytes up to and including `delim` to `out`; yields how many (0: end of stream;
    // fewer without `delim` at the end: the stream ended mid-line).
    Task<std::size_t> read_until(char delim, std::string& out);
    // The next line without its "\n" or "\r\n", into `line` (replacing it). False at end of stream.
    Task<bool> read_line(std::string& line);

private:
    TcpStream& stream_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0, end_ = 0;
};

class BufWriter {
public:
    explicit BufWriter(TcpStream& stream, std::size_t capacity = 8192);

    // Buffers `data`, writing the buffer out when it fills; data larger than the buffer goes
    // straight to the stream.
    Task<void> write(std::string_view data);
    // Writes out everything buffered.
    Task<void> flush();
    std::size_t buffered() const noexcept { return buffer_.size(); }

private:
    TcpStream& stream_;
    std::size_t capacity_;
    std::string buffer_;
};

}  // namespace weft::net
