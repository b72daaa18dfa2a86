// Notify: notify_one (a stored permit when nobody waits), notify_waiters (no permit), FIFO wake-up
// and cancelled waits.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (NotifyOrder); the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include <weft/channels/notify.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

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

WEFT_INSTANTIATE_ALL_RUNTIMES(NotifyTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(NotifyOrder);

}  // namespace
