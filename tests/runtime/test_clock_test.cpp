// The paused clock (test_clock.hpp): sleep, timeout and interval on virtual time, advance and
// auto-advance in deadline order, I/O and wakes from other threads while paused, resume, misuse.
//
// Virtual times are asserted exactly (they are deterministic); real time only as a loose sanity
// bound. A paused runtime's timeouts fire as soon as it is idle, so they cannot bound a hang: a
// watchdog thread (real time) aborts the test instead.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/net/unix_stream.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/test_clock.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Clock;
using weft::Flavor;
using weft::JoinHandle;
using weft::Runtime;
using weft::RuntimeOptions;
using weft::Task;

// Aborts the process if the test is still running after `limit` of real time: a broken
// auto-advance hangs rather than fails, and a paused runtime's own timeouts cannot catch that.
class Watchdog {
public:
    explicit Watchdog(std::chrono::seconds limit = 120s)
        : thread_([this, limit] {
              std::unique_lock lock(mutex_);
              if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
                  std::fputs("test_clock_test: watchdog: the test hung\n", stderr);
                  std::abort();
              }
          }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

std::unique_ptr<Runtime> paused_runtime() {
    RuntimeOptions options;
    options.flavor = Flavor::current_thread;
    options.start_paused = true;
    return std::make_unique<Runtime>(std::move(options));
}

TEST(TestClock, AnHourOfSleepPassesAtOnceInRealTime) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    const auto real_start = std::chrono::steady_clock::now();
    rt->block_on([]() -> Task<void> {
        const auto start = Clock::now();
        co_await weft::sleep(1h);
        EXPECT_EQ(Clock::now() - start, 1h);  // pause() aligned the clock to the wheel's ticks
    }());
    EXPECT_LT(std::chrono::steady_clock::now() - real_start, 10min);  // a sanity bound only
}

TEST(TestClock, PausedTimeStandsStill) {
    auto rt = paused_runtime();
    rt->block_on([]() -> Task<void> {
        const auto a = Clock::now();
        co_await weft::yield_now();
        EXPECT_EQ(Clock::now(), a);
    }());
}

Task<void> sleep_then_record(Clock::duration d, int id, std::vector<int>& order, std::vector<Clock::duration>& late) {
    const auto deadline = Clock::now() + d;
    co_await weft::sleep_until(deadline);
    order.push_back(id);
    late.push_back(Clock::now() - deadline);
}

TEST(TestClock, SleepsCompleteInDeadlineOrderEachAtItsDeadline) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    std::vector<int> order;
    std::vector<Clock::duration> late;
    rt->block_on([](std::vector<int>& order, std::vector<Clock::duration>& late) -> Task<void> {
        std::vector<JoinHandle<void>> handles;
        const Clock::duration delays[] = {30ms, 1h, 10ms, 2s, 20ms, 100s};
        for (int i = 0; i < 6; ++i) handles.push_back(weft::spawn(sleep_then_record(delays[i], i, order, late)));
        for (auto& h : handles) co_await h;
    }(order, late));
    EXPECT_EQ(order, (std::vector<int>{2, 4, 0, 3, 5, 1}));
    for (const auto d : late) EXPECT_EQ(d, 0ms);  // each woke with the clock at its deadline
}

Task<int> value_after(Clock::duration d, int v) {
    co_await weft::sleep(d);
    co_return v;
}

Task<int> never() {
    co_await weft::sleep(24h * 365);
    co_return -1;
}

