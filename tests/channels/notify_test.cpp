// Notify: notify_one (a stored permit when nobody waits), notify_last (LIFO), notify_waiters (no
// permit), Notified::enable, FIFO wake-up, cancelled waits, and a notify_waiters that allocates
// nothing.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (NotifyOrder); the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include <weft/channels/notify.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/allocation_counter.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Notify;
using weft::Task;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::was_aborted;

class NotifyTest : public weft::test::AllRuntimes {};
class NotifyOrder : public weft::test::AllRuntimes {};

TEST_P(NotifyTest, ANotifyOneBeforeTheWaitIsNotLost) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        notify.notify_one();
        co_await notify.notified();  // completes at once: the permit was stored
    }());
}

TEST_P(NotifyTest, NotifyOneWakesAWaitingTask) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        std::atomic<bool> woke{false};
        JoinHandle<void> waiter = weft::spawn([](Notify& n, std::atomic<bool>& woke) -> Task<void> {
            co_await n.notified();
            woke = true;
        }(notify, woke));
        co_await settle();
        notify.notify_one();
        co_await waiter;
        EXPECT_TRUE(woke);
    }());
}

TEST_P(NotifyOrder, AtMostOnePermitIsStored) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        notify.notify_one();
        notify.notify_one();
        notify.notify_one();
        co_await notify.notified();  // the one permit
        JoinHandle<void> second = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        EXPECT_FALSE(second.is_finished());  // three calls did not store three permits
        notify.notify_one();
        co_await second;
    }());
}

TEST_P(NotifyOrder, NotifyWaitersWakesEveryWaiterAndStoresNoPermit) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        std::atomic<int> woken{0};
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < 4; ++i)
            waiters.push_back(weft::spawn([](Notify& n, std::atomic<int>& woken) -> Task<void> {
                co_await n.notified();
                ++woken;
            }(notify, woken)));
        co_await settle();
        notify.notify_waiters();
        for (auto& w : waiters) co_await w;
        EXPECT_EQ(woken.load(), 4);
        JoinHandle<void> late = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        EXPECT_FALSE(late.is_finished());  // no permit was left behind for it
        notify.notify_one();
        co_await late;
    }());
}

TEST_P(NotifyTest, NotifyWaitersWithNobodyWaitingHasNoEffectOnLaterWaits) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        notify.notify_waiters();
        JoinHandle<void> late = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        EXPECT_FALSE(late.is_finished());
        notify.notify_one();
        co_await late;
    }());
}

TEST_P(NotifyTest, NotifyWaitersLeavesAStoredPermitInPlace) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        notify.notify_one();
        notify.notify_waiters();
        co_await notify.notified();  // the permit stored before is still there
    }());
}

TEST_P(NotifyTest, ANotifiedCreatedBeforeNotifyWaitersCompletesEvenIfAwaitedAfter) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        auto notified = notify.notified();  // the "create, check the condition, then wait" pattern
        notify.notify_waiters();
        co_await notified;
        auto later = notify.notified();
        EXPECT_FALSE(later.await_ready());  // created after the call: not covered by it
    }());
}

TEST_P(NotifyOrder, NotifyOneWakesWaitersInTheOrderTheyStartedWaiting) {
    auto rt = make_runtime();
    const std::vector<int> order = rt->block_on([]() -> Task<std::vector<int>> {
        Notify notify;
        std::vector<int> order;
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < 5; ++i) {
            waiters.push_back(weft::spawn([](Notify& n, std::vector<int>& order, int i) -> Task<void> {
                co_await n.notified();
                order.push_back(i);
            }(notify, order, i)));
            co_await settle();
        }
        for (int i = 0; i < 5; ++i) {
            notify.notify_one();
            co_await settle();
        }
        for (auto& w : waiters) co_await w;
        co_return order;
    }());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(NotifyOrder, AnAbortedWaiterLeavesNothingBehind) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        JoinHandle<void> doomed = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        notify.notify_one();  // nobody waits now: stored, not handed to the dead waiter
        co_await notify.notified();
    }());
}

TEST_P(NotifyOrder, ANotificationHandedToATaskAbortedBeforeItRanIsPassedOn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        JoinHandle<void> doomed = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        JoinHandle<void> behind = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        notify.notify_one();  // picks `doomed`, woken but not yet run...
        doomed.abort();       // ...and never will
        EXPECT_TRUE(co_await was_aborted(doomed));
        co_await behind;  // got the notification instead
    }());
}

