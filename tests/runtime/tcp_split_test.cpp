// TcpStream::into_split: owned halves used by two tasks at once, the write half's shutdown on
// drop, reunite (and its failure for halves of two streams), buffering over a half. Loopback only.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include <weft/runtime/net/buffered.hpp>
#include <weft/runtime/net/split.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/net_helpers.hpp"
#include "support/task_helpers.hpp"
#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::net::BufReader;
using weft::net::OwnedReadHalf;
using weft::net::OwnedWriteHalf;
using weft::net::TcpListener;
using weft::net::TcpStream;
using weft::test::bounded;

class TcpSplitTest : public weft::test::AllRuntimes {};

// A connected pair over loopback: (client end, server end).
Task<std::pair<TcpStream, TcpStream>> connected_pair() {
    TcpListener listener = TcpListener::bind("127.0.0.1", 0);
    TcpStream client = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
    weft::net::Accepted accepted = co_await listener.accept();
    std::pair<TcpStream, TcpStream> out(std::move(client), std::move(accepted.stream));
    co_return out;
}

// One end: a task writes `bytes` of pattern `send_seed` through the write half and drops it (the
// peer then reads end of stream) while this task reads the peer's pattern through the read half.
Task<bool> run_end(TcpStream stream, std::uint64_t bytes, int send_seed, int recv_seed) {
    auto [reader, writer] = std::move(stream).into_split();
    JoinHandle<void> writing = weft::spawn([](OwnedWriteHalf<TcpStream> w, std::uint64_t bytes, int seed) -> Task<void> {
        co_await weft::test::write_pattern(w, bytes, seed);
    }(std::move(writer), bytes, send_seed));  // destroying the half at the end shuts the write side down
    const bool intact = co_await weft::test::read_pattern(reader, bytes, recv_seed);
    co_await writing;
    co_return intact;
}

TEST_P(TcpSplitTest, HalvesInTwoTasksEchoAMegabyteBothWaysAtOnce) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [a, b] = co_await connected_pair();
        constexpr std::uint64_t kBytes = 1 << 20;  // more than the socket buffers hold: needs both directions at once
        JoinHandle<bool> end_a = weft::spawn(run_end(std::move(a), kBytes, 1, 2));
        JoinHandle<bool> end_b = weft::spawn(run_end(std::move(b), kBytes, 2, 1));
        const bool a_intact = co_await end_a;
        const bool b_intact = co_await end_b;
        EXPECT_TRUE(a_intact);
        EXPECT_TRUE(b_intact);
    }()));
    EXPECT_EQ(rt->metrics().io_sources, 0u);  // both streams closed when their halves went
}

TEST_P(TcpSplitTest, DroppingTheWriteHalfShutsTheWriteSideButTheReadHalfReadsOn) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [client, server] = co_await connected_pair();
        auto [reader, writer] = std::move(client).into_split();
        co_await writer.write_all("last words");
        { OwnedWriteHalf<TcpStream> gone = std::move(writer); }
        std::string got;
        BufReader in(server);
        const std::size_t n = co_await in.read_until('\n', got);  // no newline: reads to end of stream
        EXPECT_EQ(n, 10u);
        EXPECT_EQ(got, "last words");
        co_await server.write_all("reply");
        char buf[16];
        const std::size_t r = co_await reader.read(std::span<char>(buf));
        EXPECT_EQ(std::string(buf, r), "reply");
    }()));
}

TEST_P(TcpSplitTest, AForgottenWriteHalfLeavesTheWriteSideOpen) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [client, server] = co_await connected_pair();
        auto [reader, writer] = std::move(client).into_split();
        writer.forget();
        { OwnedWriteHalf<TcpStream> gone = std::move(writer); }
        char buf[8];
        auto r = co_await weft::timeout(20ms, server.read(std::span<char>(buf)));
        EXPECT_TRUE(r.timed_out());  // no end of stream arrived
        co_await server.write_all("ok");
        const std::size_t n = co_await reader.read(std::span<char>(buf));
        EXPECT_EQ(std::string(buf, n), "ok");
    }()));
}

