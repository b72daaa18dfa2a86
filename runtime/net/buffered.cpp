#include "buffered.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "errors.hpp"

namespace weft::net {

BufReader::BufReader(TcpStream& stream, std::size_t capacity) : stream_(stream), buffer_(capacity) {
    if (capacity == 0) throw std::invalid_argument("weft: BufReader capacity must be positive");
}

Task<std::span<const char>> BufReader::fill_buf() {
    if (begin_ == end_) {
        begin_ = end_ = 0;
        end_ = co_await stream_.read(std::span<char>(buffer_));
    }
    co_return buffered();
}

Task<std::size_t> BufReader::read(std::span<char> out) {
    if (begin_ == end_ && out.size() >= buffer_.size()) co_return co_await stream_.read(out);  // skip the copy
    const std::span<const char> have = co_await fill_buf();
    const std::size_t n = std::min(have.size(), out.size());
    std::memcpy(out.data(), have.data(), n);
    consume(n);
    co_return n;
}

Task<void> BufReader::read_exact(std::span<char> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        const std::size_t n = co_await read(out.subspan(done));
        if (n == 0) throw std::system_error(StreamError::unexpected_eof, "weft: read_exact");
        done += n;
    }
}

Task<std::size_t> BufReader::read_until(char delim, std::string& out) {
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

Task<bool> BufReader::read_line(std::string& line) {
    line.clear();
    // Not `if (co_await ... == 0)`: g++ 12 miscompiles a co_await in a condition expression (the
    // awaiting task never resumes; README, Pitfalls).
    const std::size_t n = co_await read_until('\n', line);
    if (n == 0) co_return false;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    co_return true;
}

BufWriter::BufWriter(TcpStream& stream, std::size_t capacity) : stream_(stream), capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("weft: BufWriter capacity must be positive");
    buffer_.reserve(capacity);
}

Task<void> BufWriter::write(std::string_view data) {
    if (buffer_.size() + data.size() > capacity_) co_await flush();
    if (data.size() >= capacity_) co_return co_await stream_.write_all(data);
    buffer_.append(data);
}

Task<void> BufWriter::flush() {
    // One write at a time, each dropping what it sent: a flush abandoned part way (a timeout, an
    // aborted task) or failed leaves exactly the unsent bytes, so a later flush never repeats one.
    while (!buffer_.empty()) {
        const std::size_t n = co_await stream_.write(std::string_view(buffer_));
        buffer_.erase(0, n);
    }
}

}  // namespace weft::net
