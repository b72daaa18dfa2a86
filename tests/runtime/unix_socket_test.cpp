// Unix domain stream sockets: a listener on a path, echo, pairs, errors, split halves and
// buffering over them, on every runtime flavour.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <weft/runtime/net/buffered.hpp>
#include <weft/runtime/net/unix_listener.hpp>
#include <weft/runtime/net/unix_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>

#include "support/net_helpers.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::net::BufReader;
using weft::net::BufWriter;
using weft::net::UnixListener;
using weft::net::UnixStream;
using weft::test::bounded;

class UnixSocketTest : public weft::test::AllRuntimes {};

Task<void> echo(UnixStream s) {
    std::vector<char> buf(16 * 1024);
    for (;;) {
        const std::size_t n = co_await s.read(std::span<char>(buf));
        if (n == 0) break;
        co_await s.write_all(std::string_view(buf.data(), n));
    }
}

Task<bool> echo_client(std::string path, std::uint64_t bytes, int seed) {
    UnixStream s = co_await UnixStream::connect(path);
    auto [reader, writer] = std::move(s).into_split();
    JoinHandle<void> writing = weft::spawn([](weft::net::OwnedWriteHalf<UnixStream> w, std::uint64_t bytes, int seed) -> Task<void> {
        co_await weft::test::write_pattern(w, bytes, seed);
    }(std::move(writer), bytes, seed));
    const bool intact = co_await weft::test::read_pattern(reader, bytes, seed);
    co_await writing;
    co_return intact;
}

TEST_P(UnixSocketTest, AListenerOnAPathEchoesSeveralClientsAndLeavesItsFileForTheCallerToRemove) {
    weft::test::ScratchDir dir;
    const std::string path = dir.file("echo.sock");
    auto rt = make_runtime();
    rt->block_on(bounded([](std::string path) -> Task<void> {
        UnixListener listener = UnixListener::bind(path);
        EXPECT_EQ(listener.local_addr(), path);
        constexpr int kClients = 4;
        JoinHandle<void> server = weft::spawn([](UnixListener& l) -> Task<void> {
            std::vector<JoinHandle<void>> handlers;
            for (int i = 0; i < kClients; ++i) {
                UnixStream s = co_await l.accept();
                handlers.push_back(weft::spawn(echo(std::move(s))));
            }
            for (auto& h : handlers) co_await h;
        }(listener));
        std::vector<JoinHandle<bool>> clients;
        for (int c = 0; c < kClients; ++c) clients.push_back(weft::spawn(echo_client(path, 256 * 1024, c)));
        for (auto& c : clients) {
            const bool intact = co_await c;
            EXPECT_TRUE(intact);
        }
        co_await server;
    }(path)));
    EXPECT_TRUE(std::filesystem::exists(path));  // as Tokio: the listener does not unlink its path
    std::filesystem::remove(path);
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_EQ(rt->metrics().io_sources, 0u);
}

TEST_P(UnixSocketTest, BindingAnExistingPathAndConnectingToNoneAreErrors) {
    weft::test::ScratchDir dir;
    const std::string path = dir.file("taken.sock");
    auto rt = make_runtime();
    rt->block_on(bounded([](std::string path, std::string missing) -> Task<void> {
        UnixListener first = UnixListener::bind(path);
        try {
            UnixListener second = UnixListener::bind(path);
            ADD_FAILURE() << "bound a path in use";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(EADDRINUSE, std::system_category()));
        }
        try {
            (void)co_await UnixStream::connect(missing);
            ADD_FAILURE() << "connected to a path with no socket";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ENOENT, std::system_category()));
            EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
        }
        try {
            const std::string too_long(200, 'x');
            (void)co_await UnixStream::connect(too_long);
            ADD_FAILURE() << "a path longer than sun_path was accepted";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ENAMETOOLONG, std::system_category()));
        }
    }(path, dir.file("missing.sock"))));
}

