// sleep, sleep_until and Interval on every runtime flavour. No upper bound on any duration is
// asserted (the machine is shared and noisy): only "no earlier than asked", order, and counts.
// Where a timer decides the outcome, make_paused_runtime: on the current-thread flavour the
// clock is paused (deterministic whatever the load); the multi-thread ones keep real time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;
using weft::test::Tracked;

class TimeTest : public weft::test::AllRuntimes {};

TEST_P(TimeTest, SleepCompletesNoEarlierThanAsked) {
    auto rt = make_runtime();
    for (auto d : {1ms, 5ms, 20ms}) {
        const auto start = Clock::now();
        rt->block_on([](Clock::duration d) -> Task<void> { co_await weft::sleep(d); }(d));
        EXPECT_GE(Clock::now() - start, d);
    }
}

TEST_P(TimeTest, SleepUntilAPastDeadlineCompletesWithoutSuspending) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        co_await weft::sleep_until(Clock::now() - 1s);
        co_await weft::sleep(0ms);
    }());
    EXPECT_EQ(rt->metrics().polls, 1u);  // one poll: the task never waited
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<void> sleep_and_count(Clock::duration d, std::atomic<int>& woke, std::atomic<int>& early) {
    const auto deadline = Clock::now() + d;
    co_await weft::sleep_until(deadline);
    if (Clock::now() < deadline) early.fetch_add(1);
    woke.fetch_add(1);
}

TEST_P(TimeTest, TenThousandSleepingTasksAllWake) {
    auto rt = make_runtime();
    const int n = static_cast<int>(weft::test::scaled(10'000, 5));
    std::atomic<int> woke{0}, early{0};
    rt->block_on([](int n, std::atomic<int>& woke, std::atomic<int>& early) -> Task<void> {
        std::vector<JoinHandle<void>> handles;
        for (int i = 0; i < n; ++i)
            handles.push_back(weft::spawn(sleep_and_count(std::chrono::milliseconds(1 + i % 50), woke, early)));
        for (auto& h : handles) co_await h;
    }(n, woke, early));
    EXPECT_EQ(woke.load(), n);
    EXPECT_EQ(early.load(), 0);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeTest, ANewEarlierTimerWakesTheParkedDriver) {
    // The long sleeper parks the driver for 30 s; the short one must not wait behind it.
    auto rt = make_runtime();
    const bool short_first = rt->block_on([]() -> Task<bool> {
        JoinHandle<void> long_sleeper = weft::spawn([]() -> Task<void> { co_await weft::sleep(30s); }());
        co_await weft::sleep(20ms);  // the long sleeper is parked in the driver by now
        JoinHandle<void> short_sleeper = weft::spawn([]() -> Task<void> { co_await weft::sleep(10ms); }());
        co_await short_sleeper;
        const bool ok = !long_sleeper.is_finished();
        long_sleeper.abort();
        co_return ok;
    }());
    EXPECT_TRUE(short_first);
}

TEST_P(TimeTest, AbortingASleepingTaskTakesItsTimerOffTheWheelAndFreesTheFrame) {
    auto rt = make_runtime();
    Tracked::live = 0;
    rt->block_on([]() -> Task<void> {
        std::vector<JoinHandle<void>> sleepers;
        for (int i = 0; i < 100; ++i)
            sleepers.push_back(weft::spawn([]() -> Task<void> {
                Tracked held;
                co_await weft::sleep(1h);
            }()));
        co_await weft::sleep(5ms);
        for (auto& s : sleepers) s.abort();
        for (auto& s : sleepers) {
            try {
                co_await s;
                ADD_FAILURE() << "an aborted sleeper completed";
            } catch (const weft::JoinError&) {
            }
        }
    }());
    EXPECT_EQ(Tracked::live.load(), 0);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeTest, ShutdownWithSleepingTasksFreesThem) {
    Tracked::live = 0;
    {
        auto rt = make_runtime();
        for (int i = 0; i < 50; ++i)
            rt->spawn([]() -> Task<void> {
                  Tracked held;
                  co_await weft::sleep(1h);
              }())
                .detach();
        rt->block_on([]() -> Task<void> { co_await weft::sleep(5ms); }());
        EXPECT_EQ(rt->metrics().timers_pending, 50u);
    }
    EXPECT_EQ(Tracked::live.load(), 0);
}

TEST_P(TimeTest, SleepingOutsideATaskIsAClearError) {
    auto rt = make_runtime();
    auto s = weft::sleep(1ms);
    EXPECT_THROW((void)s.arm(), std::logic_error);
}

TEST_P(TimeTest, IntervalTicksArePeriodApartAndNeverEarly) {
    auto rt = make_paused_runtime();
    const auto ticks = rt->block_on([]() -> Task<std::vector<Clock::time_point>> {
        const auto start = Clock::now();
        weft::Interval iv = weft::interval_at(start + 5ms, 5ms);
        std::vector<Clock::time_point> ticks;
        for (int i = 0; i < 5; ++i) {
            const auto scheduled = co_await iv.tick();
            EXPECT_GE(Clock::now(), scheduled);
            ticks.push_back(scheduled);
        }
        EXPECT_EQ(ticks.front(), start + 5ms);
        co_return ticks;
    }());
    ASSERT_EQ(ticks.size(), 5u);
    for (std::size_t i = 1; i < ticks.size(); ++i) EXPECT_EQ(ticks[i] - ticks[i - 1], 5ms);
}

TEST_P(TimeTest, IntervalFirstTickIsImmediate) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        const auto before = Clock::now();
        weft::Interval iv = weft::interval(1h);
        const auto first = co_await iv.tick();
        EXPECT_LE(first, Clock::now());
        EXPECT_GE(first, before);
    }());
}

