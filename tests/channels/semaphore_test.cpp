// Semaphore: permits, strict FIFO waiting, close, and what a cancelled acquire gives back; owned
// permits, merge and split, forget_permits, blocking_acquire, and a close that allocates nothing.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (SemaphoreOrder), where "yield until the others have run" is exact; the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <weft/channels/semaphore.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include <weft/runtime/detail/run_queue.hpp>

#include "support/allocation_counter.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

// How many wait in line: the tests need to know every waiter has queued before they act.
struct weft::detail::SemaphoreTestPeer {
    static std::size_t waiters(Semaphore& sem) {
        std::lock_guard lock(sem.lock_);
        std::size_t n = 0;
        for (const Waiter* w = sem.waiters_.front(); w; w = w->next) ++n;
        return n;
    }
};

namespace {

using namespace std::chrono_literals;
using weft::AcquireError;
using weft::AcquireResult;
using weft::JoinHandle;
using weft::OwnedAcquireResult;
using weft::OwnedSemaphorePermit;
using weft::Semaphore;
using weft::SemaphorePermit;
using weft::Task;
using weft::detail::SemaphoreTestPeer;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::was_aborted;

// Parks until `n` waiters are in `sem`'s line (threads that are about to block).
void wait_for_waiters(Semaphore& sem, std::size_t n) {
    while (SemaphoreTestPeer::waiters(sem) < n) std::this_thread::yield();
}

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

TEST(Semaphore, ForgetPermitsRemovesUpToNAvailablePermitsAndSaysHowMany) {
    Semaphore sem(5);
    SemaphorePermit held = sem.try_acquire(2).take();
    EXPECT_EQ(sem.forget_permits(2), 2u);
    EXPECT_EQ(sem.available_permits(), 1u);
    EXPECT_EQ(sem.forget_permits(5), 1u);  // only one was available
    EXPECT_EQ(sem.available_permits(), 0u);
    EXPECT_EQ(sem.forget_permits(1), 0u);
    { auto back = std::move(held); }  // held permits were not touched: they come back
    EXPECT_EQ(sem.available_permits(), 2u);
    sem.close();
    EXPECT_EQ(sem.forget_permits(1), 1u);  // as in Tokio, closed or not
    EXPECT_EQ(sem.available_permits(), 1u);
}

TEST(Semaphore, APermitSplitsAndMergesAndGivesBackWhatItHolds) {
    Semaphore sem(5);
    SemaphorePermit p = sem.try_acquire(4).take();
    EXPECT_EQ(p.num_permits(), 4u);
    std::optional<SemaphorePermit> one = p.split(1);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->num_permits(), 1u);
    EXPECT_EQ(p.num_permits(), 3u);
    EXPECT_FALSE(p.split(4));  // holds only 3: nothing changes
    EXPECT_EQ(p.num_permits(), 3u);
    EXPECT_EQ(sem.available_permits(), 1u);  // splitting releases nothing
    { auto back = std::move(*one); }
    EXPECT_EQ(sem.available_permits(), 2u);

    SemaphorePermit q = sem.try_acquire(2).take();
    p.merge(std::move(q));
    EXPECT_EQ(p.num_permits(), 5u);
    EXPECT_EQ(q.num_permits(), 0u);
    EXPECT_EQ(sem.available_permits(), 0u);
    std::optional<SemaphorePermit> all = p.split(5);
    ASSERT_TRUE(all);
    EXPECT_EQ(p.num_permits(), 0u);
    { auto back = std::move(p); }
    EXPECT_EQ(sem.available_permits(), 0u);  // the emptied permit gave nothing back
    { auto back = std::move(*all); }
    EXPECT_EQ(sem.available_permits(), 5u);
}

TEST(Semaphore, MergingPermitsOfDifferentSemaphoresIsAnErrorThatChangesNothing) {
    Semaphore a(2);
    Semaphore b(2);
    SemaphorePermit pa = a.try_acquire(1).take();
    SemaphorePermit pb = b.try_acquire(1).take();
    EXPECT_THROW(pa.merge(std::move(pb)), std::invalid_argument);
    EXPECT_EQ(pa.num_permits(), 1u);
    EXPECT_EQ(pb.num_permits(), 1u);
    { auto back = std::move(pb); }
    EXPECT_EQ(b.available_permits(), 2u);
    EXPECT_EQ(a.available_permits(), 1u);
}

