// TCP on the reactor: echo at volume, end of stream, resets, refused connections, name errors,
// close and shutdown waking waiters, on every runtime flavour. Loopback only.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <set>
#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include <weft/runtime/net/buffered.hpp>
#include <weft/runtime/net/errors.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_socket.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::net::Accepted;
using weft::net::BufReader;
using weft::net::BufWriter;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpSocket;
using weft::net::TcpStream;

class TcpTest : public weft::test::AllRuntimes {};

// Echoes everything back until the peer shuts down its write side.
Task<void> echo(TcpStream s) {
    std::vector<char> buf(64 * 1024);
    for (;;) {
        const std::size_t n = co_await s.read(std::span<char>(buf));
        if (n == 0) break;
        co_await s.write_all(std::string_view(buf.data(), n));
    }
}

Task<void> serve(TcpListener& listener, int connections) {
    std::vector<JoinHandle<void>> handlers;
    for (int i = 0; i < connections; ++i) {
        Accepted a = co_await listener.accept();
        handlers.push_back(weft::spawn(echo(std::move(a.stream))));
    }
    for (auto& h : handlers) co_await h;
}

std::uint8_t pattern(std::uint64_t i, int seed) { return static_cast<std::uint8_t>((i * 131 + seed * 7) ^ (i >> 11)); }

// Sends `bytes` of a pattern and reads the echo concurrently; checks every byte.
Task<bool> client(std::uint16_t port, std::uint64_t bytes, int seed) {
    TcpStream s = co_await TcpStream::connect("127.0.0.1", port);
    EXPECT_TRUE(s.nodelay());
    JoinHandle<void> writer = weft::spawn([](TcpStream& s, std::uint64_t bytes, int seed) -> Task<void> {
        std::vector<char> chunk(48 * 1024 + 7);  // odd size: boundaries move around
        for (std::uint64_t sent = 0; sent < bytes;) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - sent));
            for (std::size_t i = 0; i < n; ++i) chunk[i] = static_cast<char>(pattern(sent + i, seed));
            co_await s.write_all(std::string_view(chunk.data(), n));
            sent += n;
        }
        s.shutdown(weft::net::Shutdown::write);
    }(s, bytes, seed));
    std::vector<char> buf(32 * 1024);
    std::uint64_t got = 0;
    bool intact = true;
    for (;;) {
        const std::size_t n = co_await s.read(std::span<char>(buf));
        if (n == 0) break;
        for (std::size_t i = 0; i < n; ++i) intact &= static_cast<std::uint8_t>(buf[i]) == pattern(got + i, seed);
        got += n;
    }
    co_await writer;
    EXPECT_EQ(got, bytes);
    co_return intact && got == bytes;
}

TEST_P(TcpTest, EchoMovesHundredMegabytesIntactBothWaysOverManyConnections) {
    auto rt = make_runtime();
    constexpr int kConnections = 16;
    const std::uint64_t total = weft::test::scaled(100'000'000, 20);
    const bool ok = rt->block_on([](std::uint64_t total) -> Task<bool> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        const std::uint16_t port = listener.local_addr().port();
        EXPECT_NE(port, 0);
        JoinHandle<void> server = weft::spawn(serve(listener, kConnections));
        std::vector<JoinHandle<bool>> clients;
        for (int c = 0; c < kConnections; ++c) clients.push_back(weft::spawn(client(port, total / kConnections, c)));
        bool all = true;
        for (auto& c : clients) all &= co_await c;
        co_await server;
        co_return all;
    }(total));
    EXPECT_TRUE(ok);
    EXPECT_EQ(rt->metrics().io_sources, 0u);  // every socket closed and deregistered
}

TEST_P(TcpTest, APeerThatClosesGivesEndOfStreamAndReadExactReportsIt) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        JoinHandle<void> server = weft::spawn([](TcpListener& l) -> Task<void> {
            Accepted a = co_await l.accept();
            co_await a.stream.write_all("abc");
        }(listener));  // the accepted stream is destroyed: closed
        TcpStream s = co_await TcpStream::connect(SocketAddress("127.0.0.1", listener.local_addr().port()));
        co_await server;
        char buf[8];
        try {
            co_await s.read_exact(std::span<char>(buf, 8));
            ADD_FAILURE() << "read_exact past the end succeeded";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), weft::net::StreamError::unexpected_eof);
        }
        EXPECT_EQ(co_await s.read(std::span<char>(buf, 8)), 0u);  // and stays at end of stream
    }());
}

