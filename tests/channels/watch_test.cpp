// watch::channel: receivers see the latest value; changed() fires once per newer version; the
// sender going away ends changed(); the sender learns when every receiver is gone.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <weft/channels/watch.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::was_aborted;
using weft::watch::Receiver;
using weft::watch::RecvError;
using weft::watch::Sender;

class WatchTest : public weft::test::AllRuntimes {};

TEST(WatchChannel, TheInitialValueIsThereAndCountsAsSeen) {
    auto [tx, rx] = weft::watch::channel<std::string>("initial");
    EXPECT_EQ(*rx.borrow(), "initial");
    EXPECT_EQ(*tx.borrow(), "initial");
    EXPECT_FALSE(rx.has_changed());
    EXPECT_FALSE(rx.borrow().has_changed());
}

TEST(WatchChannel, BorrowLooksWithoutMarkingSeenAndBorrowAndUpdateMarks) {
    auto [tx, rx] = weft::watch::channel<int>(0);
    EXPECT_TRUE(tx.send(1));
    EXPECT_TRUE(rx.has_changed());
    {
        auto ref = rx.borrow();
        EXPECT_EQ(*ref, 1);
        EXPECT_TRUE(ref.has_changed());
    }
    EXPECT_TRUE(rx.has_changed());  // borrow did not mark it
    {
        auto ref = rx.borrow_and_update();
        EXPECT_EQ(*ref, 1);
        EXPECT_TRUE(ref.has_changed());
    }
    EXPECT_FALSE(rx.has_changed());
    EXPECT_FALSE(rx.borrow_and_update().has_changed());
    EXPECT_TRUE(tx.send(2));
    rx.mark_unchanged();
    EXPECT_FALSE(rx.has_changed());
    EXPECT_EQ(*rx.borrow(), 2);
}

TEST(WatchChannel, SendFailsAndHandsTheValueBackOnceEveryReceiverIsGone) {
    auto [tx, rx] = weft::watch::channel<std::string>("a");
    Receiver<std::string> copy = rx;
    EXPECT_EQ(tx.receiver_count(), 2u);
    { auto gone = std::move(rx); }
    EXPECT_FALSE(tx.is_closed());
    { auto gone = std::move(copy); }
    EXPECT_TRUE(tx.is_closed());
    auto r = tx.send("b");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.is_closed());
    EXPECT_EQ(r.take_value(), "b");
    EXPECT_EQ(*tx.borrow(), "a");  // unchanged
    // send_replace stores regardless, and a new receiver sees it (as already seen).
    EXPECT_EQ(tx.send_replace("c"), "a");
    Receiver<std::string> late = tx.subscribe();
    EXPECT_EQ(*late.borrow(), "c");
    EXPECT_FALSE(late.has_changed());
}

TEST(WatchChannel, SendModifyChangesInPlaceAndSendIfModifiedNotifiesOnlyOnTrue) {
    auto [tx, rx] = weft::watch::channel<std::unique_ptr<std::vector<int>>>(std::make_unique<std::vector<int>>());
    tx.send_modify([](auto& v) { v->push_back(1); });  // a move-only T, changed in place
    EXPECT_TRUE(rx.has_changed());
    EXPECT_EQ((*rx.borrow_and_update())->size(), 1u);
    EXPECT_FALSE(tx.send_if_modified([](auto& v) { return !v->empty() && false; }));
    EXPECT_FALSE(rx.has_changed());
    EXPECT_TRUE(tx.send_if_modified([](auto& v) {
        v->push_back(2);
        return true;
    }));
    EXPECT_TRUE(rx.has_changed());
}

TEST(WatchChannel, AThrowingModificationDoesNotNotify) {
    auto [tx, rx] = weft::watch::channel<int>(1);
    EXPECT_THROW(tx.send_modify([](int& v) {
        v = 2;
        throw std::runtime_error("half done");
    }),
                 std::runtime_error);
    EXPECT_FALSE(rx.has_changed());
    EXPECT_EQ(*rx.borrow(), 2);       // the partial change stays, as documented
    EXPECT_TRUE(tx.send(3));          // and the lock was released
    EXPECT_TRUE(rx.has_changed());
}

TEST(WatchChannel, AReceiverCopyStartsWithTheSameSeenVersion) {
    auto [tx, rx] = weft::watch::channel<int>(0);
    EXPECT_TRUE(tx.send(1));
    Receiver<int> behind = rx;  // has not seen 1 either
    (void)rx.borrow_and_update();
    Receiver<int> caught_up = rx;
    EXPECT_TRUE(behind.has_changed());
    EXPECT_FALSE(caught_up.has_changed());
    EXPECT_TRUE(behind.same_channel(caught_up));
    EXPECT_EQ(tx.receiver_count(), 3u);
}

