// Semaphore: permits, strict FIFO waiting, close, and what a cancelled acquire gives back.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (SemaphoreOrder), where "yield until the others have run" is exact; the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/channels/semaphore.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using weft::AcquireError;
using weft::AcquireResult;
using weft::JoinHandle;
using weft::Semaphore;
using weft::SemaphorePermit;
using weft::Task;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::was_aborted;

class SemaphoreTest : public weft::test::AllRuntimes {};
class SemaphoreOrder : public weft::test::AllRuntimes {};

TEST(Semaphore, MorePermitsThanTheMaximumIsAnErrorWithAMessage) {
    try {
        Semaphore sem(Semaphore::kMaxPermits + 1);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("kMaxPermits"), std::string::npos);
    }
    Semaphore sem(1);
    EXPECT_THROW((void)sem.acquire(Semaphore::kMaxPermits + 1), std::invalid_argument);
    EXPECT_THROW(sem.add_permits(Semaphore::kMaxPermits), std::overflow_error);
    EXPECT_EQ(sem.available_permits(), 1u);
}

TEST(Semaphore, TryAcquireTakesPermitsAndThePermitGivesThemBack) {
    Semaphore sem(3);
    {
        AcquireResult two = sem.try_acquire(2);
        ASSERT_TRUE(two);
        EXPECT_EQ(two->count(), 2u);
        EXPECT_EQ(sem.available_permits(), 1u);
        AcquireResult too_many = sem.try_acquire(2);
        EXPECT_FALSE(too_many);
        EXPECT_TRUE(too_many.is_no_permits());
        EXPECT_EQ(too_many.error(), AcquireError::no_permits);
        SemaphorePermit moved = two.take();
        EXPECT_EQ(moved.count(), 2u);
        EXPECT_EQ(sem.available_permits(), 1u);  // a move does not release
    }
    EXPECT_EQ(sem.available_permits(), 3u);
    EXPECT_TRUE(sem.try_acquire(0));  // zero permits: always granted while open
}

TEST(Semaphore, ForgetKeepsPermitsOutUntilReleaseReturnsThem) {
    Semaphore sem(2);
    {
        SemaphorePermit p = sem.try_acquire(2).take();
        p.forget();
        EXPECT_EQ(p.count(), 0u);
    }
    EXPECT_EQ(sem.available_permits(), 0u);
    sem.release(2);
    EXPECT_EQ(sem.available_permits(), 2u);
    sem.add_permits(5);
    EXPECT_EQ(sem.available_permits(), 7u);
}

TEST(Semaphore, CloseFailsTryAcquireButReleasesStillCount) {
    Semaphore sem(2);
    SemaphorePermit held = sem.try_acquire(1).take();
    sem.close();
    EXPECT_TRUE(sem.is_closed());
    AcquireResult r = sem.try_acquire(1);
    EXPECT_TRUE(r.is_closed());
    EXPECT_THROW((void)r.take(), std::logic_error);
    { auto gone = std::move(held); }
    EXPECT_EQ(sem.available_permits(), 2u);
}

TEST_P(SemaphoreTest, AcquireCompletesAtOnceWhenPermitsAreFree) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<std::size_t> {
        Semaphore sem(4);
        AcquireResult r = co_await sem.acquire(3);
        EXPECT_TRUE(r);
        co_return sem.available_permits();
    }()),
              1u);
}

TEST_P(SemaphoreTest, AcquireSuspendsUntilEnoughPermitsAreReleased) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(0);
        JoinHandle<std::size_t> waiter = weft::spawn([](Semaphore& sem) -> Task<std::size_t> {
            AcquireResult r = co_await sem.acquire(2);
            co_return r ? r->count() : 0;
        }(sem));
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());
        sem.add_permits(1);
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());  // one of two is not enough
        sem.add_permits(1);
        EXPECT_EQ(co_await waiter, 2u);
        EXPECT_EQ(sem.available_permits(), 2u);  // the waiter's permit went back when it ended
    }());
}

TEST_P(SemaphoreTest, CloseWakesEveryWaiterWithClosedAndReturnsWhatWasSetAside) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(1);
        std::vector<JoinHandle<bool>> waiters;
        for (int i = 0; i < 3; ++i)
            waiters.push_back(weft::spawn([](Semaphore& sem) -> Task<bool> {
                AcquireResult r = co_await sem.acquire(2);  // never satisfiable: 1 permit in all
                co_return r.is_closed();
            }(sem)));
        co_await settle();
        sem.close();
        for (auto& w : waiters) EXPECT_TRUE(co_await w);
        EXPECT_EQ(sem.available_permits(), 1u);  // the head's partial grant came back
        EXPECT_TRUE((co_await sem.acquire(1)).is_closed());
    }());
}

