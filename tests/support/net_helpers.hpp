// Helpers the socket suites share: a bound on every test body, byte patterns, a scratch path.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <weft/runtime/task.hpp>
#include <weft/runtime/timeout.hpp>

namespace weft::test {

// Runs `body` under a generous timeout: a broken feature fails the test (TimeoutError) instead of
// hanging it.
inline Task<void> bounded(Task<void> body) {
    using namespace std::chrono_literals;
    auto r = co_await weft::timeout(60s, std::move(body));
    r.value();
}

// Byte `i` of the pattern stream `seed`.
inline char pattern_byte(std::uint64_t i, int seed) { return static_cast<char>((i * 131 + seed * 7) ^ (i >> 11)); }

// Writes `bytes` of pattern `seed` to `out` in odd-sized chunks (boundaries move around).
template <class Writer>
Task<void> write_pattern(Writer& out, std::uint64_t bytes, int seed) {
    std::vector<char> chunk(48 * 1024 + 7);
    for (std::uint64_t sent = 0; sent < bytes;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - sent));
        for (std::size_t i = 0; i < n; ++i) chunk[i] = pattern_byte(sent + i, seed);
        co_await out.write_all(std::string_view(chunk.data(), n));
        sent += n;
    }
}

// Reads `in` to end of stream; true if it carried exactly `bytes` of pattern `seed`.
template <class Reader>
Task<bool> read_pattern(Reader& in, std::uint64_t bytes, int seed) {
    std::vector<char> buf(32 * 1024 + 3);
    std::uint64_t got = 0;
    bool intact = true;
    for (;;) {
        const std::size_t n = co_await in.read(std::span<char>(buf));
        if (n == 0) break;
        for (std::size_t i = 0; i < n; ++i) intact &= buf[i] == pattern_byte(got + i, seed);
        got += n;
    }
    EXPECT_EQ(got, bytes);
    co_return intact && got == bytes;
}

// A fresh directory for socket files, removed with everything in it when destroyed.
class ScratchDir {
public:
    ScratchDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "weft-test-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = templ;
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    std::string file(std::string_view name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace weft::test