TEST(TestClock, TimeoutFiresOnlyOnWhatTakesLonger) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    rt->block_on([]() -> Task<void> {
        const auto start = Clock::now();
        auto late = co_await weft::timeout(1s, never());
        EXPECT_TRUE(late.timed_out());
        EXPECT_EQ(Clock::now() - start, 1s);  // the timeout's own deadline, to the tick

        auto in_time = co_await weft::timeout(1s, value_after(500ms, 7));
        EXPECT_FALSE(in_time.timed_out());
        if (in_time) {
            EXPECT_EQ(*in_time, 7);
        }
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<void> count_ticks(Clock::duration period, int& ticks) {
    weft::Interval iv = weft::interval(period);
    for (;;) {
        (void)co_await iv.tick();
        ++ticks;
    }
}

TEST(TestClock, AnIntervalTicksOncePerPeriodAdvanced) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    int ticks = 0;
    rt->block_on([](int& ticks) -> Task<void> {
        JoinHandle<void> ticker = weft::spawn(count_ticks(10ms, ticks));
        co_await weft::yield_now();  // the first tick, at once
        EXPECT_EQ(ticks, 1);
        co_await weft::time::advance(10 * 10ms);
        EXPECT_EQ(ticks, 11);  // one at the start, one at each of the ten periods
        co_await weft::time::advance(5ms);
        EXPECT_EQ(ticks, 11);
        co_await weft::time::advance(5ms);
        EXPECT_EQ(ticks, 12);
        ticker.abort();
    }(ticks));
}

Task<void> set_after(Clock::duration d, bool& done) {
    co_await weft::sleep(d);
    done = true;
}

TEST(TestClock, AdvanceFiresExactlyTheTimersThatCameDue) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    rt->block_on([]() -> Task<void> {
        bool a = false, b = false;
        JoinHandle<void> ha = weft::spawn(set_after(50ms, a));
        JoinHandle<void> hb = weft::spawn(set_after(80ms, b));
        co_await weft::yield_now();  // both register their timers
        const auto start = Clock::now();
        co_await weft::time::advance(49ms);
        EXPECT_FALSE(a);
        co_await weft::time::advance(1ms);
        EXPECT_TRUE(a);
        EXPECT_FALSE(b);
        co_await weft::time::advance(30ms);
        EXPECT_TRUE(b);
        EXPECT_EQ(Clock::now() - start, 80ms);
        co_await ha;
        co_await hb;
    }());
}

TEST(TestClock, AdvanceLetsEachWokenTaskRunAtItsOwnDeadline) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    std::vector<int> order;
    std::vector<Clock::duration> late;
    rt->block_on([](std::vector<int>& order, std::vector<Clock::duration>& late) -> Task<void> {
        JoinHandle<void> a = weft::spawn(sleep_then_record(300ms, 0, order, late));
        JoinHandle<void> b = weft::spawn(sleep_then_record(100ms, 1, order, late));
        JoinHandle<void> c = weft::spawn(sleep_then_record(200ms, 2, order, late));
        co_await weft::yield_now();
        co_await weft::time::advance(1s);
        EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
        for (const auto d : late) EXPECT_EQ(d, 0ms);  // each saw now() at its deadline, not at 1 s
        co_await a;
        co_await b;
        co_await c;
    }(order, late));
}

TEST(TestClock, AWakeFromAnotherThreadReachesAPausedRuntime) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    weft::test::Event event;
    std::thread setter([&event] {
        std::this_thread::sleep_for(5ms);  // not needed for correctness: lets the runtime park first
        event.set();
    });
    rt->block_on([](weft::test::Event& event) -> Task<void> {
        bool slept = false;
        JoinHandle<void> sleeper = weft::spawn(set_after(1h, slept));
        co_await event.wait();  // idle meanwhile: the hour may pass, the wake still arrives
        co_await sleeper;
        EXPECT_TRUE(slept);
    }(event));
    setter.join();
}

Task<void> echo_once(weft::net::TcpListener& listener) {
    weft::net::Accepted a = co_await listener.accept();
    char buf[16];
    const std::size_t n = co_await a.stream.read(std::span<char>(buf));
    co_await a.stream.write_all(std::string_view(buf, n));
}