TEST_P(NotifyOrder, ANotificationHandedToAnAbortedLastWaiterBecomesThePermit) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        JoinHandle<void> doomed = weft::spawn([](Notify& n) -> Task<void> { co_await n.notified(); }(notify));
        co_await settle();
        notify.notify_one();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        co_await notify.notified();  // the passed-on notification was stored
    }());
}

TEST_P(NotifyTest, ATaskThatAlwaysFindsAPermitStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        // Never suspends for want of a permit; the cooperative budget must still let `other` run.
        // A wait that yields first still consumes its permit afterwards (or this would hang).
        for (int i = 0; i < 100'000 && !other_ran; ++i) {
            notify.notify_one();
            co_await notify.notified();
        }
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

// A waiter that records its index once notified.
JoinHandle<void> spawn_recording_waiter(Notify& notify, std::vector<int>& order, int i) {
    return weft::spawn([](Notify& n, std::vector<int>& order, int i) -> Task<void> {
        co_await n.notified();
        order.push_back(i);
    }(notify, order, i));
}

TEST_P(NotifyOrder, NotifyLastWakesTheWaiterThatStartedWaitingMostRecently) {
    auto rt = make_runtime();
    const std::vector<int> order = rt->block_on([]() -> Task<std::vector<int>> {
        Notify notify;
        std::vector<int> order;
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < 4; ++i) {
            waiters.push_back(spawn_recording_waiter(notify, order, i));
            co_await settle();  // waiter i queues before waiter i + 1 starts
        }
        notify.notify_last();
        co_await settle();
        notify.notify_last();
        co_await settle();
        notify.notify_one();  // the oldest
        co_await settle();
        notify.notify_last();
        for (auto& w : waiters) co_await w;
        co_return order;
    }());
    EXPECT_EQ(order, (std::vector<int>{3, 2, 0, 1}));
}

TEST_P(NotifyTest, NotifyLastWithNobodyWaitingStoresTheOnePermit) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        notify.notify_last();
        notify.notify_last();
        co_await notify.notified();  // the one stored permit
        auto second = notify.notified();
        EXPECT_FALSE(second.enable());  // two calls stored one
    }());
}

TEST_P(NotifyOrder, ANotificationFromNotifyLastToAnAbortedWaiterGoesToTheNewLast) {
    auto rt = make_runtime();
    const std::vector<int> order = rt->block_on([]() -> Task<std::vector<int>> {
        Notify notify;
        std::vector<int> order;
        JoinHandle<void> first = spawn_recording_waiter(notify, order, 0);
        co_await settle();
        JoinHandle<void> second = spawn_recording_waiter(notify, order, 1);
        co_await settle();
        JoinHandle<void> doomed = spawn_recording_waiter(notify, order, -1);
        co_await settle();
        notify.notify_last();  // picks `doomed`, woken but not yet run...
        doomed.abort();        // ...and never will: passed on to the last one left, `second`
        EXPECT_TRUE(co_await was_aborted(doomed));
        co_await second;
        EXPECT_FALSE(first.is_finished());
        notify.notify_one();
        co_await first;
        co_return order;
    }());
    EXPECT_EQ(order, (std::vector<int>{1, 0}));
}

TEST_P(NotifyTest, EnableQueuesTheNotifiedSoANotifyOneReachesItInsteadOfBeingStored) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        auto mine = notify.notified();
        EXPECT_FALSE(mine.enable());  // nothing yet: it waits in line, without a waker
        notify.notify_one();          // handed to `mine`, not stored as a permit
        auto other = notify.notified();
        EXPECT_FALSE(other.enable());  // so nothing is left for another
        EXPECT_TRUE(mine.enable());    // reports the notification it holds
        co_await mine;                 // at once
        notify.notify_one();           // `other` is now first in line
        co_await other;
    }());
}

