// timeout: fires on what never completes, not on what completes; the losing operation is
// cancelled cleanly (no message lost, no waiter left, frames destroyed), on every flavour.
// Where a timer decides the outcome, make_paused_runtime: on the current-thread flavour the
// clock is paused (deterministic whatever the load); the multi-thread ones keep real time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;
using weft::test::Event;
using weft::test::Tracked;

class TimeoutTest : public weft::test::AllRuntimes {};

TEST_P(TimeoutTest, FiresOnAReceiveThatNeverCompletes) {
    auto rt = make_paused_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        const auto start = Clock::now();
        auto r = co_await weft::timeout(20ms, rx.recv());
        EXPECT_TRUE(r.timed_out());
        EXPECT_GE(Clock::now() - start, 20ms);
        EXPECT_THROW((void)std::move(r).value(), weft::TimeoutError);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeoutTest, DoesNotFireOnAReadyOperationEvenWithZeroDuration) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<std::string>(4);
        EXPECT_TRUE(tx.try_send("ready"));
        auto r = co_await weft::timeout(0ms, rx.recv());
        EXPECT_FALSE(r.timed_out());
        EXPECT_TRUE(r && r->has_value());
        if (r && r->has_value()) {
            EXPECT_EQ(**r, "ready");
        }
    }());
}

TEST_P(TimeoutTest, ReturnsTheValueThatArrivesBeforeTheDeadline) {
    auto rt = make_paused_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(5ms);
            (void)co_await tx.send(7);
        }(tx)).detach();
        auto r = co_await weft::timeout(10s, rx.recv());
        EXPECT_TRUE(r && r->has_value());
        if (r && r->has_value()) {
            EXPECT_EQ(**r, 7);
        }
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeoutTest, ATimedOutReceiveLosesNoMessage) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        auto r = co_await weft::timeout(5ms, rx.recv());
        EXPECT_TRUE(r.timed_out());
        EXPECT_TRUE(tx.try_send(42));
        auto v = co_await rx.recv();  // the next recv gets it
        EXPECT_EQ(v.value_or(-1), 42);
    }());
}

// Producers send at jittered moments while the consumer receives with timeouts so short that
// many race with a send: every message still arrives, once, in each producer's order.
TEST_P(TimeoutTest, ReceivesRacingTheirTimeoutsLoseAndDuplicateNothing) {
    auto rt = make_runtime();
    constexpr int kProducers = 4;
    const int each = static_cast<int>(weft::test::scaled(2'000, 4));
    const auto got = rt->block_on([](int each) -> Task<std::vector<int>> {
        auto [tx, rx] = weft::mpsc::channel<std::uint64_t>(2);
        for (int p = 0; p < kProducers; ++p)
            weft::spawn([](weft::mpsc::Sender<std::uint64_t> tx, int p, int each) -> Task<void> {
                for (int i = 0; i < each; ++i) {
                    if (i % 64 == 0) co_await weft::sleep(1ms);
                    (void)co_await tx.send((std::uint64_t(p) << 32) | std::uint64_t(i));
                }
            }(tx, p, each)).detach();
        { auto ours = std::move(tx); }
        std::vector<int> next(kProducers, 0);
        int timeouts = 0;
        for (;;) {
            auto r = co_await weft::timeout(std::chrono::microseconds(300), rx.recv());
            if (r.timed_out()) {
                ++timeouts;
                continue;
            }
            if (!r->has_value()) break;  // every producer is done
            const int p = static_cast<int>(**r >> 32), i = static_cast<int>(**r & 0xffffffffu);
            EXPECT_EQ(i, next[p]) << "producer " << p;
            next[p] = i + 1;
        }
        EXPECT_GT(timeouts, 0);
        co_return next;
    }(each));
    for (int n : got) EXPECT_EQ(n, each);
}

TEST_P(TimeoutTest, ATimedOutSendKeepsItsValueAndLeavesNoWaiter) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<std::string>(1);
        EXPECT_TRUE(tx.try_send("first"));
        auto r = co_await weft::timeout(5ms, tx.send("lost?"));
        EXPECT_TRUE(r.timed_out());
        EXPECT_EQ(*co_await rx.recv(), "first");
        // The slot freed by that recv must be free for a new send: no stale waiter holds it.
        EXPECT_TRUE(tx.try_send("second"));
        EXPECT_EQ(*co_await rx.recv(), "second");
        EXPECT_TRUE(rx.try_recv().is_empty());  // the timed-out value was never sent
    }());
}

TEST_P(TimeoutTest, ASenderWaitingBehindATimedOutOneGetsTheSlot) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(1));
        // Waits first, gives up first.
        JoinHandle<bool> quitter = weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<bool> {
            co_return (co_await weft::timeout(20ms, tx.send(2))).timed_out();
        }(tx));
        co_await weft::sleep(2ms);
        JoinHandle<void> patient = weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            EXPECT_TRUE(co_await tx.send(3));
        }(tx));
        EXPECT_TRUE(co_await quitter);
        EXPECT_EQ(*co_await rx.recv(), 1);
        co_await patient;
        EXPECT_EQ(*co_await rx.recv(), 3);
    }());
}