TEST_P(TcpTest, AShortReadOfTheLastBytesStillSeesEndOfStream) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        {
            Accepted a = co_await listener.accept();
            co_await a.stream.write_all("ten bytes!");
        }  // closed: FIN right behind the data
        co_await weft::sleep(5ms);  // both have arrived
        char buf[100];
        const std::size_t first = co_await s.read(std::span<char>(buf, 100));  // short: 10 of 100
        EXPECT_EQ(std::string(buf, first), "ten bytes!");
        const std::size_t second = co_await s.read(std::span<char>(buf, 100));
        EXPECT_EQ(second, 0u);  // end of stream, not a wait for an edge that already came
    }());
}

TEST_P(TcpTest, AResetIsAnErrorWithItsErrno) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        Accepted a = co_await listener.accept();
        linger abort_on_close{1, 0};  // close sends RST
        ::setsockopt(a.stream.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
        { TcpStream gone = std::move(a.stream); }
        co_await weft::sleep(5ms);
        char buf[8];
        try {
            (void)co_await s.read(std::span<char>(buf, 8));
            ADD_FAILURE() << "read after a reset succeeded";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ECONNRESET, std::system_category()));
        }
    }());
}

TEST_P(TcpTest, ConnectingToAClosedPortIsRefused) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        std::uint16_t port;
        { port = TcpListener::bind("127.0.0.1", 0).local_addr().port(); }  // free now
        try {
            (void)co_await TcpStream::connect("127.0.0.1", port);
            ADD_FAILURE() << "connected to a closed port";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
            EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
        }
    }());
}

TEST_P(TcpTest, AnUnresolvableNameIsAResolverError) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        try {
            (void)co_await TcpStream::connect("no-such-host.invalid", 80);
            ADD_FAILURE() << "resolved a .invalid name";
        } catch (const std::system_error& e) {
            EXPECT_NE(e.code().category(), std::system_category()) << e.what();
            EXPECT_NE(std::string(e.what()).find("no-such-host.invalid"), std::string::npos);
        }
    }());
}

TEST_P(TcpTest, LocalhostResolvesOffTheWorkers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("localhost", listener.local_addr().port());
        Accepted a = co_await listener.accept();
        EXPECT_EQ(a.peer.port(), s.local_addr().port());
    }());
}

TEST_P(TcpTest, ClosingAStreamWakesAReaderWaitingOnItWithAnError) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        Accepted peer = co_await listener.accept();
        JoinHandle<int> reader = weft::spawn([](TcpStream& s) -> Task<int> {
            char buf[8];
            try {
                (void)co_await s.read(std::span<char>(buf, 8));
                co_return 0;
            } catch (const std::system_error& e) {
                co_return e.code().value();
            }
        }(s));
        co_await weft::sleep(10ms);  // the reader waits on the socket
        s.close();
        EXPECT_EQ(co_await reader, ECANCELED);
        EXPECT_FALSE(s.is_open());
    }());
}

TEST_P(TcpTest, ClosingAListenerWakesAPendingAccept) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        JoinHandle<Accepted> acceptor = weft::spawn(listener.accept());
        co_await weft::sleep(10ms);
        listener.close();
        EXPECT_THROW(co_await acceptor, std::system_error);
    }());
}

TEST_P(TcpTest, ThreeTasksAcceptingOnOneListenerEachGetAConnection) {
    // Each accept waits on the same listener: every one must be woken as connections arrive (one
    // waker slot per direction let the last waiter replace the others, which then hung).
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        const std::uint16_t port = listener.local_addr().port();
        std::vector<JoinHandle<std::uint16_t>> acceptors;
        for (int i = 0; i < 3; ++i) {
            acceptors.push_back(weft::spawn([](TcpListener& l) -> Task<std::uint16_t> {
                Accepted a = co_await l.accept();
                co_return a.peer.port();
            }(listener)));
        }
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();  // all three wait before the first connection
        std::vector<TcpStream> clients;
        std::set<std::uint16_t> client_ports;
        for (int i = 0; i < 3; ++i) {
            clients.push_back(co_await TcpStream::connect("127.0.0.1", port));
            client_ports.insert(clients.back().local_addr().port());
        }
        std::set<std::uint16_t> accepted;
        for (auto& a : acceptors) {
            auto r = co_await weft::timeout(10s, a);  // a guard: a lost wake would hang here
            accepted.insert(std::move(r).value());  // throws TimeoutError if it did
        }
        EXPECT_EQ(accepted, client_ports);  // each connection accepted once, none lost
    }());
}

