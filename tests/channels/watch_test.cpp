// watch::channel: receivers see the latest value; changed() fires once per newer version; the
// sender going away ends changed(); the sender learns when every receiver is gone.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/channels/watch.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/failing_alloc.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"
#include "support/throw_switch.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::was_aborted;
using weft::watch::Receiver;
using weft::watch::RecvError;
using weft::watch::Sender;
using weft::test::MoveFailed;
using weft::test::CopyFailed;
using weft::test::NoAllocations;
using weft::test::Throwing;
using weft::test::ThrowSwitch;

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

TEST_P(WatchTest, AThrowingMoveInAnyUpdatePropagatesAndLeavesTheChannelWorking) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<Throwing>(Throwing(0));
        JoinHandle<int> waiting = weft::spawn([](Receiver<Throwing> rx) -> Task<int> {
            auto changed = co_await rx.changed();
            if (!changed) co_return -1;
            co_return rx.borrow_and_update()->value;
        }(rx));
        co_await settle();
        {
            ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
            EXPECT_THROW((void)tx.send(Throwing(1)), MoveFailed);
            EXPECT_THROW((void)tx.send_replace(Throwing(2)), MoveFailed);
            EXPECT_THROW(tx.send_modify([](Throwing& v) { v = Throwing(std::move(v)); }), MoveFailed);
        }
        {
            ThrowSwitch::Scope copies_throw(ThrowSwitch::kCopy);
            const Throwing lvalue(4);
            EXPECT_THROW((void)tx.send(lvalue), CopyFailed);
        }
        EXPECT_FALSE(rx.has_changed());  // nothing was notified
        EXPECT_EQ(rx.borrow()->value, 0);
        EXPECT_FALSE(waiting.is_finished());
        // The lock was released and no waiter was lost: a later update reaches everyone.
        EXPECT_TRUE(tx.send(Throwing(5)));
        EXPECT_EQ(co_await waiting, 5);
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_EQ(rx.borrow()->value, 5);
    }());
}

TEST_P(WatchTest, ALoopOnClosedOfAClosedChannelStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        { auto gone = std::move(rx); }
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        for (int i = 0; i < 100'000 && !other_ran; ++i) co_await tx.closed();  // each completes at once
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

TEST_P(WatchTest, ALoopOnWaitForThatHoldsAtOnceStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(1);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        for (int i = 0; i < 100'000 && !other_ran; ++i) {
            auto r = co_await rx.wait_for([](int v) { return v == 1; });
            EXPECT_TRUE(r);
        }
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

TEST_P(WatchTest, DroppingTheLastReceiverOrSenderWakesWaitersWithoutAllocating) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        {
            auto [tx, rx] = weft::watch::channel<int>(0);
            JoinHandle<void> watcher = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(tx));
            co_await settle();
            std::size_t allocations;
            {
                NoAllocations guard;
                { auto gone = std::move(rx); }
                allocations = guard.count();
            }
            EXPECT_EQ(allocations, 0u);
            co_await watcher;
        }
        {
            auto [tx, rx] = weft::watch::channel<int>(0);
            JoinHandle<bool> waiting = weft::spawn([](Receiver<int> rx) -> Task<bool> {
                co_return (co_await rx.changed()).is_closed();
            }(rx));
            co_await settle();
            std::size_t allocations;
            {
                NoAllocations guard;
                { auto gone = std::move(tx); }
                allocations = guard.count();
            }
            EXPECT_EQ(allocations, 0u);
            EXPECT_TRUE(co_await waiting);
        }
    }());
}

TEST(WatchChannel, HasChangedReportsClosedOnceEverySenderIsGone) {
    auto [tx, rx] = weft::watch::channel<int>(0);
    auto open = rx.has_changed();
    EXPECT_TRUE(open.ok());
    EXPECT_FALSE(open.value());
    EXPECT_TRUE(tx.send(1));
    EXPECT_TRUE(rx.has_changed().value());
    { auto gone = std::move(tx); }
    auto closed = rx.has_changed();  // closed wins over the unseen version, as Tokio's Err
    EXPECT_TRUE(closed.is_closed());
    EXPECT_FALSE(closed.ok());
    EXPECT_FALSE(closed);
    EXPECT_EQ(closed.error(), RecvError::closed);
    EXPECT_THROW((void)closed.value(), std::logic_error);
}

TEST(WatchChannel, MarkChangedMakesTheCurrentValueCountAsUnseen) {
    auto [tx, rx] = weft::watch::channel<int>(3);
    EXPECT_FALSE(rx.has_changed());
    rx.mark_changed();
    EXPECT_TRUE(rx.has_changed());
    EXPECT_TRUE(rx.borrow().has_changed());
    EXPECT_EQ(*rx.borrow_and_update(), 3);
    EXPECT_FALSE(rx.has_changed());
    rx.mark_changed();
    rx.mark_unchanged();
    EXPECT_FALSE(rx.has_changed());
    Receiver<int> moved = std::move(rx);
    EXPECT_THROW(rx.mark_changed(), std::logic_error);
}

