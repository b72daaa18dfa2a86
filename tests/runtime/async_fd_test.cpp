// AsyncFd and the readiness API: pipes and eventfds waited on through the reactor, several waiters
// on one descriptor, clear_ready, deregistration, and TcpStream's readable / try_read / try_write,
// on every runtime flavour.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <weft/runtime/async_fd.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::AsyncFd;
using weft::AsyncFdReadyGuard;
using weft::JoinHandle;
using weft::Task;
using weft::net::Accepted;
using weft::net::TcpListener;
using weft::net::TcpStream;

class AsyncFdTest : public weft::test::AllRuntimes {};

// A non-blocking pipe, closed by the fixture's end of scope.
struct Pipe {
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "pipe2");
        read_fd = fds[0];
        write_fd = fds[1];
    }
    ~Pipe() {
        if (read_fd >= 0) ::close(read_fd);
        if (write_fd >= 0) ::close(write_fd);
    }
    void close_writer() { ::close(std::exchange(write_fd, -1)); }
    int read_fd;
    int write_fd;
};

// Waits for readability, bounded: a lost wake fails the test (value() throws) instead of hanging.
Task<AsyncFdReadyGuard> wait_readable(AsyncFd& fd) {
    auto r = co_await weft::timeout(10s, fd.readable());
    co_return std::move(r).value();
}

// A connected loopback pair: the connecting end and the accepted end.
Task<std::pair<TcpStream, TcpStream>> connected_pair() {
    TcpListener listener = TcpListener::bind("127.0.0.1", 0);
    TcpStream s = co_await TcpStream::connect("127.0.0.1", listener.local_addr().port());
    Accepted peer = co_await listener.accept();
    co_return std::pair<TcpStream, TcpStream>(std::move(s), std::move(peer.stream));
}

bool is_open_fd(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

// Reads what the pipe holds through the guard; nullopt when it would block.
std::optional<std::string> read_some(AsyncFdReadyGuard& guard, int fd) {
    char buf[64];
    auto n = guard.try_io([&] { return ::read(fd, buf, sizeof buf); });
    if (!n) return std::nullopt;
    EXPECT_GE(*n, 0);
    return std::string(buf, static_cast<std::size_t>(*n));
}

TEST_P(AsyncFdTest, APipeBecomesReadableWhenWrittenAndTryIoReadsIt) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd fd(p.read_fd);
        JoinHandle<std::string> reader = weft::spawn([](AsyncFd& fd, int raw) -> Task<std::string> {
            for (;;) {
                AsyncFdReadyGuard guard = co_await fd.readable();
                EXPECT_TRUE(guard.ready().is_readable());
                if (auto got = read_some(guard, raw)) co_return *got;
            }
        }(fd, p.read_fd));
        co_await weft::sleep(5ms);  // the reader waits
        EXPECT_EQ(::write(p.write_fd, "ping", 4), 4);
        auto r = co_await weft::timeout(10s, reader);
        EXPECT_EQ(std::move(r).value(), "ping");
    }());
}

TEST_P(AsyncFdTest, APipeIsWritableUntilFullAndAgainOnceDrained) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd w(p.write_fd);
        std::vector<char> chunk(4096, 'x');
        std::size_t written = 0;
        // Fill the pipe through try_io until it would block.
        for (;;) {
            auto r = co_await weft::timeout(10s, w.writable());
            AsyncFdReadyGuard guard = std::move(r).value();
            EXPECT_TRUE(guard.ready().is_writable());
            auto n = guard.try_io([&] { return ::write(p.write_fd, chunk.data(), chunk.size()); });
            if (!n) break;
            EXPECT_GT(*n, 0);
            written += static_cast<std::size_t>(*n);
        }
        EXPECT_GT(written, 0u);
        // Full: a wait for writability now suspends.
        auto full = co_await weft::timeout(20ms, w.writable());
        EXPECT_TRUE(full.timed_out());
        // Drain it from another task: the writer wakes.
        JoinHandle<void> drainer = weft::spawn([](int fd) -> Task<void> {
            co_await weft::sleep(5ms);
            char buf[65536];
            while (::read(fd, buf, sizeof buf) > 0) {
            }
        }(p.read_fd));
        auto again = co_await weft::timeout(10s, w.writable());
        EXPECT_TRUE(std::move(again).value().ready().is_writable());
        co_await drainer;
    }());
}

TEST_P(AsyncFdTest, AnEventfdCountArrivesThroughReadable) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        EXPECT_GE(efd, 0);
        AsyncFd fd = AsyncFd::adopt(efd);
        JoinHandle<std::uint64_t> reader = weft::spawn([](AsyncFd& fd) -> Task<std::uint64_t> {
            for (;;) {
                AsyncFdReadyGuard guard = co_await fd.readable();
                std::uint64_t v = 0;
                auto n = guard.try_io([&] { return ::read(fd.native_handle(), &v, sizeof v); });
                if (n) co_return v;
            }
        }(fd));
        co_await weft::sleep(5ms);
        const std::uint64_t three = 3;
        EXPECT_EQ(::write(efd, &three, sizeof three), 8);
        auto r = co_await weft::timeout(10s, reader);
        EXPECT_EQ(std::move(r).value(), 3u);
    }());
}