TEST(Semaphore, AnOwnedPermitKeepsTheSemaphoreAliveAndGivesBackItsPermits) {
    auto sem = std::make_shared<Semaphore>(3);
    std::weak_ptr<Semaphore> watch = sem;
    OwnedAcquireResult r = Semaphore::try_acquire_owned(sem, 2);
    ASSERT_TRUE(r);
    OwnedSemaphorePermit p = r.take();
    EXPECT_EQ(p.num_permits(), 2u);
    EXPECT_EQ(p.semaphore(), sem);
    EXPECT_EQ(sem->available_permits(), 1u);
    EXPECT_TRUE(Semaphore::try_acquire_owned(sem, 2).is_no_permits());

    std::optional<OwnedSemaphorePermit> one = p.split(1);
    ASSERT_TRUE(one);
    EXPECT_FALSE(p.split(2));
    sem.reset();
    EXPECT_FALSE(watch.expired());  // the permits hold it
    EXPECT_EQ(watch.lock()->available_permits(), 1u);
    { auto back = std::move(*one); }
    EXPECT_EQ(watch.lock()->available_permits(), 2u);
    { auto back = std::move(p); }
    EXPECT_TRUE(watch.expired());  // the last reference went with the last permit
}

TEST(Semaphore, OwnedPermitsMergeForgetAndRefuseAnEmptySemaphorePointer) {
    auto sem = std::make_shared<Semaphore>(4);
    OwnedSemaphorePermit p = Semaphore::try_acquire_owned(sem, 1).take();
    OwnedSemaphorePermit q = Semaphore::try_acquire_owned(sem, 2).take();
    p.merge(std::move(q));
    EXPECT_EQ(p.num_permits(), 3u);
    EXPECT_EQ(q.num_permits(), 0u);
    EXPECT_FALSE(q.semaphore());

    auto other = std::make_shared<Semaphore>(1);
    OwnedSemaphorePermit o = Semaphore::try_acquire_owned(other).take();
    EXPECT_THROW(p.merge(std::move(o)), std::invalid_argument);
    EXPECT_EQ(o.num_permits(), 1u);

    p.forget();
    EXPECT_EQ(p.num_permits(), 0u);
    EXPECT_FALSE(p.semaphore());
    EXPECT_EQ(sem->available_permits(), 1u);  // the three are gone for good
    EXPECT_EQ(sem.use_count(), 1);            // and so is the forgotten permit's reference

    sem->close();
    EXPECT_TRUE(Semaphore::try_acquire_owned(sem).is_closed());
    EXPECT_THROW((void)Semaphore::try_acquire_owned(nullptr), std::invalid_argument);
    EXPECT_THROW((void)Semaphore::acquire_owned(nullptr), std::invalid_argument);
    EXPECT_THROW((void)Semaphore::acquire_owned(sem, Semaphore::kMaxPermits + 1), std::invalid_argument);
}

TEST(Semaphore, BlockingAcquireWaitsForAReleaseFromAnotherThread) {
    Semaphore sem(0);
    std::thread waiter([&] {
        AcquireResult r = sem.blocking_acquire(2);
        EXPECT_TRUE(r);
        EXPECT_EQ(r->num_permits(), 2u);
    });
    wait_for_waiters(sem, 1);
    sem.release(1);
    EXPECT_EQ(SemaphoreTestPeer::waiters(sem), 1u);  // one of two is not enough
    sem.release(1);
    waiter.join();
    EXPECT_EQ(sem.available_permits(), 2u);
    EXPECT_TRUE(sem.blocking_acquire(0));  // free permits: at once
}

TEST(Semaphore, BlockingAcquireReportsCloseAndAClosedSemaphore) {
    Semaphore sem(0);
    std::thread waiter([&] { EXPECT_TRUE(sem.blocking_acquire(1).is_closed()); });
    wait_for_waiters(sem, 1);
    sem.close();
    waiter.join();
    EXPECT_TRUE(sem.blocking_acquire(0).is_closed());
    EXPECT_THROW((void)sem.blocking_acquire(Semaphore::kMaxPermits + 1), std::invalid_argument);
}