TEST_P(TcpTest, TwoTasksReadingOneStreamAreBothWokenAndNoByteIsLostOrDuplicated) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        Accepted peer = co_await listener.accept();
        auto read_one = [](TcpStream& s) -> Task<char> {
            char c = 0;
            const std::size_t n = co_await s.read(std::span<char>(&c, 1));
            EXPECT_EQ(n, 1u);
            co_return c;
        };
        JoinHandle<char> first = weft::spawn(read_one(peer.stream));
        JoinHandle<char> second = weft::spawn(read_one(peer.stream));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();  // both wait
        co_await s.write_all("a");
        co_await weft::sleep(5ms);  // two edges, not one: one reader takes 'a' first
        co_await s.write_all("b");
        std::string got;
        for (JoinHandle<char>* h : {&first, &second}) {
            auto r = co_await weft::timeout(10s, *h);
            got += std::move(r).value();
        }
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, "ab");
    }());
}

TEST_P(TcpTest, AnAcceptCancelledWhileWaitingLeavesTheOthersWaitingAndTakesNoConnection) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        const std::uint16_t port = listener.local_addr().port();
        auto accept_one = [](TcpListener& l) -> Task<std::uint16_t> {
            Accepted a = co_await l.accept();
            co_return a.peer.port();
        };
        JoinHandle<std::uint16_t> kept = weft::spawn(accept_one(listener));
        JoinHandle<std::uint16_t> cancelled = weft::spawn(accept_one(listener));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        cancelled.abort();  // its wait node leaves the listener's list
        TcpStream client = co_await TcpStream::connect("127.0.0.1", port);
        auto r = co_await weft::timeout(10s, kept);
        EXPECT_EQ(std::move(r).value(), client.local_addr().port());
        EXPECT_THROW(co_await cancelled, weft::JoinError);
    }());
}

TEST_P(TcpTest, BindingAPortInUseNamesTheError) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener first = TcpListener::bind("127.0.0.1", 0);
        try {
            (void)TcpListener::bind("127.0.0.1", first.local_addr().port());
            ADD_FAILURE() << "bound a port in use";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(EADDRINUSE, std::system_category()));
        }
        co_return;
    }());
}

TEST_P(TcpTest, BufferedLinesRoundTripAcrossOddChunkBoundaries) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        const int lines = 2000;
        JoinHandle<void> server = weft::spawn([](TcpListener& l, int lines) -> Task<void> {
            Accepted a = co_await l.accept();
            BufWriter out(a.stream, 100);  // tiny: lines straddle flushes
            for (int i = 0; i < lines; ++i) co_await out.write("line " + std::to_string(i) + (i % 2 ? "\r\n" : "\n"));
            co_await out.write("no newline at the end");
            co_await out.flush();
        }(listener, lines));
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        BufReader in(s, 7);  // tiny: lines straddle reads
        std::string line;
        for (int i = 0; i < lines; ++i) {
            const bool more = co_await in.read_line(line);
            EXPECT_TRUE(more);
            EXPECT_EQ(line, "line " + std::to_string(i));
        }
        const bool last = co_await in.read_line(line);
        EXPECT_TRUE(last);
        EXPECT_EQ(line, "no newline at the end");
        const bool after_end = co_await in.read_line(line);
        EXPECT_FALSE(after_end);
        co_await server;
    }());
}

// Reads until end of stream.
Task<std::string> read_to_end(TcpStream& s) {
    std::string all;
    std::vector<char> buf(256 * 1024);
    for (;;) {
        const std::size_t n = co_await s.read(std::span<char>(buf));
        if (n == 0) break;
        all.append(buf.data(), n);
    }
    co_return all;
}