TEST_P(AsyncFdTest, TwoTasksWaitingForOneDescriptorAreBothWoken) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd fd(p.read_fd);
        auto wait = [](AsyncFd& fd) -> Task<bool> {
            AsyncFdReadyGuard guard = co_await fd.readable();
            co_return guard.ready().is_readable();
        };
        JoinHandle<bool> first = weft::spawn(wait(fd));
        JoinHandle<bool> second = weft::spawn(wait(fd));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();  // both wait
        co_await weft::sleep(5ms);
        EXPECT_EQ(::write(p.write_fd, "x", 1), 1);  // one edge
        for (JoinHandle<bool>* h : {&first, &second}) {
            auto r = co_await weft::timeout(10s, *h);  // a lost wake fails here, not hangs
            EXPECT_TRUE(std::move(r).value());
        }
    }());
}

TEST_P(AsyncFdTest, ClearReadyMakesTheNextWaitSuspendUntilANewEdge) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd fd(p.read_fd);
        EXPECT_EQ(::write(p.write_fd, "a", 1), 1);
        {
            AsyncFdReadyGuard guard = co_await wait_readable(fd);
            // Not cleared: the next wait returns at once (the data is still there).
            auto again = co_await weft::timeout(10s, fd.readable());
            EXPECT_TRUE(again);
            guard.clear_ready();
        }
        // Cleared: the wait suspends though the byte is unread (edge-triggered, as in Tokio).
        auto cleared = co_await weft::timeout(20ms, fd.readable());
        EXPECT_TRUE(cleared.timed_out());
        EXPECT_EQ(::write(p.write_fd, "b", 1), 1);  // a new edge
        AsyncFdReadyGuard guard = co_await wait_readable(fd);
        EXPECT_EQ(read_some(guard, p.read_fd), std::optional<std::string>("ab"));
    }());
}

TEST_P(AsyncFdTest, TryIoThatWouldBlockClearsReadiness) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd fd(p.read_fd);
        EXPECT_EQ(::write(p.write_fd, "a", 1), 1);
        AsyncFdReadyGuard guard = co_await wait_readable(fd);
        EXPECT_EQ(read_some(guard, p.read_fd), std::optional<std::string>("a"));
        EXPECT_EQ(read_some(guard, p.read_fd), std::nullopt);  // EAGAIN: cleared
        EXPECT_EQ(errno, EAGAIN);
        auto waiting = co_await weft::timeout(20ms, fd.readable());
        EXPECT_TRUE(waiting.timed_out());
    }());
}

TEST_P(AsyncFdTest, AHangUpIsReadableAndStaysSoAfterClearReady) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd fd(p.read_fd);
        p.close_writer();
        for (int i = 0; i < 2; ++i) {
            AsyncFdReadyGuard guard = co_await wait_readable(fd);
            EXPECT_TRUE(guard.ready().is_read_closed());
            EXPECT_EQ(read_some(guard, p.read_fd), std::optional<std::string>(""));  // end of stream
            guard.clear_ready();  // hang-up is final: the second wait still returns
        }
    }());
}

TEST_P(AsyncFdTest, DeregisteringWakesWaitersWithECanceledAndLeavesTheDescriptorOpen) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        AsyncFd fd(p.read_fd);
        JoinHandle<int> waiter = weft::spawn([](AsyncFd& fd) -> Task<int> {
            try {
                (void)co_await fd.readable();
                co_return 0;
            } catch (const std::system_error& e) {
                co_return e.code().value();
            }
        }(fd));
        co_await weft::sleep(5ms);
        fd.deregister();
        auto r = co_await weft::timeout(10s, waiter);
        EXPECT_EQ(std::move(r).value(), ECANCELED);
        EXPECT_FALSE(fd.is_registered());
        EXPECT_THROW((void)co_await fd.readable(), std::system_error);
        EXPECT_TRUE(is_open_fd(p.read_fd));
    }());
}

TEST_P(AsyncFdTest, DestroyingClosesOnlyAnAdoptedDescriptorAndIntoInnerHandsItBack) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe p;
        { AsyncFd borrowed(p.read_fd); }
        EXPECT_TRUE(is_open_fd(p.read_fd));
        // Registrable again once the first AsyncFd is gone.
        AsyncFd again(p.read_fd);
        EXPECT_EQ(again.into_inner(), p.read_fd);
        EXPECT_EQ(again.native_handle(), -1);
        EXPECT_TRUE(is_open_fd(p.read_fd));

        const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        { AsyncFd owned = AsyncFd::adopt(efd); }
        EXPECT_FALSE(is_open_fd(efd));
        co_return;
    }());
}