// A task busy for 3.5 periods: what each policy does with the ticks it missed.
std::vector<Clock::time_point> ticks_after_stall(weft::Runtime& rt, weft::MissedTickBehavior behavior,
                                                 Clock::time_point& start) {
    return rt.block_on([](weft::MissedTickBehavior behavior, Clock::time_point& start) -> Task<std::vector<Clock::time_point>> {
        start = Clock::now();
        weft::Interval iv = weft::interval_at(start, 10ms, behavior);
        std::vector<Clock::time_point> ticks;
        ticks.push_back(co_await iv.tick());
        while (Clock::now() < start + 35ms) {
        }  // stall, missing ticks at 10, 20 and 30 ms
        for (int i = 0; i < 3; ++i) ticks.push_back(co_await iv.tick());
        co_return ticks;
    }(behavior, start));
}

TEST_P(TimeTest, MissedTicksBurstDelayOrSkipAsAsked) {
    auto rt = make_runtime();
    Clock::time_point start;
    auto burst = ticks_after_stall(*rt, weft::MissedTickBehavior::burst, start);
    EXPECT_EQ(burst[1] - start, 10ms);  // the missed ones, back to back, on the original schedule
    EXPECT_EQ(burst[2] - start, 20ms);
    EXPECT_EQ(burst[3] - start, 30ms);

    auto skip = ticks_after_stall(*rt, weft::MissedTickBehavior::skip, start);
    EXPECT_EQ(skip[1] - start, 10ms);   // the first late tick fires at once...
    EXPECT_GE(skip[2] - start, 40ms);   // ...then 20 and 30 are skipped...
    for (int i = 1; i < 4; ++i) EXPECT_EQ((skip[i] - start) % 10ms, 0ms);  // ...keeping the phase
    EXPECT_GT(skip[3], skip[2]);

    auto delay = ticks_after_stall(*rt, weft::MissedTickBehavior::delay, start);
    EXPECT_EQ(delay[1] - start, 10ms);
    EXPECT_GE(delay[2] - start, 45ms);       // one period after the late tick was taken (>= 35 ms)
    EXPECT_GE(delay[3] - delay[2], 10ms);
}

TEST(Interval, ANonPositivePeriodIsAClearError) {
    EXPECT_THROW(weft::interval(0ms), std::invalid_argument);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TimeTest);

}  // namespace