TEST_P(TcpTest, AFlushAbandonedPartWayLeavesOnlyTheUnsentBytesAndALaterFlushSendsEachOnce) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        Accepted peer = co_await listener.accept();
        // More than loopback's socket buffers hold, so a flush stalls while the peer does not read.
        const std::size_t bytes = 32u << 20;
        std::string data(bytes, '\0');
        for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(pattern(i, 3));
        BufWriter out(s, bytes + 1);
        co_await out.write(data);
        EXPECT_EQ(out.buffered(), bytes);
        auto first = co_await weft::timeout(50ms, out.flush());
        EXPECT_TRUE(first.timed_out());
        EXPECT_GT(out.buffered(), 0u);
        EXPECT_LT(out.buffered(), bytes);  // part went out before the socket filled
        JoinHandle<std::string> reader = weft::spawn(read_to_end(peer.stream));
        co_await out.flush();
        EXPECT_EQ(out.buffered(), 0u);
        s.shutdown(weft::net::Shutdown::write);
        std::string got = co_await reader;
        EXPECT_EQ(got.size(), bytes);
        EXPECT_TRUE(got == data) << "bytes repeated, lost or reordered";
    }());
}

TEST(SocketAddress, EqualityComparesFamilyAddressAndPort) {
    EXPECT_EQ(SocketAddress("127.0.0.1", 80), SocketAddress("127.0.0.1", 80));
    EXPECT_NE(SocketAddress("127.0.0.1", 80), SocketAddress("127.0.0.1", 81));
    EXPECT_NE(SocketAddress("127.0.0.1", 80), SocketAddress("127.0.0.2", 80));
    EXPECT_EQ(SocketAddress("::1", 80), SocketAddress("[::1]", 80));
    EXPECT_NE(SocketAddress("::1", 80), SocketAddress("::2", 80));
    EXPECT_NE(SocketAddress("::ffff:127.0.0.1", 80), SocketAddress("127.0.0.1", 80));  // families differ
    EXPECT_EQ(SocketAddress(), SocketAddress());
    EXPECT_NE(SocketAddress(), SocketAddress("0.0.0.0", 0));
}

TEST_P(TcpTest, ReadTimesOutCleanlyAndTheDataStillArrivesLater) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
        Accepted peer = co_await listener.accept();
        char buf[16];
        auto r = co_await weft::timeout(10ms, s.read(std::span<char>(buf, 16)));
        EXPECT_TRUE(r.timed_out());
        co_await peer.stream.write_all("late");
        const std::size_t n = co_await s.read(std::span<char>(buf, 16));
        EXPECT_EQ(std::string(buf, n), "late");
    }());
}

TEST(TcpShutdown, DestroyingTheRuntimeClosesItsSocketsAndLaterUseFails) {
    std::unique_ptr<weft::Runtime> rt = std::make_unique<weft::Runtime>();
    std::uint16_t port = 0;
    TcpStream kept = rt->block_on([](std::uint16_t& port) -> Task<TcpStream> {
        static TcpListener listener;
        listener = TcpListener::bind("127.0.0.1", 0);
        port = listener.local_addr().port();
        // A task that will still be waiting on its socket when the runtime goes.
        weft::spawn([]() -> Task<void> {
            Accepted a = co_await listener.accept();
            char buf[4];
            (void)co_await a.stream.read(std::span<char>(buf, 4));
        }()).detach();
        co_return co_await TcpStream::connect("127.0.0.1", port);
    }(port));
    rt.reset();
    EXPECT_FALSE(kept.is_open());
    char buf[4];
    // Shut down: a read sees end of stream (or the reset the peer's close raced in), never
    // "no data yet" as on a live socket.
    const ssize_t r = ::recv(kept.native_handle(), buf, 4, 0);
    const int err = errno;
    EXPECT_TRUE(r == 0 || (r < 0 && err != EAGAIN && err != EWOULDBLOCK)) << "recv " << r << " errno " << err;
    // The stream outlived its runtime: using it (from another runtime) is a clear error, not a
    // hang or a crash.
    weft::Runtime other;
    EXPECT_THROW(other.block_on([](TcpStream& s) -> Task<void> {
        char buf[4];
        (void)co_await s.read(std::span<char>(buf, 4));
    }(kept)),
                 weft::RuntimeShutdownError);
}