TEST_P(TcpSplitTest, ReuniteGivesTheWholeStreamBackWithoutAShutdown) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [client, server] = co_await connected_pair();
        const auto local = client.local_addr();
        auto [reader, writer] = std::move(client).into_split();
        EXPECT_TRUE(reader.is_pair_of(writer));
        EXPECT_EQ(writer.local_addr(), local);
        EXPECT_EQ(reader.peer_addr(), server.local_addr());
        TcpStream whole = std::move(reader).reunite(std::move(writer));
        co_await whole.write_all("still open");
        char buf[16];
        co_await server.read_exact(std::span<char>(buf, 10));
        EXPECT_EQ(std::string(buf, 10), "still open");
        co_await server.write_all("both ways");
        co_await whole.read_exact(std::span<char>(buf, 9));
        EXPECT_EQ(std::string(buf, 9), "both ways");
    }()));
}

TEST_P(TcpSplitTest, ReunitingHalvesOfTwoStreamsThrowsAndConsumesNeither) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [c1, s1] = co_await connected_pair();
        auto [c2, s2] = co_await connected_pair();
        auto [r1, w1] = std::move(c1).into_split();
        auto [r2, w2] = std::move(c2).into_split();
        EXPECT_FALSE(r1.is_pair_of(w2));
        EXPECT_THROW((void)std::move(r1).reunite(std::move(w2)), weft::net::ReuniteError);
        // Both halves still work and still belong to their streams.
        co_await w2.write_all("two");
        char buf[4];
        co_await s2.read_exact(std::span<char>(buf, 3));
        EXPECT_EQ(std::string(buf, 3), "two");
        co_await s1.write_all("one");
        co_await r1.read_exact(std::span<char>(buf, 3));
        EXPECT_EQ(std::string(buf, 3), "one");
        TcpStream whole1 = std::move(r1).reunite(std::move(w1));
        TcpStream whole2 = std::move(r2).reunite(std::move(w2));
        EXPECT_TRUE(whole1.is_open());
        EXPECT_TRUE(whole2.is_open());
    }()));
}

TEST_P(TcpSplitTest, BufReaderAndBufWriterWorkOverTheHalves) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        auto [client, server] = co_await connected_pair();
        auto [reader, writer] = std::move(client).into_split();
        JoinHandle<void> sending = weft::spawn([](OwnedWriteHalf<TcpStream> w) -> Task<void> {
            weft::net::BufWriter out(w);
            for (int i = 0; i < 1000; ++i) {
                const std::string line = "line " + std::to_string(i) + "\r\n";
                co_await out.write(line);
            }
            co_await out.write_frame("a frame");
            co_await out.flush();
        }(std::move(writer)));  // dropped at the end: the server reads end of stream
        // The server echoes everything back through its own halves.
        JoinHandle<void> echo = weft::spawn([](TcpStream s) -> Task<void> {
            auto [r, w] = std::move(s).into_split();
            char buf[1000];
            for (;;) {
                const std::size_t n = co_await r.read(std::span<char>(buf));
                if (n == 0) break;
                co_await w.write_all(std::string_view(buf, n));
            }
        }(std::move(server)));
        BufReader in(reader);
        std::string line;
        for (int i = 0; i < 1000; ++i) {
            const bool more = co_await in.read_line(line);
            CO_ASSERT_TRUE(more);
            EXPECT_EQ(line, "line " + std::to_string(i));
        }
        std::string frame;
        const bool got_frame = co_await in.read_frame(frame);
        EXPECT_TRUE(got_frame);
        EXPECT_EQ(frame, "a frame");
        const bool after = co_await in.read_frame(frame);
        EXPECT_FALSE(after);  // end of stream between frames
        co_await sending;
        co_await echo;
    }()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TcpSplitTest);

}  // namespace
