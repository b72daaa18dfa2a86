// Timers, TCP and UDP (issues 4 and 16): loopback echo round trips with 1 and 64 connections (and
// UDP clients), against plain blocking sockets on threads measured in the same binary; and the
// cost of arming and cancelling a timer. Report: items_per_second, median of 5 with min and max.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/net/udp_socket.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "bench_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::net::TcpListener;
using weft::net::TcpStream;

constexpr std::size_t kMessage = 64;            // bytes per round trip
constexpr std::uint64_t kRoundTrips = 200'000;  // in total, over all connections

weft::RuntimeOptions two_workers() {
    weft::RuntimeOptions o;
    o.worker_threads = 2;
    return o;
}

// ---- weft echo -----------------------------------------------------------------------------

Task<void> echo_connection(TcpStream s) {
    char buf[kMessage];
    for (;;) {
        const std::size_t n = co_await s.read(std::span<char>(buf, kMessage));
        if (n == 0) co_return;
        co_await s.write_all(std::string_view(buf, n));
    }
}

Task<void> echo_server(TcpListener& listener, int connections) {
    std::vector<JoinHandle<void>> handlers;
    for (int i = 0; i < connections; ++i) {
        auto accepted = co_await listener.accept();
        handlers.push_back(weft::spawn(echo_connection(std::move(accepted.stream))));
    }
    for (auto& h : handlers) co_await h;
}

Task<void> echo_client(std::uint16_t port, std::uint64_t round_trips) {
    TcpStream s = co_await TcpStream::connect("127.0.0.1", port);
    char msg[kMessage] = {};
    for (std::uint64_t i = 0; i < round_trips; ++i) {
        co_await s.write_all(std::string_view(msg, kMessage));
        co_await s.read_exact(std::span<char>(msg, kMessage));
    }
}

Task<void> echo_run(int connections) {
    TcpListener listener = TcpListener::bind("127.0.0.1", 0);
    const std::uint16_t port = listener.local_addr().port();
    JoinHandle<void> server = weft::spawn(echo_server(listener, connections));
    std::vector<JoinHandle<void>> clients;
    for (int c = 0; c < connections; ++c) clients.push_back(weft::spawn(echo_client(port, kRoundTrips / connections)));
    for (auto& c : clients) co_await c;
    co_await server;
}

