// Not a pitfall: awaiting a temporary whose operation throws. Reported for g++ 12; what crashed was
// a lambda with captures in the operand, thrown or not (aggregate.cpp, form lambda).
//   throwing <form>   forms (each awaited 1000 times inside try/catch):
//     spawn-blocking  co_await weft::spawn_blocking(f);            f throws
//     task            co_await thrower(Tracked{});                 a Task temporary that throws
//     timeout-recv    co_await weft::timeout(1s, rx);              the oneshot sender was dropped: RecvError
//     connect         co_await TcpStream::connect("127.0.0.1", p); nobody listens: ECONNREFUSED
//     bound           the same four, each bound to a variable first
// Exit 0: every exception arrived and every object was destroyed exactly once; 3: otherwise.
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/timeout.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

using namespace std::chrono_literals;

std::atomic<long> live{0};

struct Tracked {  // destroyed twice, `live` goes negative
    Tracked() noexcept { ++live; }
    Tracked(const Tracked&) noexcept { ++live; }
    Tracked(Tracked&&) noexcept { ++live; }
    ~Tracked() { --live; }
};

weft::Task<int> thrower(Tracked) {
    co_await weft::yield_now();
    throw std::runtime_error("thrown");
}

int fail() { throw std::runtime_error("thrown"); }

std::uint16_t free_port() {
    auto listener = weft::net::TcpListener::bind("127.0.0.1", 0);
    return listener.local_addr().port();  // closed again when `listener` goes
}

weft::Task<int> run(std::string form) {
    const bool bound = form == "bound";
    const std::uint16_t port = free_port();
    int caught = 0;
    for (int i = 0; i < 1000; ++i) {
        if (form == "spawn-blocking" || bound) {
            try {
                if (bound) {
                    auto h = weft::spawn_blocking(fail);
                    (void)co_await h;
                } else {
                    (void)co_await weft::spawn_blocking(fail);  // the form
                }
            } catch (const std::runtime_error&) {
                ++caught;
            }
        }
        if (form == "task" || bound) {
            try {
                if (bound) {
                    auto t = thrower(Tracked{});
                    (void)co_await t;
                } else {
                    (void)co_await thrower(Tracked{});  // the form
                }
            } catch (const std::runtime_error&) {
                ++caught;
            }
        }
        if (form == "timeout-recv" || bound) {
            auto [tx, rx] = weft::oneshot::channel<int>();
            { auto dropped = std::move(tx); }
            try {
                if (bound) {
                    auto waiting = weft::timeout(1s, rx);
                    (void)co_await waiting;
                } else {
                    (void)co_await weft::timeout(1s, rx);  // the form
                }
            } catch (const weft::oneshot::RecvError&) {
                ++caught;
            }
        }
        if ((form == "connect" || bound) && i % 10 == 0) {
            try {
                if (bound) {
                    auto connecting = weft::net::TcpStream::connect("127.0.0.1", port);
                    (void)co_await connecting;
                } else {
                    (void)co_await weft::net::TcpStream::connect("127.0.0.1", port);  // the form
                }
            } catch (const std::system_error&) {
                caught += 10;
            }
        }
    }
    const int expected = bound ? 4000 : 1000;
    co_return caught == expected && live.load() == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string form = argc > 1 ? argv[1] : "";
    if (form != "spawn-blocking" && form != "task" && form != "timeout-recv" && form != "connect" && form != "bound") {
        std::fprintf(stderr, "usage: throwing spawn-blocking|task|timeout-recv|connect|bound\n");
        return 2;
    }
    weft::Runtime rt;
    return rt.block_on(run(form));
}
