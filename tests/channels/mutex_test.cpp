// Mutex<T>: exclusive access across suspension points, FIFO hand-over, cancelled lock() calls, and
// lock() under timeout and select.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (MutexOrder); the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <weft/channels/mutex.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Mutex;
using weft::MutexGuard;
using weft::Task;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::was_aborted;

class MutexTest : public weft::test::AllRuntimes {};
class MutexOrder : public weft::test::AllRuntimes {};

TEST(MutexBasics, TheValueIsBuiltInPlaceAndTheGuardGivesAccessToIt) {
    Mutex<std::unique_ptr<std::string>> m(std::make_unique<std::string>("in place"));  // move-only T
    {
        auto guard = m.try_lock();
        ASSERT_TRUE(guard.has_value());
        EXPECT_EQ(**guard.value(), "in place");
        (*guard)->get()->append("!");
    }
    EXPECT_EQ(*m.try_lock().value().get(), "in place!");
}

TEST(MutexBasics, TryLockFailsWhileLockedAndSucceedsOnceUnlocked) {
    Mutex<int> m(0);
    EXPECT_FALSE(m.is_locked());
    std::optional<MutexGuard<int>> held = m.try_lock();
    ASSERT_TRUE(held);
    EXPECT_TRUE(m.is_locked());
    EXPECT_FALSE(m.try_lock());
    MutexGuard<int> moved = std::move(*held);  // the lock travels with the guard
    held.reset();
    EXPECT_TRUE(m.is_locked());
    { auto gone = std::move(moved); }
    EXPECT_FALSE(m.is_locked());
    EXPECT_TRUE(m.try_lock());
}

TEST_P(MutexTest, LockSuspendsWhileHeldAndResumesWhenTheHolderUnlocks) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<std::vector<int>> m;
        auto guard = co_await m.lock();
        JoinHandle<void> waiter = weft::spawn([](Mutex<std::vector<int>>& m) -> Task<void> {
            auto g = co_await m.lock();
            g->push_back(2);
        }(m));
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());
        guard->push_back(1);
        { auto unlock = std::move(guard); }
        co_await waiter;
        auto again = co_await m.lock();
        EXPECT_EQ(*again, (std::vector<int>{1, 2}));
    }());
}

// The point of an async mutex: the guard stays held while its task is suspended, and no other task
// gets in meanwhile. A plain (non-atomic) counter must end exact.
TEST_P(MutexTest, AGuardHeldAcrossSuspensionPointsKeepsOthersOut) {
    auto rt = make_runtime();
    const long tasks = 16, rounds = weft::test::scaled(500, 5);
    const long total = rt->block_on([](long tasks, long rounds) -> Task<long> {
        struct Shared {
            long counter = 0;
            int inside = 0;
            bool overlap = false;
        };
        Mutex<Shared> m;
        std::vector<JoinHandle<void>> workers;
        for (long t = 0; t < tasks; ++t)
            workers.push_back(weft::spawn([](Mutex<Shared>& m, long rounds) -> Task<void> {
                for (long i = 0; i < rounds; ++i) {
                    auto g = co_await m.lock();
                    if (++g->inside != 1) g->overlap = true;
                    const long seen = g->counter;
                    co_await weft::yield_now();  // suspended while holding the lock
                    g->counter = seen + 1;
                    --g->inside;
                }
            }(m, rounds)));
        for (auto& w : workers) co_await w;
        auto g = co_await m.lock();
        EXPECT_FALSE(g->overlap);
        co_return g->counter;
    }(tasks, rounds));
    EXPECT_EQ(total, tasks * rounds);
}

TEST_P(MutexOrder, WaitersGetTheLockInTheOrderTheyStartedWaiting) {
    auto rt = make_runtime();
    const std::vector<int> order = rt->block_on([]() -> Task<std::vector<int>> {
        Mutex<std::vector<int>> m;
        std::vector<JoinHandle<void>> waiters;
        {
            auto held = co_await m.lock();
            for (int i = 0; i < 5; ++i) {
                waiters.push_back(weft::spawn([](Mutex<std::vector<int>>& m, int i) -> Task<void> {
                    auto g = co_await m.lock();
                    g->push_back(i);
                }(m, i)));
                co_await settle();  // waiter i queues before waiter i + 1 starts
            }
            // A try_lock now must not barge in ahead of them, even once the lock is released.
        }
        EXPECT_FALSE(m.try_lock());  // handed straight to waiter 0, which has not run yet
        for (auto& w : waiters) co_await w;
        co_return std::move(*co_await m.lock());
    }());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(MutexOrder, AnAbortedWaiterLeavesTheLineAndTheNextOneGetsTheLock) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<int> m(0);
        auto held = co_await m.lock();
        JoinHandle<void> doomed = weft::spawn([](Mutex<int>& m) -> Task<void> { *co_await m.lock() = -1; }(m));
        co_await settle();
        JoinHandle<void> behind = weft::spawn([](Mutex<int>& m) -> Task<void> { *co_await m.lock() = 2; }(m));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        { auto unlock = std::move(held); }
        co_await behind;
        EXPECT_EQ(*co_await m.lock(), 2);
    }());
}