TEST(TestClock, LoopbackTcpWorksWhilePaused) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    rt->block_on([]() -> Task<void> {
        weft::net::TcpListener listener = weft::net::TcpListener::bind("127.0.0.1", 0);
        const std::uint16_t port = listener.local_addr().port();
        JoinHandle<void> server = weft::spawn(echo_once(listener));
        weft::net::TcpStream s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
        co_await s.write_all("ping");
        char buf[16];
        auto r = co_await weft::timeout(1s, s.read(std::span<char>(buf)));
        EXPECT_FALSE(r.timed_out());
        if (r) {
            EXPECT_EQ(std::string(buf, *r), "ping");
        }
        co_await server;
    }());
}

Task<void> echo_until_closed(weft::net::UnixStream s) {
    char buf[16];
    for (;;) {
        const std::size_t n = co_await s.read(std::span<char>(buf));
        if (n == 0) co_return;
        co_await s.write_all(std::string_view(buf, n));
    }
}

TEST(TestClock, TheClockDoesNotJumpWhileIoIsReady) {
    Watchdog watchdog;
    auto rt = paused_runtime();
    rt->block_on([]() -> Task<void> {
        const auto start = Clock::now();
        {
            auto [a, b] = weft::net::UnixStream::pair();
            JoinHandle<void> server = weft::spawn(echo_until_closed(std::move(b)));
            for (int i = 0; i < 10; ++i) {
                co_await a.write_all("ping");
                // A socket pair's write is in the peer's queue, and its readiness in the reactor,
                // when write returns: each time the runtime runs out of tasks here, a request or a
                // reply is ready, so the clock must not jump to the timeout.
                char buf[16];
                auto r = co_await weft::timeout(1s, a.read(std::span<char>(buf)));
                EXPECT_FALSE(r.timed_out());
                if (r) {
                    EXPECT_EQ(std::string(buf, *r), "ping");
                }
            }
            a.shutdown(weft::net::Shutdown::write);
            co_await server;
        }
        EXPECT_EQ(Clock::now(), start);
    }());
}

TEST(TestClock, PauseInsideATaskThenResumeReturnsToRealTime) {
    Watchdog watchdog;
    RuntimeOptions options;
    options.flavor = Flavor::current_thread;
    Runtime rt(std::move(options));
    rt.block_on([]() -> Task<void> {
        EXPECT_THROW(weft::time::resume(), std::logic_error);  // not paused
        weft::time::pause();
        EXPECT_THROW(weft::time::pause(), std::logic_error);  // already paused
        const auto frozen = Clock::now();
        co_await weft::sleep(1h);
        EXPECT_GE(Clock::now() - frozen, 1h);
        const auto slept = Clock::now();
        co_await weft::time::advance(1h);
        EXPECT_EQ(Clock::now(), slept + 1h);
        const auto at_resume = Clock::now();
        weft::time::resume();
        // Real time again: the clock moves by itself, from where the paused one stood.
        while (Clock::now() == at_resume) co_await weft::yield_now();
        EXPECT_GT(Clock::now(), at_resume);
        co_await weft::sleep(1ms);
        bool advance_threw = false;
        try {
            co_await weft::time::advance(1s);
        } catch (const std::logic_error&) {
            advance_threw = true;
        }
        EXPECT_TRUE(advance_threw);
    }());
}

class TestClockMisuse : public weft::test::AllRuntimes {};

TEST_P(TestClockMisuse, PauseNeedsATaskOfACurrentThreadRuntime) {
    EXPECT_THROW(weft::time::pause(), std::logic_error);  // outside any runtime
    auto rt = make_runtime();
    const bool multi = GetParam().flavor == Flavor::multi_thread;
    rt->block_on([](bool multi) -> Task<void> {
        if (multi) {
            EXPECT_THROW(weft::time::pause(), std::logic_error);
        } else {
            weft::time::pause();
            weft::time::resume();
        }
        co_return;
    }(multi));
    if (multi) {
        RuntimeOptions options;
        options.start_paused = true;
        EXPECT_THROW(make_runtime(std::move(options)), std::invalid_argument);
    }
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TestClockMisuse);

}  // namespace