TEST_P(SemaphoreOrder, WaitersAreServedInTheOrderTheyStartedWaiting) {
    auto rt = make_runtime();
    const std::vector<int> order = rt->block_on([]() -> Task<std::vector<int>> {
        Semaphore sem(0);
        std::vector<int> order;
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < 5; ++i) {
            waiters.push_back(weft::spawn([](Semaphore& sem, std::vector<int>& order, int i) -> Task<void> {
                AcquireResult r = co_await sem.acquire(1);
                order.push_back(i);
                r->forget();  // keep it: each release below serves exactly one waiter
            }(sem, order, i)));
            co_await settle();  // waiter i queues before waiter i + 1 starts
        }
        for (int i = 0; i < 5; ++i) {
            sem.release(1);
            co_await settle();
        }
        for (auto& w : waiters) co_await w;
        co_return order;
    }());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(SemaphoreOrder, ALargeAcquireAtTheHeadBlocksSmallerOnesBehindIt) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(1);
        JoinHandle<void> big = weft::spawn([](Semaphore& sem) -> Task<void> {
            AcquireResult r = co_await sem.acquire(3);
            EXPECT_TRUE(r);
            co_await weft::yield_now();
        }(sem));
        co_await settle();
        JoinHandle<void> small = weft::spawn([](Semaphore& sem) -> Task<void> { (void)co_await sem.acquire(1); }(sem));
        co_await settle();
        EXPECT_EQ(sem.available_permits(), 0u);  // the free permit was set aside for the head
        EXPECT_TRUE(sem.try_acquire(1).is_no_permits());
        sem.add_permits(1);
        co_await settle();
        EXPECT_FALSE(big.is_finished());
        EXPECT_FALSE(small.is_finished());  // 1 permit free for it, but the head comes first
        sem.add_permits(1);
        co_await big;  // 3 granted; released when it ended
        co_await small;
        EXPECT_EQ(sem.available_permits(), 3u);
    }());
}

TEST_P(SemaphoreOrder, AnAbortedWaiterLeavesTheLineAndHandsOnWhatWasSetAsideForIt) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(0);
        JoinHandle<void> doomed = weft::spawn([](Semaphore& sem) -> Task<void> { (void)co_await sem.acquire(2); }(sem));
        co_await settle();
        JoinHandle<std::size_t> behind = weft::spawn([](Semaphore& sem) -> Task<std::size_t> {
            AcquireResult r = co_await sem.acquire(1);
            co_return r->count();
        }(sem));
        co_await settle();
        sem.add_permits(1);  // set aside for the head (doomed), which still needs one more
        co_await settle();
        EXPECT_FALSE(behind.is_finished());
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_EQ(co_await behind, 1u);  // got the permit the aborted head had been given
        EXPECT_EQ(sem.available_permits(), 1u);
        EXPECT_TRUE(sem.try_acquire(1));  // the line is empty again: the fast path works
    }());
}

TEST_P(SemaphoreOrder, APermitGrantedToATaskAbortedBeforeItRanIsPassedOn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(0);
        JoinHandle<void> doomed = weft::spawn([](Semaphore& sem) -> Task<void> { (void)co_await sem.acquire(1); }(sem));
        co_await settle();
        JoinHandle<bool> behind = weft::spawn([](Semaphore& sem) -> Task<bool> {
            co_return static_cast<bool>(co_await sem.acquire(1));
        }(sem));
        co_await settle();
        sem.release(1);  // granted to `doomed`, which is woken but has not run yet...
        doomed.abort();  // ...and never will
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_TRUE(co_await behind);
        EXPECT_EQ(sem.available_permits(), 1u);  // nothing lost, nothing duplicated
    }());
}

// The same race on two workers, where the doomed task may or may not run first: either way the
// permit reaches the task behind it and the count ends where it began.
TEST_P(SemaphoreTest, AGrantRacingWithAbortIsNeverLost) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        for (int round = 0; round < 50; ++round) {
            Semaphore sem(0);
            JoinHandle<void> doomed = weft::spawn([](Semaphore& sem) -> Task<void> { (void)co_await sem.acquire(1); }(sem));
            JoinHandle<bool> behind = weft::spawn([](Semaphore& sem) -> Task<bool> {
                co_return static_cast<bool>(co_await sem.acquire(1));
            }(sem));
            co_await weft::yield_now();
            sem.release(1);
            doomed.abort();
            (void)co_await was_aborted(doomed);
            sem.release(1);  // in case `doomed` had not queued yet and `behind` took the first
            EXPECT_TRUE(co_await behind);
            EXPECT_EQ(sem.available_permits(), 2u);
        }
    }());
}

TEST_P(SemaphoreTest, ATaskThatAlwaysFindsPermitsStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(1);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        // Never suspends for want of permits; the cooperative budget must still let `other` run.
        for (int i = 0; i < 100'000 && !other_ran; ++i) (void)co_await sem.acquire(1);
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(SemaphoreTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(SemaphoreOrder);

}  // namespace