// read_line can race other operations in select: a line abandoned half-read is returned whole
// by the next read_line (the chat server's pattern: a client's next line against broadcasts).
TEST_P(UnixSocketTest, AReadLineThatLostASelectKeepsItsPartialLineForTheNextCall) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [a, b] = UnixStream::pair();
        BufReader in(b);
        std::string line;
        co_await a.write_all(std::string_view("first half, "));
        for (int round = 0; round < 3; ++round) {
            Task<bool> reading = in.read_line(line);
            auto r = co_await weft::select(std::move(reading), weft::sleep(std::chrono::milliseconds(20)));
            EXPECT_EQ(r.index(), 1u);  // no newline yet: the timer wins, the partial line is kept
        }
        co_await a.write_all(std::string_view("second half\nnext\n"));
        bool more = co_await in.read_line(line);
        EXPECT_TRUE(more);
        EXPECT_EQ(line, "first half, second half");
        more = co_await in.read_line(line);
        EXPECT_TRUE(more);
        EXPECT_EQ(line, "next");
        co_await a.write_all(std::string_view("no newline at the end"));
        a.shutdown(weft::net::Shutdown::write);
        more = co_await in.read_line(line);
        EXPECT_TRUE(more);
        EXPECT_EQ(line, "no newline at the end");
        more = co_await in.read_line(line);
        EXPECT_FALSE(more);
    }()));
}

TEST_P(UnixSocketTest, APairCarriesLinesBothWaysThroughBufferedReadersAndWriters) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [a, b] = UnixStream::pair();
        EXPECT_EQ(a.local_addr(), "");  // unnamed
        EXPECT_EQ(b.peer_addr(), "");
        JoinHandle<void> upper = weft::spawn([](UnixStream s) -> Task<void> {
            BufReader in(s);
            BufWriter out(s);
            std::string line;
            for (;;) {
                const bool more = co_await in.read_line(line);
                if (!more) break;
                for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                line += '\n';
                co_await out.write(line);
                co_await out.flush();
            }
        }(std::move(b)));
        BufReader in(a);
        std::string line;
        for (int i = 0; i < 200; ++i) {
            const std::string sent = "hello " + std::to_string(i) + "\n";
            co_await a.write_all(sent);
            const bool more = co_await in.read_line(line);
            CO_ASSERT_TRUE(more);
            EXPECT_EQ(line, "HELLO " + std::to_string(i));
        }
        a.shutdown(weft::net::Shutdown::write);
        co_await upper;
        const bool more = co_await in.read_line(line);
        EXPECT_FALSE(more);
    }()));
}

TEST_P(UnixSocketTest, BufReaderOverAReadHalfWhileAnotherTaskWritesThroughTheWriteHalf) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [a, b] = UnixStream::pair();
        auto [reader, writer] = std::move(a).into_split();
        JoinHandle<void> writing = weft::spawn([](weft::net::OwnedWriteHalf<UnixStream> w) -> Task<void> {
            BufWriter out(w);
            for (int i = 0; i < 500; ++i) {
                const std::string frame(static_cast<std::size_t>(i), 'f');
                co_await out.write_frame(frame);
            }
            co_await out.flush();
        }(std::move(writer)));
        JoinHandle<void> echo_task = weft::spawn(echo(std::move(b)));
        BufReader in(reader, 64);  // small: frames span many fills
        std::string frame;
        for (int i = 0; i < 500; ++i) {
            const bool got = co_await in.read_frame(frame);
            CO_ASSERT_TRUE(got);
            EXPECT_EQ(frame, std::string(static_cast<std::size_t>(i), 'f'));
        }
        const bool after = co_await in.read_frame(frame);
        EXPECT_FALSE(after);  // the write half's drop shut the write side; the echo ended
        co_await writing;
        co_await echo_task;
    }()));
}

TEST_P(UnixSocketTest, AFrameLongerThanTheLimitIsAnError) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [a, b] = UnixStream::pair();
        BufWriter out(a);
        const std::string big(100, 'x');
        co_await out.write_frame(big);
        co_await out.flush();
        BufReader in(b);
        std::string frame;
        try {
            (void)co_await in.read_frame(frame, 99);
            ADD_FAILURE() << "read a frame over the limit";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), weft::net::StreamError::frame_too_large);
        }
    }()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(UnixSocketTest);

}  // namespace