TEST_P(TcpTest, StreamOptionsRoundTrip) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = TcpListener::bind("127.0.0.1", 0);
        TcpStream s = co_await TcpStream::connect(listener.local_addr());
        s.set_nodelay(false);
        EXPECT_FALSE(s.nodelay());
        s.set_nodelay(true);
        EXPECT_TRUE(s.nodelay());
        s.set_ttl(42);
        EXPECT_EQ(s.ttl(), 42u);
        EXPECT_FALSE(s.linger().has_value());
        s.set_linger(std::chrono::seconds(3));
        EXPECT_EQ(s.linger(), std::optional<std::chrono::seconds>(3));
        s.set_linger(std::nullopt);
        EXPECT_FALSE(s.linger().has_value());
        s.set_keepalive(true);
        EXPECT_TRUE(s.keepalive());
        s.set_keepalive(false);
        EXPECT_FALSE(s.keepalive());
        s.set_recv_buffer_size(32 * 1024);
        EXPECT_GE(s.recv_buffer_size(), 32u * 1024);  // Linux doubles it
        s.set_send_buffer_size(32 * 1024);
        EXPECT_GE(s.send_buffer_size(), 32u * 1024);
        try {
            s.set_ttl(1000);  // out of range
            ADD_FAILURE() << "a TTL of 1000 was accepted";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(EINVAL, std::system_category()));
        }
        co_return;
    }());
}

TEST_P(TcpTest, ATcpSocketIsConfiguredBeforeItListensOrConnects) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpSocket server = TcpSocket::new_v4();
        server.set_reuseaddr(true);
        server.set_reuseport(true);
        EXPECT_TRUE(server.reuseaddr());
        EXPECT_TRUE(server.reuseport());
        server.set_recv_buffer_size(64 * 1024);
        EXPECT_GE(server.recv_buffer_size(), 64u * 1024);
        server.bind(SocketAddress("127.0.0.1", 0));
        const SocketAddress address = server.local_addr();
        TcpListener listener = std::move(server).listen(16);
        EXPECT_EQ(server.native_handle(), -1);  // consumed
        EXPECT_EQ(listener.local_addr(), address);

        // A second listener on the same port: allowed because both set SO_REUSEPORT.
        TcpSocket twin = TcpSocket::new_v4();
        twin.set_reuseport(true);
        twin.bind(address);
        TcpListener second = std::move(twin).listen(16);

        TcpSocket client = TcpSocket::new_v4();
        EXPECT_TRUE(client.nodelay());  // on by default, as every weft stream
        client.set_nodelay(false);
        client.set_keepalive(true);
        client.set_send_buffer_size(64 * 1024);
        TcpStream s = co_await std::move(client).connect(address);
        EXPECT_FALSE(s.nodelay());  // what the socket was configured with carries over
        EXPECT_TRUE(s.keepalive());
        EXPECT_GE(s.send_buffer_size(), 64u * 1024);
        EXPECT_EQ(s.peer_addr(), address);
        co_await s.write_all("hi");
    }());
}

TEST_P(TcpTest, ConnectingATcpSocketToAClosedPortIsRefused) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        SocketAddress gone;
        { gone = TcpListener::bind("127.0.0.1", 0).local_addr(); }
        TcpSocket client = TcpSocket::new_v4();
        try {
            (void)co_await std::move(client).connect(gone);
            ADD_FAILURE() << "connected to a closed port";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
        }
    }());
}

TEST_P(TcpTest, BindAndConnectByHostAndPortString) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TcpListener listener = co_await TcpListener::bind(std::string("localhost:0"));
        const SocketAddress bound = listener.local_addr();
        EXPECT_NE(bound.port(), 0);
        const std::string target = "localhost:" + std::to_string(bound.port());
        TcpStream s = co_await TcpStream::connect(target);  // tries each address of localhost in turn
        Accepted a = co_await listener.accept();
        EXPECT_EQ(s.peer_addr(), bound);
        EXPECT_EQ(a.peer, s.local_addr());
        TcpStream numeric = co_await TcpStream::connect(bound.to_string());  // "127.0.0.1:p" or "[::1]:p"
        Accepted b = co_await listener.accept();
        EXPECT_EQ(b.peer, numeric.local_addr());
    }());
}

TEST_P(TcpTest, AHostNameConnectToAClosedPortIsRefusedAndABadPortIsInvalid) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        std::uint16_t port;
        { port = TcpListener::bind("127.0.0.1", 0).local_addr().port(); }
        const std::string target = "localhost:" + std::to_string(port);
        try {
            (void)co_await TcpStream::connect(target);
            ADD_FAILURE() << "connected to a closed port";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
        }
        const std::vector<std::string> bad_targets = {"localhost", "localhost:", "localhost:http", "localhost:70000"};
        for (const std::string& bad : bad_targets) {
            const std::string text = bad;
            try {
                (void)co_await TcpStream::connect(text);
                ADD_FAILURE() << "accepted " << bad;
            } catch (const std::invalid_argument&) {
            }
        }
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TcpTest);

}  // namespace