// Closing wakes more waiters than the fixed wake batch holds (the rest are woken on the spot):
// none of it may allocate, or an out-of-memory close would terminate the process (close() is
// noexcept) or strand a waiter. Plain threads wait here, so waking one is an unpark, which
// allocates nothing either: what is counted is the semaphore's own work.
TEST(Semaphore, CloseWakesEveryWaiterWithoutAllocating) {
    constexpr std::size_t kWaiters = weft::detail::WakeBatch::kInline + 8;
    Semaphore sem(1);
    std::atomic<std::size_t> closed{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < kWaiters; ++i)
        threads.emplace_back([&] {
            if (sem.blocking_acquire(2).is_closed()) ++closed;
        });
    wait_for_waiters(sem, kWaiters);
    std::size_t allocations = 0;
    {
        weft::test::AllocationCounter counting;
        sem.close();
        allocations = counting.allocations();
    }
    EXPECT_EQ(allocations, 0u);
    for (auto& t : threads) t.join();
    EXPECT_EQ(closed, kWaiters);
    EXPECT_EQ(SemaphoreTestPeer::waiters(sem), 0u);
    EXPECT_EQ(sem.available_permits(), 1u);  // the permit set aside for the head came back
}

// The same with tasks waiting, woken from a task on the runtime's own thread.
TEST(Semaphore, CloseWakingWaitingTasksAllocatesNothingInTheSemaphore) {
    weft::Runtime rt(weft::RuntimeOptions{.flavor = weft::Flavor::current_thread});
    rt.block_on([]() -> Task<void> {
        constexpr std::size_t kWaiters = weft::detail::WakeBatch::kInline + 8;
        Semaphore sem(0);
        std::vector<JoinHandle<bool>> waiters;
        for (std::size_t i = 0; i < kWaiters; ++i)
            waiters.push_back(weft::spawn(
                [](Semaphore& sem) -> Task<bool> { co_return (co_await sem.acquire(1)).is_closed(); }(sem)));
        co_await settle();
        EXPECT_EQ(SemaphoreTestPeer::waiters(sem), kWaiters);
        std::size_t allocations = 0;
        {
            weft::test::AllocationCounter counting;
            sem.close();
            allocations = counting.allocations();
        }
        // Waking a task queues it on this thread's run queue; only a queue too small for them all
        // (the small_queues build) spills into the injector, which is the scheduler's business.
        if (weft::detail::kRunQueueCapacity > kWaiters) {
            EXPECT_EQ(allocations, 0u);
        }
        for (auto& w : waiters) EXPECT_TRUE(co_await w);
    }());
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

// More waiters than the wake batch holds inline: the ones past it are woken on the spot, under the
// lock, and must find their grant (or the close) already published, or they sleep for good.
TEST_P(SemaphoreTest, AReleaseOrCloseReachingMoreWaitersThanTheWakeBatchHoldsWakesThemAll) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        constexpr std::size_t kWaiters = weft::detail::WakeBatch::kInline + 8;
        Semaphore sem(0);
        std::vector<JoinHandle<bool>> granted;
        for (std::size_t i = 0; i < kWaiters; ++i)
            granted.push_back(weft::spawn(
                [](Semaphore& sem) -> Task<bool> { co_return static_cast<bool>(co_await sem.acquire(1)); }(sem)));
        while (SemaphoreTestPeer::waiters(sem) < kWaiters) co_await weft::yield_now();
        sem.release(kWaiters);  // one grant for each, all at once
        for (auto& g : granted) EXPECT_TRUE(co_await g);
        EXPECT_EQ(sem.available_permits(), kWaiters);

        Semaphore closing(0);
        std::vector<JoinHandle<bool>> closed;
        for (std::size_t i = 0; i < kWaiters; ++i)
            closed.push_back(weft::spawn(
                [](Semaphore& sem) -> Task<bool> { co_return (co_await sem.acquire(1)).is_closed(); }(closing)));
        while (SemaphoreTestPeer::waiters(closing) < kWaiters) co_await weft::yield_now();
        closing.close();
        for (auto& c : closed) EXPECT_TRUE(co_await c);
    }());
}

TEST_P(SemaphoreTest, AcquireOwnedWaitsLikeAcquireAndItsPermitKeepsTheSemaphoreAlive) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto sem = std::make_shared<Semaphore>(1);
        std::weak_ptr<Semaphore> watch = sem;
        OwnedAcquireResult first = co_await Semaphore::acquire_owned(sem);
        CO_ASSERT_TRUE(first.has_value());
        JoinHandle<std::optional<OwnedSemaphorePermit>> waiter =
            weft::spawn([](std::shared_ptr<Semaphore> sem) -> Task<std::optional<OwnedSemaphorePermit>> {
                OwnedAcquireResult r = co_await Semaphore::acquire_owned(std::move(sem), 2);
                if (!r) co_return std::nullopt;
                co_return r.take();
            }(sem));
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());
        sem->add_permits(1);
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());  // one of two is not enough: first still holds one
        sem.reset();                         // only the permits and the waiter keep it now
        { auto back = first.take(); }
        std::optional<OwnedSemaphorePermit> got = co_await waiter;
        CO_ASSERT_TRUE(got.has_value());
        EXPECT_EQ(got->num_permits(), 2u);
        EXPECT_FALSE(watch.expired());
        got.reset();
        EXPECT_TRUE(watch.expired());
    }());
}