TEST_P(TimeoutTest, WorksOnJoinHandlesAndOneshots) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinHandle<int> slow = weft::spawn([]() -> Task<int> {
            co_await weft::sleep(1h);
            co_return 1;
        }());
        EXPECT_TRUE((co_await weft::timeout(5ms, slow)).timed_out());
        slow.abort();
        JoinHandle<int> quick = weft::spawn([]() -> Task<int> { co_return 9; }());
        auto q = co_await weft::timeout(10s, quick);
        EXPECT_TRUE(q);
        if (q) {
            EXPECT_EQ(*q, 9);
        }

        auto [otx, orx] = weft::oneshot::channel<int>();
        EXPECT_TRUE((co_await weft::timeout(5ms, orx)).timed_out());
        EXPECT_TRUE(otx.send(5));
        EXPECT_EQ(co_await orx, 5);  // still usable after the timed-out wait
    }());
}

Task<int> slow_child(std::atomic<int>& reached, Clock::duration d) {
    Tracked held;  // destroyed when the child is cancelled
    reached.fetch_add(1);
    co_await weft::sleep(d);
    reached.fetch_add(100);
    co_return 5;
}

TEST_P(TimeoutTest, ATaskThatOverrunsIsDestroyedAtItsSuspensionPoint) {
    auto rt = make_runtime();
    Tracked::live = 0;
    std::atomic<int> reached{0};
    rt->block_on([](std::atomic<int>& reached) -> Task<void> {
        auto r = co_await weft::timeout(10ms, slow_child(reached, 1h));
        EXPECT_TRUE(r.timed_out());
        EXPECT_EQ(Tracked::live.load(), 0);  // already gone when the timeout returns
    }(reached));
    EXPECT_EQ(reached.load(), 1);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeoutTest, ATaskThatFinishesInTimeGivesItsValue) {
    auto rt = make_paused_runtime();
    std::atomic<int> reached{0};
    const int v = rt->block_on([](std::atomic<int>& reached) -> Task<int> {
        auto r = co_await weft::timeout(10s, slow_child(reached, 1ms));
        co_return std::move(r).value();
    }(reached));
    EXPECT_EQ(v, 5);
    EXPECT_EQ(reached.load(), 101);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeoutTest, ATaskThatCompletesWithoutWaitingBeatsAZeroTimeout) {
    auto rt = make_runtime();
    const auto r = rt->block_on([]() -> Task<weft::TimeoutResult<int>> {
        co_return co_await weft::timeout(0ms, []() -> Task<int> { co_return 3; }());
    }());
    ASSERT_TRUE(r);
}

TEST_P(TimeoutTest, AnAlreadyPastDeadlineStillCancelsATaskThatWaits) {
    auto rt = make_runtime();
    std::atomic<int> reached{0};
    const bool timed_out = rt->block_on([](std::atomic<int>& reached) -> Task<bool> {
        co_return (co_await weft::timeout_at(Clock::now() - 1s, slow_child(reached, 1h))).timed_out();
    }(reached));
    EXPECT_TRUE(timed_out);
    EXPECT_EQ(reached.load(), 1);
}

Task<int> nested(std::atomic<int>& reached, Clock::duration inner_limit, Clock::duration work) {
    auto r = co_await weft::timeout(inner_limit, slow_child(reached, work));
    co_return r ? *r : -1;
}

TEST_P(TimeoutTest, NestedTimeoutsTheInnerExpiresFirst) {
    auto rt = make_paused_runtime();
    std::atomic<int> reached{0};
    const auto r = rt->block_on([](std::atomic<int>& reached) -> Task<weft::TimeoutResult<int>> {
        co_return co_await weft::timeout(10s, nested(reached, 5ms, 1h));
    }(reached));
    ASSERT_TRUE(r);  // the outer did not expire...
    EXPECT_EQ(*r, -1);  // ...the inner did
}

TEST_P(TimeoutTest, NestedTimeoutsTheOuterExpiresFirst) {
    auto rt = make_paused_runtime();
    Tracked::live = 0;
    std::atomic<int> reached{0};
    const auto r = rt->block_on([](std::atomic<int>& reached) -> Task<weft::TimeoutResult<int>> {
        co_return co_await weft::timeout(5ms, nested(reached, 1h, 1h));
    }(reached));
    EXPECT_TRUE(r.timed_out());
    EXPECT_EQ(Tracked::live.load(), 0);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeoutTest, AbortingATaskInsideATimeoutFreesEverything) {
    auto rt = make_runtime();
    Tracked::live = 0;
    std::atomic<int> reached{0};
    rt->block_on([](std::atomic<int>& reached) -> Task<void> {
        JoinHandle<int> h = weft::spawn(nested(reached, 1h, 1h));
        while (reached.load() == 0) co_await weft::sleep(1ms);
        h.abort();
        EXPECT_THROW(co_await h, weft::JoinError);
    }(reached));
    EXPECT_EQ(Tracked::live.load(), 0);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(TimeoutTest, ThrowsFromTheTaskPropagate) {
    auto rt = make_runtime();
    EXPECT_THROW(rt->block_on([]() -> Task<void> {
        (void)co_await weft::timeout(1s, []() -> Task<int> {
            throw std::runtime_error("inner");
            co_return 1;
        }());
    }()),
                 std::runtime_error);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TimeoutTest);

}  // namespace
