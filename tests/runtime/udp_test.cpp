// UdpSocket on the reactor: echo of many datagrams, sender addresses, connected sockets, errors,
// options, and receives as leaves of timeout() and select(). Loopback only.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include <weft/runtime/net/udp_socket.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/net_helpers.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::net::SocketAddress;
using weft::net::UdpSocket;
using weft::test::bounded;

class UdpTest : public weft::test::AllRuntimes {};

UdpSocket bind_loopback() { return UdpSocket::bind(SocketAddress("127.0.0.1", 0)); }

// Sends every datagram back to its sender, until it receives "stop".
Task<int> echo_server(UdpSocket& socket) {
    char buf[2048];
    int echoed = 0;
    for (;;) {
        auto [n, from] = co_await socket.recv_from(std::span<char>(buf));
        if (std::string_view(buf, n) == "stop") co_return echoed;
        co_await socket.send_to(std::string_view(buf, n), from);
        ++echoed;
    }
}

TEST_P(UdpTest, EchoOfManyDatagramsComesBackWholeAndInOrder) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket server = bind_loopback();
        JoinHandle<int> serving = weft::spawn(echo_server(server));
        UdpSocket client = bind_loopback();
        client.connect(server.local_addr());
        EXPECT_EQ(client.peer_addr(), server.local_addr());
        const int count = static_cast<int>(weft::test::scaled(5000, 5));
        char buf[2048];
        for (int i = 0; i < count; ++i) {
            // One datagram in flight at a time: loopback UDP does not lose them, but a flood could
            // overflow the receive buffer.
            const std::string sent = "datagram " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 1000), '.');
            const std::size_t wrote = co_await client.send(sent);
            EXPECT_EQ(wrote, sent.size());
            const std::size_t n = co_await client.recv(std::span<char>(buf));
            CO_ASSERT_TRUE(std::string_view(buf, n) == sent);
        }
        co_await client.send("stop");
        const int echoed = co_await serving;
        EXPECT_EQ(echoed, count);
    }()));
    EXPECT_EQ(rt->metrics().io_sources, 0u);
}

TEST_P(UdpTest, RecvFromReportsEachSendersAddress) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket receiver = bind_loopback();
        UdpSocket a = bind_loopback();
        UdpSocket b = bind_loopback();
        co_await a.send_to("from a", receiver.local_addr());
        co_await b.send_to("from b", receiver.local_addr());
        char buf[64];
        for (int i = 0; i < 2; ++i) {
            auto [n, from] = co_await receiver.recv_from(std::span<char>(buf));
            const std::string got(buf, n);
            if (got == "from a") EXPECT_EQ(from, a.local_addr());
            else if (got == "from b") EXPECT_EQ(from, b.local_addr());
            else ADD_FAILURE() << "unexpected datagram " << got;
        }
    }()));
}

TEST_P(UdpTest, AnEmptyDatagramIsReceivedAsZeroBytesAndALongOneIsCut) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket receiver = bind_loopback();
        UdpSocket sender = bind_loopback();
        co_await sender.send_to("", receiver.local_addr());
        co_await sender.send_to("0123456789", receiver.local_addr());
        co_await sender.send_to("next", receiver.local_addr());
        char buf[4];
        auto [empty, from] = co_await receiver.recv_from(std::span<char>(buf));
        EXPECT_EQ(empty, 0u);
        EXPECT_EQ(from, sender.local_addr());
        const std::size_t cut = co_await receiver.recv(std::span<char>(buf));
        EXPECT_EQ(std::string(buf, cut), "0123");  // the rest of that datagram is gone
        const std::size_t next = co_await receiver.recv(std::span<char>(buf));
        EXPECT_EQ(std::string(buf, next), "next");
    }()));
}

TEST_P(UdpTest, AReceiveTimesOutTakingNothingAndRacesInSelect) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket receiver = bind_loopback();
        UdpSocket sender = bind_loopback();
        char buf[16];
        auto r = co_await weft::timeout(20ms, receiver.recv_from(std::span<char>(buf)));
        EXPECT_TRUE(r.timed_out());
        co_await sender.send_to("late", receiver.local_addr());
        auto won = co_await weft::select(receiver.recv(std::span<char>(buf)), weft::sleep(30s));
        CO_ASSERT_TRUE(won.index() == 0);
        EXPECT_EQ(std::string(buf, std::get<0>(won)), "late");
    }()));
}