TEST_P(MutexOrder, ALockHandedToATaskAbortedBeforeItRanIsPassedOn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<int> m(0);
        auto held = co_await m.lock();
        JoinHandle<void> doomed = weft::spawn([](Mutex<int>& m) -> Task<void> { *co_await m.lock() = -1; }(m));
        co_await settle();
        JoinHandle<void> behind = weft::spawn([](Mutex<int>& m) -> Task<void> { *co_await m.lock() = 2; }(m));
        co_await settle();
        { auto unlock = std::move(held); }  // hands the lock to `doomed`, woken but not yet run...
        doomed.abort();                      // ...and never will
        EXPECT_TRUE(co_await was_aborted(doomed));
        co_await behind;
        EXPECT_EQ(*co_await m.lock(), 2);
        EXPECT_FALSE(m.is_locked());
    }());
}

TEST_P(MutexTest, TimeoutOnAFreeLockYieldsTheGuard) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<int> m(1);
        auto r = co_await weft::timeout(1h, m.lock());  // TimeoutResult<MutexGuard<int>>
        CO_ASSERT_TRUE(!r.timed_out());
        **r = 2;
        EXPECT_TRUE(m.is_locked());
        r = {};  // a timed-out result: drops the guard
        EXPECT_FALSE(m.is_locked());
        EXPECT_EQ(*co_await m.lock(), 2);
    }());
}

// A lock wait that times out while another task holds the lock leaves the line: the unlock goes to
// the next waiter, and nothing stays behind.
TEST_P(MutexTest, ALockThatTimedOutLeavesTheLineAndTheUnlockGoesToTheNextWaiter) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<int> m(0);
        auto held = co_await m.lock();
        JoinHandle<bool> timed_out = weft::spawn([](Mutex<int>& m) -> Task<bool> {
            auto r = co_await weft::timeout(20ms, m.lock());
            if (!r.timed_out()) **r = -1;
            co_return r.timed_out();
        }(m));
        co_await settle();  // it queues first (exactly so on one thread)
        JoinHandle<void> next = weft::spawn([](Mutex<int>& m) -> Task<void> { *co_await m.lock() = 2; }(m));
        EXPECT_TRUE(co_await timed_out);  // the lock was held throughout
        { auto unlock = std::move(held); }
        co_await next;
        EXPECT_FALSE(m.is_locked());
        auto again = m.try_lock();  // nobody left in line
        CO_ASSERT_TRUE(again.has_value());
        EXPECT_EQ(**again, 2);
    }());
}

TEST_P(MutexTest, SelectOverLockTakesTheLockOrLetsTheOtherBranchWinWithoutKeepingAPlace) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<int> m(0);
        {
            auto s = co_await weft::select(m.lock(), weft::sleep(1h));
            CO_ASSERT_TRUE(s.index() == 0);  // free: the lock wins at once
            *std::get<0>(s) = 1;
        }
        auto held = co_await m.lock();
        {
            auto s = co_await weft::select(m.lock(), weft::sleep(1ms));
            EXPECT_EQ(s.index(), 1u);  // held: the sleep wins, the lock wait leaves the line
        }
        JoinHandle<int> waiter = weft::spawn([](Mutex<int>& m) -> Task<int> {
            auto s = co_await weft::select(m.lock(), weft::sleep(1h));
            if (s.index() != 0) co_return -1;
            co_return *std::get<0>(s);
        }(m));
        co_await settle();
        *held = 5;
        { auto unlock = std::move(held); }  // hands the lock to the waiting select
        EXPECT_EQ(co_await waiter, 5);
        EXPECT_TRUE(m.try_lock().has_value());
    }());
}

TEST_P(MutexTest, ATaskThatAlwaysFindsTheLockFreeStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Mutex<int> m(0);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        // Never suspends for want of the lock; the cooperative budget must still let `other` run.
        for (int i = 0; i < 100'000 && !other_ran; ++i) ++*co_await m.lock();
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(MutexTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(MutexOrder);

}  // namespace