void Echo_weft(benchmark::State& state) {
    const int connections = static_cast<int>(state.range(0));
    weft::Runtime rt(two_workers());
    for (auto _ : state) rt.block_on(echo_run(connections));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

// ---- weft UDP echo: one server socket, each client one datagram in flight -------------------

using weft::net::SocketAddress;
using weft::net::UdpSocket;

Task<void> udp_echo_server(UdpSocket& server, std::uint64_t datagrams) {
    char buf[kMessage];
    for (std::uint64_t i = 0; i < datagrams; ++i) {
        auto [n, from] = co_await server.recv_from(std::span<char>(buf, kMessage));
        co_await server.send_to(std::string_view(buf, n), from);
    }
}

Task<void> udp_echo_client(SocketAddress server, std::uint64_t round_trips) {
    UdpSocket s = UdpSocket::bind(SocketAddress("127.0.0.1", 0));
    s.connect(server);
    char msg[kMessage] = {};
    for (std::uint64_t i = 0; i < round_trips; ++i) {
        co_await s.send(std::string_view(msg, kMessage));
        const std::size_t n = co_await s.recv(std::span<char>(msg, kMessage));
        (void)n;
    }
}

Task<void> udp_echo_run(int clients) {
    UdpSocket server = UdpSocket::bind(SocketAddress("127.0.0.1", 0));
    const SocketAddress address = server.local_addr();
    const std::uint64_t each = kRoundTrips / static_cast<std::uint64_t>(clients);
    JoinHandle<void> serving = weft::spawn(udp_echo_server(server, each * static_cast<std::uint64_t>(clients)));
    std::vector<JoinHandle<void>> running;
    for (int c = 0; c < clients; ++c) running.push_back(weft::spawn(udp_echo_client(address, each)));
    for (auto& c : running) co_await c;
    co_await serving;
}

// Loopback UDP does not drop a datagram while each client has only one in flight.
void Echo_udp_weft(benchmark::State& state) {
    const int clients = static_cast<int>(state.range(0));
    weft::Runtime rt(two_workers());
    for (auto _ : state) rt.block_on(udp_echo_run(clients));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

// ---- baseline: blocking sockets, a thread per connection on each side ------------------------

int blocking_listen(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 1024);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

bool full(int fd, char* buf, std::size_t n, bool reading) {
    for (std::size_t done = 0; done < n;) {
        const ssize_t r = reading ? ::recv(fd, buf + done, n - done, 0) : ::send(fd, buf + done, n - done, MSG_NOSIGNAL);
        if (r <= 0) return false;
        done += static_cast<std::size_t>(r);
    }
    return true;
}

void Echo_blocking_threads(benchmark::State& state) {
    const int connections = static_cast<int>(state.range(0));
    for (auto _ : state) {
        std::uint16_t port = 0;
        const int listen_fd = blocking_listen(port);
        std::vector<std::thread> threads;
        for (int c = 0; c < connections; ++c) {
            threads.emplace_back([listen_fd] {
                const int fd = ::accept(listen_fd, nullptr, nullptr);
                char buf[kMessage];
                while (full(fd, buf, kMessage, true) && full(fd, buf, kMessage, false)) {
                }
                ::close(fd);
            });
            threads.emplace_back([port, connections] {
                const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
                const int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                sockaddr_in a{};
                a.sin_family = AF_INET;
                a.sin_port = htons(port);
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
                char msg[kMessage] = {};
                for (std::uint64_t i = 0; i < kRoundTrips / connections; ++i)
                    if (!full(fd, msg, kMessage, false) || !full(fd, msg, kMessage, true)) break;
                ::close(fd);
            });
        }
        for (auto& t : threads) t.join();
        ::close(listen_fd);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

// ---- timers --------------------------------------------------------------------------------

// Arms a timer and cancels it before it fires: what every timeout around a fast operation costs.
void Timer_arm_and_cancel(benchmark::State& state) {
    constexpr std::uint64_t kTimers = 1'000'000;
    weft::Runtime rt(two_workers());
    for (auto _ : state) {
        rt.block_on([]() -> Task<void> {
            for (std::uint64_t i = 0; i < kTimers; ++i) {
                weft::Sleep s = weft::sleep(std::chrono::milliseconds(1 + i % 10'000));
                benchmark::DoNotOptimize(s.arm());
                s.cancel();
            }
            co_return;
        }());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTimers));
}

// A timeout around a receive that is ready at once: the deadline is never armed.
void Timeout_on_ready_operation(benchmark::State& state) {
    constexpr std::uint64_t kOps = 1'000'000;
    weft::Runtime rt(two_workers());
    for (auto _ : state) {
        rt.block_on([]() -> Task<void> {
            for (std::uint64_t i = 0; i < kOps; ++i) {
                auto r = co_await weft::timeout(1s, weft::sleep(0ms));
                benchmark::DoNotOptimize(r);
            }
        }());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kOps));
}

// 100,000 tasks each sleeping 1-20 ms at once: timers fired per second of wall time, wheel and
// wakeups included.
void Timer_many_sleepers(benchmark::State& state) {
    constexpr int kSleepers = 100'000;
    weft::Runtime rt(two_workers());
    for (auto _ : state) {
        rt.block_on([]() -> Task<void> {
            std::vector<JoinHandle<void>> handles;
            handles.reserve(kSleepers);
            for (int i = 0; i < kSleepers; ++i)
                handles.push_back(weft::spawn([](int i) -> Task<void> { co_await weft::sleep(std::chrono::milliseconds(1 + i % 20)); }(i)));
            for (auto& h : handles) co_await h;
        }());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSleepers));
}

BENCHMARK(Echo_weft)->ArgName("connections")->Arg(1)->Arg(64)->Apply(weft::bench::configure);
BENCHMARK(Echo_udp_weft)->ArgName("clients")->Arg(1)->Arg(64)->Apply(weft::bench::configure);
BENCHMARK(Echo_blocking_threads)->ArgName("connections")->Arg(1)->Arg(64)->Apply(weft::bench::configure);
BENCHMARK(Timer_arm_and_cancel)->Apply(weft::bench::configure);
BENCHMARK(Timeout_on_ready_operation)->Apply(weft::bench::configure);
BENCHMARK(Timer_many_sleepers)->Apply(weft::bench::configure);

}  // namespace

BENCHMARK_MAIN();