TEST_P(WatchTest, AReceiverThatMissedSeveralUpdatesSeesOnlyTheLatestAndChangedFiresOnce) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        for (int i = 1; i <= 5; ++i) EXPECT_TRUE(tx.send(i));
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_EQ(*rx.borrow(), 5);
        // The same version again must not fire: the next changed() waits for a new send.
        JoinHandle<int> next = weft::spawn([](Receiver<int>& rx) -> Task<int> {
            EXPECT_TRUE(co_await rx.changed());
            co_return *rx.borrow_and_update();
        }(rx));
        co_await settle();
        EXPECT_FALSE(next.is_finished());
        EXPECT_TRUE(tx.send(6));
        EXPECT_EQ(co_await next, 6);
    }());
}

TEST_P(WatchTest, EveryWaitingReceiverWakesForAnUpdate) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        std::vector<JoinHandle<int>> waiting;
        for (int i = 0; i < 5; ++i)
            waiting.push_back(weft::spawn([](Receiver<int> rx) -> Task<int> {
                auto changed = co_await rx.changed();  // not in the condition: see README, Pitfalls
                if (!changed) co_return -1;
                co_return *rx.borrow_and_update();
            }(rx)));
        co_await settle();
        EXPECT_TRUE(tx.send(42));
        for (auto& w : waiting) EXPECT_EQ(co_await w, 42);
    }());
}

TEST_P(WatchTest, TheSenderGoingAwayEndsChangedAfterALastUnseenVersion) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<bool> waiting = weft::spawn([](Receiver<int> rx) -> Task<bool> {
            auto r = co_await rx.changed();
            co_return r.is_closed() && r.error() == RecvError::closed;
        }(rx));
        co_await settle();
        EXPECT_TRUE(tx.send(1));
        { auto gone = std::move(tx); }
        EXPECT_TRUE(rx.is_closed());
        EXPECT_TRUE(co_await rx.changed());  // version 1 was not seen yet: reported first
        EXPECT_EQ(*rx.borrow(), 1);
        EXPECT_TRUE((co_await rx.changed()).is_closed());
        // The spawned receiver's copy had not seen version 1 either: a change, not closed.
        EXPECT_FALSE(co_await waiting);
        JoinHandle<bool> late = weft::spawn([](Receiver<int> rx) -> Task<bool> {
            co_return (co_await rx.changed()).is_closed();
        }(rx));
        EXPECT_TRUE(co_await late);
    }());
}

TEST_P(WatchTest, DroppingTheSenderWakesAReceiverWaitingForAChange) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<bool> waiting = weft::spawn([](Receiver<int> rx) -> Task<bool> {
            co_return (co_await rx.changed()).is_closed();
        }(std::move(rx)));
        co_await settle();
        EXPECT_FALSE(waiting.is_finished());
        { auto gone = std::move(tx); }
        EXPECT_TRUE(co_await waiting);
    }());
}

TEST_P(WatchTest, SenderClosedCompletesOnceEveryReceiverIsGone) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        Receiver<int> copy = rx;
        JoinHandle<void> watcher = weft::spawn([](Sender<int>& tx) -> Task<void> { co_await tx.closed(); }(tx));
        co_await settle();
        { auto gone = std::move(rx); }
        co_await settle();
        EXPECT_FALSE(watcher.is_finished());  // one receiver left
        { auto gone = std::move(copy); }
        co_await watcher;
        EXPECT_TRUE(tx.is_closed());
        co_await tx.closed();  // completes at once now
    }());
}

TEST_P(WatchTest, AnAbortedClosedWaiterLeavesNoWaiterAndOthersStillComplete) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<void> doomed = weft::spawn([](Sender<int>& tx) -> Task<void> { co_await tx.closed(); }(tx));
        co_await settle();
        JoinHandle<void> behind = weft::spawn([](Sender<int>& tx) -> Task<void> { co_await tx.closed(); }(tx));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_FALSE(behind.is_finished());
        { auto gone = std::move(rx); }  // wakes the remaining waiter (and touches no dead one)
        co_await behind;
    }());
}

TEST_P(WatchTest, AnAbortedChangedLeavesNoWaiterAndMissesNoChange) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<void> doomed = weft::spawn([](Receiver<int>& rx) -> Task<void> { (void)co_await rx.changed(); }(rx));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_FALSE(rx.has_changed());
        EXPECT_TRUE(tx.send(7));
        EXPECT_TRUE(rx.has_changed());  // the aborted wait marked nothing seen
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_EQ(*rx.borrow(), 7);
    }());
}

TEST_P(WatchTest, ATaskThatAlwaysFindsAChangeStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        for (int i = 1; i < 100'000 && !other_ran; ++i) {
            EXPECT_TRUE(tx.send(i));
            EXPECT_TRUE(co_await rx.changed());
        }
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(WatchTest);

}  // namespace