TEST_P(WatchTest, MarkChangedMakesChangedCompleteOnceWithoutASend) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(3);
        rx.mark_changed();
        EXPECT_TRUE(co_await rx.changed());  // at once
        EXPECT_FALSE(rx.has_changed());
        JoinHandle<int> next = weft::spawn([](Receiver<int>& rx) -> Task<int> {
            EXPECT_TRUE(co_await rx.changed());
            co_return *rx.borrow_and_update();
        }(rx));
        co_await settle();
        EXPECT_FALSE(next.is_finished());  // only once
        EXPECT_TRUE(tx.send(4));
        EXPECT_EQ(co_await next, 4);
    }());
}

TEST_P(WatchTest, WaitForYieldsTheCurrentValueAtOnceIfItHoldsEvenIfSeen) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(7);
        int calls = 0;
        {
            auto r = co_await rx.wait_for([&](const int& v) {
                ++calls;
                return v == 7;
            });
            CO_ASSERT_TRUE(r.ok());
            EXPECT_EQ(*r, 7);
        }
        EXPECT_EQ(calls, 1);
        EXPECT_TRUE(tx.send(8));  // the result released the lock: the update can proceed
    }());
}

TEST_P(WatchTest, WaitForWaitsForAValueThatHoldsAndMarksItSeen) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<int> waiting = weft::spawn([](Receiver<int>& rx) -> Task<int> {
            auto r = co_await rx.wait_for([](int v) { return v >= 3; });
            if (!r) co_return -1;
            co_return *r;
        }(rx));
        co_await settle();
        for (int i = 1; i <= 2; ++i) {
            EXPECT_TRUE(tx.send(i));
            co_await settle();
            EXPECT_FALSE(waiting.is_finished());
        }
        EXPECT_TRUE(tx.send(3));
        EXPECT_EQ(co_await waiting, 3);
        EXPECT_FALSE(rx.has_changed());  // the version it returned is marked seen
        EXPECT_TRUE(tx.send(4));
    }());
}

TEST_P(WatchTest, WaitForReportsClosedAfterTryingTheFinalValue) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        std::vector<int> looked_at;
        JoinHandle<bool> waiting = weft::spawn([](Receiver<int>& rx, std::vector<int>& looked_at) -> Task<bool> {
            auto r = co_await rx.wait_for([&](int v) {
                looked_at.push_back(v);
                return v < 0;
            });
            co_return r.is_closed() && r.error() == RecvError::closed;
        }(rx, looked_at));
        co_await settle();
        EXPECT_TRUE(tx.send(9));
        { auto gone = std::move(tx); }
        EXPECT_TRUE(co_await waiting);
        CO_ASSERT_TRUE(!looked_at.empty());
        EXPECT_EQ(looked_at.front(), 0);
        EXPECT_EQ(looked_at.back(), 9);  // the final value was tried before closed was reported
        // On a closed channel whose final value holds, the value still comes back.
        auto r = co_await rx.wait_for([](int v) { return v == 9; });
        EXPECT_TRUE(r);
    }());
}

TEST_P(WatchTest, AThrowingPredicateComesOutOfWaitForAndLeavesTheChannelWorking) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<bool> waiting = weft::spawn([](Receiver<int>& rx) -> Task<bool> {
            try {
                (void)co_await rx.wait_for([](int v) {
                    if (v == 1) throw std::runtime_error("pred");
                    return false;
                });
            } catch (const std::runtime_error&) {
                co_return true;
            }
            co_return false;
        }(rx));
        co_await settle();
        EXPECT_TRUE(tx.send(1));
        EXPECT_TRUE(co_await waiting);
        EXPECT_TRUE(tx.send(2));  // no lock was left held
        auto r = co_await rx.wait_for([](int v) { return v == 2; });
        EXPECT_TRUE(r);
    }());
}

TEST_P(WatchTest, AnAbortedWaitForLeavesNoWaiterAndHoldsNoLock) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        JoinHandle<void> doomed = weft::spawn([](Receiver<int>& rx) -> Task<void> {
            (void)co_await rx.wait_for([](int v) { return v == 100; });
        }(rx));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_TRUE(tx.send(100));  // would spin for ever on a leaked lock
        auto r = co_await rx.wait_for([](int v) { return v == 100; });
        EXPECT_TRUE(r);
    }());
}

TEST_P(WatchTest, SendersCopyAndTheChannelClosesWhenTheLastGoes) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::watch::channel<int>(0);
        Sender<int> second = tx;
        EXPECT_EQ(tx.sender_count(), 2u);
        EXPECT_TRUE(second.same_channel(tx));
        JoinHandle<int> waiting = weft::spawn([](Receiver<int> rx) -> Task<int> {
            int last = -1;
            while (auto changed = co_await rx.changed()) last = *rx.borrow_and_update();
            co_return last;
        }(rx));
        EXPECT_TRUE(tx.send(1));
        EXPECT_TRUE(second.send(2));
        { auto gone = std::move(tx); }
        co_await settle();
        EXPECT_FALSE(rx.is_closed());  // one sender left
        EXPECT_FALSE(waiting.is_finished());
        EXPECT_EQ(second.sender_count(), 1u);
        EXPECT_TRUE(second.send(3));
        Sender<int> assigned = second;  // copy, then drop both
        assigned = Sender<int>(std::move(second));
        EXPECT_EQ(assigned.sender_count(), 1u);
        { auto gone = std::move(assigned); }
        EXPECT_TRUE(rx.is_closed());
        EXPECT_EQ(co_await waiting, 3);
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(WatchTest);

}  // namespace