TEST_P(UdpTest, AConnectedSocketWithNoPeerListeningIsRefused) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        SocketAddress gone;
        { gone = bind_loopback().local_addr(); }  // nobody listens there now
        UdpSocket s = bind_loopback();
        s.connect(gone);
        co_await s.send("anyone?");
        char buf[8];
        try {
            (void)co_await s.recv(std::span<char>(buf));  // the ICMP port unreachable arrives as an error
            ADD_FAILURE() << "received from a port nobody listens on";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
        }
    }()));
}

TEST_P(UdpTest, OptionsRoundTripAndClosingWakesAWaitingReceive) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket s = bind_loopback();
        s.set_broadcast(true);
        EXPECT_TRUE(s.broadcast());
        s.set_broadcast(false);
        EXPECT_FALSE(s.broadcast());
        s.set_ttl(17);
        EXPECT_EQ(s.ttl(), 17u);
        s.set_recv_buffer_size(64 * 1024);
        EXPECT_GE(s.recv_buffer_size(), 64u * 1024);  // Linux doubles it
        s.set_send_buffer_size(64 * 1024);
        EXPECT_GE(s.send_buffer_size(), 64u * 1024);
        EXPECT_THROW((void)s.peer_addr(), std::system_error);  // not connected

        JoinHandle<int> waiting = weft::spawn([](UdpSocket& s) -> Task<int> {
            char buf[8];
            try {
                (void)co_await s.recv(std::span<char>(buf));
            } catch (const std::system_error& e) {
                co_return e.code().value();
            }
            co_return 0;
        }(s));
        co_await weft::sleep(5ms);  // let it wait (if it has not, it finds the socket closed: same outcome)
        s.close();
        const int err = co_await waiting;
        EXPECT_EQ(err, ECANCELED);
    }()));
}

TEST_P(UdpTest, WorksOverIpv6Loopback) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket a = UdpSocket::bind(SocketAddress("::1", 0));
        UdpSocket b = UdpSocket::bind(SocketAddress("::1", 0));
        a.set_ttl(9);  // the unicast hop limit
        EXPECT_EQ(a.ttl(), 9u);
        co_await a.send_to("six", b.local_addr());
        char buf[8];
        auto [n, from] = co_await b.recv_from(std::span<char>(buf));
        EXPECT_EQ(std::string(buf, n), "six");
        EXPECT_EQ(from, a.local_addr());
    }()));
}

// Tokio's readiness and try_ calls: nullopt while nothing is queued, the datagram once readable()
// says so, and each datagram taken once.
TEST_P(UdpTest, TryCallsSayWouldBlockAndReadinessWaitsForADatagram) {
    auto rt = make_runtime();
    rt->block_on(bounded([]() -> Task<void> {
        UdpSocket a = bind_loopback();
        UdpSocket b = bind_loopback();
        a.connect(b.local_addr());
        char buf[64];
        EXPECT_FALSE(b.try_recv(std::span<char>(buf)).has_value());       // nothing queued
        EXPECT_FALSE(b.try_recv_from(std::span<char>(buf)).has_value());
        const weft::Ready can_send = co_await a.writable();
        EXPECT_TRUE(can_send.is_writable());
        EXPECT_EQ(a.try_send("one"), std::optional<std::size_t>(3));
        const std::optional<std::size_t> sent_to = a.try_send_to("two", b.local_addr());
        EXPECT_EQ(sent_to, std::optional<std::size_t>(3));
        const weft::Ready ready = co_await b.readable();
        EXPECT_TRUE(ready.is_readable());
        std::optional<std::size_t> n;
        while (!(n = b.try_recv(std::span<char>(buf)))) {
            const weft::Ready again = co_await b.readable();  // readiness cleared by a would-block
            (void)again;
        }
        EXPECT_EQ(std::string_view(buf, *n), "one");
        std::optional<std::pair<std::size_t, SocketAddress>> from;
        while (!(from = b.try_recv_from(std::span<char>(buf)))) {
            const weft::Ready again = co_await b.readable();
            (void)again;
        }
        EXPECT_EQ(std::string_view(buf, from->first), "two");
        EXPECT_EQ(from->second, a.local_addr());
        EXPECT_FALSE(b.try_recv(std::span<char>(buf)).has_value());  // each taken once
        b.close();
        EXPECT_THROW((void)b.try_recv(std::span<char>(buf)), std::system_error);
    }()));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(UdpTest);

}  // namespace