TEST_P(NotifyTest, EnableConsumesAStoredPermitAndSeesNotifyWaitersSinceCreation) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        notify.notify_one();
        auto first = notify.notified();
        EXPECT_TRUE(first.enable());  // took the permit
        auto second = notify.notified();
        EXPECT_FALSE(second.enable());  // the permit is gone
        auto third = notify.notified();  // created before the call below, never enabled
        notify.notify_waiters();        // reaches every Notified created before it
        EXPECT_TRUE(second.enable());
        EXPECT_TRUE(third.enable());
        co_await first;
        co_await second;
        co_await third;
        auto fourth = notify.notified();
        EXPECT_FALSE(fourth.enable());  // notify_waiters stored nothing
    }());
}

TEST_P(NotifyTest, AnEnabledNotifiedAwaitedLaterWaitsForItsNotification) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        Notify enabled;
        JoinHandle<void> waiter = weft::spawn([](Notify& n, Notify& enabled) -> Task<void> {
            auto notified = n.notified();
            if (notified.enable()) co_return;
            enabled.notify_one();  // in line now: a notify_one from here on is ours
            co_await notified;
        }(notify, enabled));
        co_await enabled.notified();
        notify.notify_one();
        co_await waiter;  // woke (not stored as a permit for someone else)
        auto after = notify.notified();
        EXPECT_FALSE(after.enable());
    }());
}

TEST_P(NotifyTest, AnEnabledNotifiedDestroyedUnusedPassesItsNotificationOn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        auto behind = notify.notified();
        {
            auto first = notify.notified();
            EXPECT_FALSE(first.enable());
            EXPECT_FALSE(behind.enable());
            notify.notify_one();  // picks `first`, which goes without using it
        }
        EXPECT_TRUE(behind.enable());  // passed on to the next in line
        co_await behind;
        {
            auto queued = notify.notified();
            EXPECT_FALSE(queued.enable());
        }  // left the line without a notification
        notify.notify_one();  // nobody waits: stored
        co_await notify.notified();
    }());
}

TEST_P(NotifyTest, AnEnabledNotifiedThatTimesOutLeavesTheLine) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Notify notify;
        {
            auto notified = notify.notified();
            EXPECT_FALSE(notified.enable());
            auto r = co_await weft::timeout(2ms, notified);
            EXPECT_TRUE(r.timed_out());
        }
        notify.notify_one();  // stored, not handed to the timed-out waiter
        auto s = co_await weft::select(notify.notified(), weft::sleep(1h));
        EXPECT_EQ(s.index(), 0u);
    }());
}

// More waiters than the wake batch holds inline: the ones past it are woken on the spot, under the
// lock, and must find their notification already in their node, or they sleep for good.
TEST_P(NotifyTest, NotifyWaitersReachingMoreWaitersThanTheWakeBatchHoldsWakesThemAll) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        constexpr int kWaiters = static_cast<int>(weft::detail::WakeBatch::kInline) + 8;
        Notify notify;
        std::atomic<int> in_line{0};
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < kWaiters; ++i)
            waiters.push_back(weft::spawn([](Notify& n, std::atomic<int>& in_line) -> Task<void> {
                auto notified = n.notified();
                (void)notified.enable();
                ++in_line;
                co_await notified;
            }(notify, in_line)));
        while (in_line < kWaiters) co_await weft::yield_now();
        notify.notify_waiters();
        for (auto& w : waiters) co_await w;
    }());
}

// notify_waiters must not allocate, however many wait (an out-of-memory notify_waiters would
// terminate the process, or strand waiters). Enabled Notified objects wait here without a task:
// what is counted is the Notify's own work, not a scheduler queueing woken tasks.
TEST(Notify, NotifyWaitersWakesEveryWaiterWithoutAllocating) {
    constexpr std::size_t kWaiters = weft::detail::WakeBatch::kInline + 8;
    Notify notify;
    std::vector<std::unique_ptr<Notify::Notified>> waiters;
    for (std::size_t i = 0; i < kWaiters; ++i) {
        waiters.emplace_back(new Notify::Notified(notify.notified()));  // not movable: built in place
        EXPECT_FALSE(waiters.back()->enable());
    }
    std::size_t allocations = 0;
    {
        weft::test::AllocationCounter counting;
        notify.notify_waiters();
        allocations = counting.allocations();
    }
    EXPECT_EQ(allocations, 0u);
    for (auto& w : waiters) EXPECT_TRUE(w->enable());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(NotifyTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(NotifyOrder);

}  // namespace