TEST_P(AsyncFdTest, ABlockingOrInvalidDescriptorIsRefused) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        const int efd = ::eventfd(0, EFD_CLOEXEC);  // blocking
        EXPECT_THROW(AsyncFd{efd}, std::invalid_argument);
        EXPECT_THROW(AsyncFd::adopt(efd), std::invalid_argument);
        EXPECT_FALSE(is_open_fd(efd));  // adopt took it, even failing
        EXPECT_THROW(AsyncFd{-1}, std::invalid_argument);
        co_return;
    }());
}

TEST_P(AsyncFdTest, ReadinessWaitsRaceInSelect) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Pipe a, b;
        AsyncFd fa(a.read_fd), fb(b.read_fd);
        EXPECT_EQ(::write(b.write_fd, "b", 1), 1);
        auto r = co_await weft::timeout(10s, weft::select(fa.readable(), fb.readable()));
        EXPECT_EQ(std::move(r).value().index(), 1u);
        EXPECT_EQ(fa.native_handle(), a.read_fd);
    }());
}

// TcpStream's readiness and non-blocking calls use the same code as AsyncFd.
TEST_P(AsyncFdTest, TcpTryReadWouldBlockUntilDataThenReadsIt) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [s, peer] = co_await connected_pair();
        char buf[16];
        EXPECT_EQ(s.try_read(std::span<char>(buf)), std::nullopt);
        auto idle = co_await weft::timeout(20ms, s.readable());
        EXPECT_TRUE(idle.timed_out());
        co_await peer.write_all("hello");
        std::string got;
        while (got.size() < 5) {
            auto r = co_await weft::timeout(10s, s.readable());
            EXPECT_TRUE(std::move(r).value().is_readable());
            if (auto n = s.try_read(std::span<char>(buf))) got.append(buf, *n);
        }
        EXPECT_EQ(got, "hello");
        EXPECT_EQ(s.try_read(std::span<char>(buf)), std::nullopt);  // drained
        peer.close();
        std::optional<std::size_t> eof;
        while (!eof) {
            (void)co_await weft::timeout(10s, s.readable());
            eof = s.try_read(std::span<char>(buf));
        }
        EXPECT_EQ(*eof, 0u);
    }());
}

TEST_P(AsyncFdTest, TcpTryWriteWouldBlockWhenTheSendBufferIsFullAndWritableWaits) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [s, peer] = co_await connected_pair();
        const std::string chunk(64 * 1024, 'z');
        std::size_t sent = 0;
        for (;;) {
            auto ready = co_await weft::timeout(10s, s.ready(weft::Interest::writable | weft::Interest::readable));
            EXPECT_TRUE(std::move(ready).value().is_writable());
            auto n = s.try_write(chunk);
            if (!n) break;
            sent += *n;
        }
        EXPECT_GT(sent, 0u);
        auto full = co_await weft::timeout(20ms, s.writable());
        EXPECT_TRUE(full.timed_out());
        // The peer reads everything: the writer becomes writable again.
        JoinHandle<std::size_t> drain = weft::spawn([](TcpStream& in, std::size_t want) -> Task<std::size_t> {
            std::vector<char> buf(64 * 1024);
            std::size_t got = 0;
            while (got < want) got += co_await in.read(std::span<char>(buf));
            co_return got;
        }(peer, sent));
        auto w = co_await weft::timeout(10s, s.writable());
        EXPECT_TRUE(std::move(w).value().is_writable());
        auto d = co_await weft::timeout(10s, drain);
        EXPECT_EQ(std::move(d).value(), sent);
    }());
}

TEST_P(AsyncFdTest, TcpTryReadAfterCloseIsECanceled) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [s, peer] = co_await connected_pair();
        s.close();
        char buf[4];
        try {
            (void)s.try_read(std::span<char>(buf));
            ADD_FAILURE() << "try_read on a closed stream returned";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), ECANCELED);
        }
        EXPECT_THROW((void)co_await s.readable(), std::system_error);
    }());
}

TEST(AsyncFdShutdown, TheRuntimesShutdownFailsWaitsAndLeavesTheUsersSocketAlone) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    auto rt = std::make_unique<weft::Runtime>();
    AsyncFd fd = rt->block_on([](int raw) -> Task<AsyncFd> { co_return AsyncFd(raw); }(sv[0]));
    rt.reset();
    EXPECT_FALSE(fd.is_registered());
    weft::Runtime other;
    EXPECT_THROW(other.block_on([](AsyncFd& fd) -> Task<void> { (void)co_await fd.readable(); }(fd)),
                 weft::RuntimeShutdownError);
    // Not shut down, unlike a TcpStream's socket: it still carries bytes both ways.
    EXPECT_EQ(::send(sv[0], "x", 1, MSG_NOSIGNAL), 1);
    char c = 0;
    EXPECT_EQ(::recv(sv[1], &c, 1, 0), 1);
    EXPECT_EQ(::send(sv[1], "y", 1, MSG_NOSIGNAL), 1);
    EXPECT_EQ(::recv(sv[0], &c, 1, 0), 1);
    fd = AsyncFd();  // deregistered before the descriptor is closed, as the header asks
    ::close(sv[0]);
    ::close(sv[1]);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(AsyncFdTest);

}  // namespace