TEST_P(SemaphoreTest, AcquireOwnedReportsClose) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto sem = std::make_shared<Semaphore>(0);
        JoinHandle<bool> waiter = weft::spawn([](std::shared_ptr<Semaphore> sem) -> Task<bool> {
            co_return (co_await Semaphore::acquire_owned(std::move(sem))).is_closed();
        }(sem));
        co_await settle();
        sem->close();
        EXPECT_TRUE(co_await waiter);
        EXPECT_TRUE((co_await Semaphore::acquire_owned(sem)).is_closed());
    }());
}

TEST_P(SemaphoreTest, ATimedOutOwnedAcquireLeavesTheLineAndTheNextWaiterGetsThePermits) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto sem = std::make_shared<Semaphore>(1);
        OwnedSemaphorePermit held = Semaphore::try_acquire_owned(sem).take();
        auto r = co_await weft::timeout(5ms, Semaphore::acquire_owned(sem, 1));
        EXPECT_TRUE(r.timed_out());
        EXPECT_EQ(SemaphoreTestPeer::waiters(*sem), 0u);
        JoinHandle<bool> next = weft::spawn([](std::shared_ptr<Semaphore> sem) -> Task<bool> {
            co_return static_cast<bool>(co_await Semaphore::acquire_owned(std::move(sem)));
        }(sem));
        co_await settle();
        { auto unlock = std::move(held); }
        EXPECT_TRUE(co_await next);
        EXPECT_EQ(sem->available_permits(), 1u);
        // And select: free permits win over a sleep.
        auto s = co_await weft::select(Semaphore::acquire_owned(sem), weft::sleep(1h));
        CO_ASSERT_TRUE(s.index() == 0);
        EXPECT_EQ(std::get<0>(s)->num_permits(), 1u);
    }());
}

TEST_P(SemaphoreTest, ATaskThatAlwaysFindsOwnedPermitsStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto sem = std::make_shared<Semaphore>(1);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        for (int i = 0; i < 100'000 && !other_ran; ++i) (void)co_await Semaphore::acquire_owned(sem);
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

TEST_P(SemaphoreTest, BlockingAcquireIsRefusedOnARuntimeWorker) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Semaphore sem(1);
        try {
            (void)sem.blocking_acquire();
            ADD_FAILURE() << "expected std::logic_error";
        } catch (const std::logic_error& e) {
            EXPECT_NE(std::string(e.what()).find("blocking_acquire"), std::string::npos);
        }
        EXPECT_EQ(sem.available_permits(), 1u);
        co_return;
    }());
}

TEST_P(SemaphoreTest, BlockingAcquireOnAThreadQueuesInTheSameLineAsTasks) {
    auto rt = make_runtime();
    Semaphore sem(1);
    std::optional<SemaphorePermit> held = sem.try_acquire(1).take();
    std::atomic<bool> thread_got{false};
    std::thread blocker([&] {
        AcquireResult r = sem.blocking_acquire(1);
        thread_got = static_cast<bool>(r);
    });
    wait_for_waiters(sem, 1);
    rt->block_on([](Semaphore& sem, std::optional<SemaphorePermit>& held, std::atomic<bool>& thread_got) -> Task<void> {
        JoinHandle<bool> task = weft::spawn([](Semaphore& sem, std::atomic<bool>& thread_got) -> Task<bool> {
            AcquireResult r = co_await sem.acquire(1);
            co_return r && thread_got.load();  // the thread queued first, so it went first
        }(sem, thread_got));
        while (SemaphoreTestPeer::waiters(sem) < 2) co_await weft::yield_now();  // the task is in line
        held.reset();  // to the thread, which gives it back on return, to the task
        EXPECT_TRUE(co_await task);
    }(sem, held, thread_got));
    blocker.join();
    EXPECT_TRUE(thread_got);
    EXPECT_EQ(sem.available_permits(), 1u);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(SemaphoreTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(SemaphoreOrder);

}  // namespace
