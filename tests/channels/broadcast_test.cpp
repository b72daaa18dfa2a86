// broadcast::channel: every receiver sees every value sent after it subscribed; lag is reported
// exactly; values live until every receiver due to see them has; closed after the senders go.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/channels/broadcast.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/failing_alloc.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"
#include "support/test_event.hpp"
#include "support/throw_switch.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::broadcast::Receiver;
using weft::broadcast::RecvError;
using weft::broadcast::Sender;
using weft::broadcast::TryRecvError;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::CopyFailed;
using weft::test::MoveFailed;
using weft::test::NoAllocations;
using weft::test::Throwing;
using weft::test::ThrowSwitch;
using weft::test::Tracked;
using weft::test::was_aborted;

class BroadcastTest : public weft::test::AllRuntimes {};

TEST(BroadcastChannel, CapacityZeroIsAnErrorWithAMessage) {
    try {
        (void)weft::broadcast::channel<int>(0);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos);
    }
}

TEST(BroadcastChannel, SendReportsHowManyReceiversItReached) {
    auto [tx, rx] = weft::broadcast::channel<int>(4);
    auto r1 = tx.send(1);
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1.receivers(), 1u);
    Receiver<int> rx2 = tx.subscribe();
    Receiver<int> rx3 = rx.resubscribe();
    EXPECT_EQ(tx.receiver_count(), 3u);
    EXPECT_EQ(tx.send(2).receivers(), 3u);
    EXPECT_THROW((void)tx.send(3).take_value(), std::logic_error);  // nothing to hand back
}

TEST(BroadcastChannel, SendWithNoReceiversFailsAndHandsTheValueBack) {
    auto [tx, rx] = weft::broadcast::channel<std::string>(4);
    { auto gone = std::move(rx); }
    EXPECT_EQ(tx.receiver_count(), 0u);
    auto r = tx.send("nobody listens");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.is_closed());
    EXPECT_EQ(r.error(), weft::SendError::closed);
    EXPECT_EQ(r.receivers(), 0u);
    EXPECT_EQ(r.take_value(), "nobody listens");
    Receiver<std::string> late = tx.subscribe();  // a channel with no receivers can get one again
    EXPECT_TRUE(tx.send("now someone does"));
    EXPECT_EQ(*late.try_recv(), "now someone does");
}

TEST(BroadcastChannel, EachReceiverSeesExactlyTheValuesSentAfterItSubscribed) {
    auto [tx, rx] = weft::broadcast::channel<int>(8);
    EXPECT_TRUE(tx.send(1));
    Receiver<int> from_two = tx.subscribe();
    EXPECT_TRUE(tx.send(2));
    Receiver<int> from_three = rx.resubscribe();  // not rx's backlog: only what comes next
    EXPECT_TRUE(tx.send(3));
    std::vector<int> a, b, c;
    for (auto r = rx.try_recv(); r; r = rx.try_recv()) a.push_back(*r);
    for (auto r = from_two.try_recv(); r; r = from_two.try_recv()) b.push_back(*r);
    for (auto r = from_three.try_recv(); r; r = from_three.try_recv()) c.push_back(*r);
    EXPECT_EQ(a, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(b, (std::vector<int>{2, 3}));
    EXPECT_EQ(c, (std::vector<int>{3}));
    EXPECT_TRUE(rx.try_recv().is_empty());
}

TEST(BroadcastChannel, ASlowReceiverIsToldExactlyHowManyItMissedThenGetsTheOldestKept) {
    auto [tx, rx] = weft::broadcast::channel<int>(4);
    Receiver<int> keeping_up = tx.subscribe();
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(tx.send(i));
        if (i < 5) {
            EXPECT_EQ(*keeping_up.try_recv(), i);
        }
    }
    EXPECT_EQ(rx.len(), 10u);  // more than the capacity: the next recv reports lagged
    auto lag = rx.try_recv();
    ASSERT_TRUE(lag.is_lagged());
    EXPECT_EQ(lag.error(), TryRecvError::lagged);
    EXPECT_EQ(lag.lagged_by(), 6u);  // 0..5 were overwritten; 6..9 are kept
    EXPECT_EQ(rx.len(), 4u);
    for (int i = 6; i < 10; ++i) EXPECT_EQ(*rx.try_recv(), i);
    EXPECT_TRUE(rx.try_recv().is_empty());
    // The receiver that kept up was only 5 behind with capacity 4: it lagged by 1.
    auto lag2 = keeping_up.try_recv();
    EXPECT_EQ(lag2.lagged_by(), 1u);
    EXPECT_EQ(*keeping_up.try_recv(), 6);
}

TEST_P(BroadcastTest, RecvReportsLagThenContinuesFromTheOldestValueKept) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(3);
        for (int i = 0; i < 7; ++i) EXPECT_TRUE(tx.send(i));
        auto lag = co_await rx.recv();
        EXPECT_TRUE(lag.is_lagged());
        EXPECT_EQ(lag.error(), RecvError::lagged);
        EXPECT_EQ(lag.lagged_by(), 4u);
        EXPECT_EQ(*co_await rx.recv(), 4);
        EXPECT_EQ(*co_await rx.recv(), 5);
        EXPECT_EQ(*co_await rx.recv(), 6);
    }());
}

TEST(BroadcastChannel, ValuesAreDestroyedOnceEveryReceiverHasReadOrSkippedThem) {
    const long before = Tracked::live.load();
    {
        auto [tx, rx1] = weft::broadcast::channel<Tracked>(4);
        Receiver<Tracked> rx2 = tx.subscribe();
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(tx.send(Tracked{}));
        EXPECT_EQ(Tracked::live.load(), before + 3);
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(rx1.try_recv());  // each copy dies at once
        EXPECT_EQ(Tracked::live.load(), before + 3);               // rx2 has not read them yet
        EXPECT_TRUE(rx2.try_recv());
        EXPECT_EQ(Tracked::live.load(), before + 2);  // the first: read by both
        { auto gone = std::move(rx2); }
        EXPECT_EQ(Tracked::live.load(), before);  // a receiver going away counts as reading

        // Overwritten values die at the overwrite; a lagging receiver skips them.
        for (int i = 0; i < 7; ++i) EXPECT_TRUE(tx.send(Tracked{}));
        EXPECT_EQ(Tracked::live.load(), before + 4);
        EXPECT_EQ(rx1.try_recv().lagged_by(), 3u);
        EXPECT_EQ(Tracked::live.load(), before + 4);
        for (int i = 0; i < 4; ++i) EXPECT_TRUE(rx1.try_recv());
        EXPECT_EQ(Tracked::live.load(), before);
        for (int i = 0; i < 2; ++i) EXPECT_TRUE(tx.send(Tracked{}));
        EXPECT_EQ(Tracked::live.load(), before + 2);
    }
    EXPECT_EQ(Tracked::live.load(), before);  // the unread ones died with the channel, once
}

TEST_P(BroadcastTest, ClosedOnlyOnceEverySenderIsGoneAndTheReceiverCaughtUp) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(4);
        Sender<int> tx2 = tx;
        EXPECT_TRUE(tx.send(1));
        EXPECT_TRUE(tx2.send(2));
        { auto gone = std::move(tx); }
        EXPECT_FALSE(rx.is_closed());
        EXPECT_EQ(*co_await rx.recv(), 1);
        EXPECT_TRUE(rx.try_recv().has_value());  // 2
        EXPECT_TRUE(rx.try_recv().is_empty());   // tx2 remains
        EXPECT_TRUE(tx2.send(3));
        { auto gone = std::move(tx2); }
        EXPECT_TRUE(rx.is_closed());
        EXPECT_EQ(*co_await rx.recv(), 3);  // still drains
        auto end = co_await rx.recv();
        EXPECT_TRUE(end.is_closed());
        EXPECT_EQ(end.error(), RecvError::closed);
        EXPECT_TRUE(rx.try_recv().is_closed());
    }());
}

TEST_P(BroadcastTest, TheLastSenderGoingAwayWakesWaitingReceiversWithClosed) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(4);
        std::vector<JoinHandle<bool>> waiting;
        for (int i = 0; i < 3; ++i)
            waiting.push_back(weft::spawn([](Receiver<int> rx) -> Task<bool> {
                co_return (co_await rx.recv()).is_closed();
            }(i == 0 ? std::move(rx) : tx.subscribe())));
        co_await settle();
        { auto gone = std::move(tx); }
        for (auto& w : waiting) EXPECT_TRUE(co_await w);
    }());
}

TEST_P(BroadcastTest, ASendWakesEveryWaitingReceiver) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<std::string>(2);
        std::vector<JoinHandle<std::string>> waiting;
        for (int i = 0; i < 5; ++i)
            waiting.push_back(weft::spawn([](Receiver<std::string> rx) -> Task<std::string> {
                auto r = co_await rx.recv();
                co_return r ? *r : std::string("no value");
            }(tx.subscribe())));
        co_await settle();
        EXPECT_EQ(tx.send("hello").receivers(), 6u);
        for (auto& w : waiting) EXPECT_EQ(co_await w, "hello");
        EXPECT_EQ(*co_await rx.recv(), "hello");
    }());
}

// Four receivers each see all N values, in order, with none lost to lag: the sender stays within
// the capacity of the slowest receiver (broadcast has no backpressure of its own).
TEST_P(BroadcastTest, FourReceiversEachSeeEveryValueInOrder) {
    auto rt = make_runtime();
    const std::uint64_t n = static_cast<std::uint64_t>(weft::test::scaled(1'000'000, 20));
    constexpr std::size_t kCapacity = 256;
    const std::vector<std::uint64_t> seen = rt->block_on([](std::uint64_t n) -> Task<std::vector<std::uint64_t>> {
        auto [tx, rx] = weft::broadcast::channel<std::uint64_t>(kCapacity);
        std::array<std::atomic<std::uint64_t>, 4> progress{};
        std::vector<JoinHandle<std::uint64_t>> receivers;
        for (std::size_t k = 0; k < 4; ++k)
            receivers.push_back(weft::spawn([](Receiver<std::uint64_t> rx, std::atomic<std::uint64_t>& progress)
                                                -> Task<std::uint64_t> {
                std::uint64_t expected = 0;
                for (;;) {
                    auto r = co_await rx.recv();
                    if (!r) {
                        if (!r.is_closed()) co_return ~std::uint64_t{0};  // lagged: must not happen
                        break;
                    }
                    if (*r != expected) co_return ~std::uint64_t{0};  // out of order
                    progress.store(++expected, std::memory_order_release);
                }
                co_return expected;
            }(k == 0 ? std::move(rx) : tx.subscribe(), progress[k])));
        for (std::uint64_t i = 0; i < n; ++i) {
            auto slowest = [&] {
                std::uint64_t m = ~std::uint64_t{0};
                for (auto& p : progress) m = std::min(m, p.load(std::memory_order_acquire));
                return m;
            };
            while (i - slowest() >= kCapacity) co_await weft::yield_now();
            EXPECT_EQ(tx.send(i).receivers(), 4u);
        }
        { auto done = std::move(tx); }
        std::vector<std::uint64_t> seen;
        for (auto& r : receivers) seen.push_back(co_await r);
        co_return seen;
    }(n));
    EXPECT_EQ(seen, std::vector<std::uint64_t>(4, n));
}

TEST_P(BroadcastTest, AnAbortedReceiverLeavesNoWaiterAndDoesNotHoldValuesBack) {
    auto rt = make_runtime();
    const long before = Tracked::live.load();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<std::shared_ptr<Tracked>>(4);
        JoinHandle<void> doomed = weft::spawn([](Receiver<std::shared_ptr<Tracked>> rx) -> Task<void> {
            (void)co_await rx.recv();
        }(tx.subscribe()));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_EQ(tx.receiver_count(), 1u);  // its receiver died with its frame
        EXPECT_EQ(tx.send(std::make_shared<Tracked>()).receivers(), 1u);
        auto r = co_await rx.recv();
        EXPECT_TRUE(r);
        if (r) {
            EXPECT_EQ(r->use_count(), 1);
        }  // read by its only receiver: the channel's copy is gone
    }());
    EXPECT_EQ(Tracked::live.load(), before);
}

TEST_P(BroadcastTest, ATaskThatAlwaysFindsValuesStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(1);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        // Every recv finds a value (lagged or not); the cooperative budget must still let `other` run.
        for (int i = 0; i < 100'000 && !other_ran; ++i) {
            EXPECT_TRUE(tx.send(i));
            EXPECT_TRUE(co_await rx.recv());
        }
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

TEST_P(BroadcastTest, AThrowingMoveInSendPropagatesAndLaterValuesAreReceived) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<Throwing>(2);
        JoinHandle<std::vector<int>> waiting = weft::spawn([](Receiver<Throwing> rx) -> Task<std::vector<int>> {
            std::vector<int> got;
            for (;;) {
                auto r = co_await rx.recv();
                if (r.is_closed()) break;
                if (r) got.push_back(r->value);  // lagged: carry on from the oldest kept
            }
            co_return got;
        }(tx.subscribe()));
        co_await settle();
        {
            ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
            EXPECT_THROW((void)tx.send(Throwing(1)), MoveFailed);  // into the ring: an empty slot
        }
        EXPECT_EQ(tx.len(), 0u);
        EXPECT_TRUE(rx.is_empty());  // nothing took a position
        EXPECT_TRUE(tx.send(Throwing(2)));
        EXPECT_TRUE(tx.send(Throwing(3)));
        auto first = rx.try_recv();
        CO_ASSERT_TRUE(first.has_value());
        EXPECT_EQ(first->value, 2);
        {
            // Overwrites 2's slot (rx read 2; the spawned receiver may not have): documented loss.
            ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
            EXPECT_THROW((void)tx.send(Throwing(4)), MoveFailed);
        }
        EXPECT_TRUE(tx.send(Throwing(5)));
        auto second = rx.try_recv();
        CO_ASSERT_TRUE(second.has_value());
        EXPECT_EQ(second->value, 3);
        auto third = rx.try_recv();
        CO_ASSERT_TRUE(third.has_value());
        EXPECT_EQ(third->value, 5);
        EXPECT_TRUE(rx.try_recv().is_empty());
        { auto gone = std::move(tx); }
        const std::vector<int> got = co_await waiting;  // woken, not stranded; ends with closed
        CO_ASSERT_TRUE(!got.empty());
        EXPECT_EQ(got.back(), 5);
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
        EXPECT_EQ(std::count(got.begin(), got.end(), 4), 0);
    }());
}

TEST(BroadcastChannel, AReceiverWhoseCopyThrowsGetsTheExceptionAndMovesPastTheValue) {
    auto [tx, rx] = weft::broadcast::channel<Throwing>(4);
    Receiver<Throwing> other = tx.subscribe();
    EXPECT_TRUE(tx.send(Throwing(1)));
    EXPECT_TRUE(tx.send(Throwing(2)));
    {
        ThrowSwitch::Scope copies_throw(ThrowSwitch::kCopy);
        EXPECT_THROW((void)rx.try_recv(), CopyFailed);
    }
    EXPECT_EQ(rx.len(), 1u);  // past value 1
    auto r = rx.try_recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->value, 2);
    // The throw counted as a read: once `other` reads both, nothing is queued.
    EXPECT_EQ(other.try_recv()->value, 1);
    EXPECT_EQ(other.try_recv()->value, 2);
    EXPECT_EQ(tx.len(), 0u);
}

TEST_P(BroadcastTest, ARecvWhoseCopyThrowsRethrowsAndTheNextRecvGetsTheNextValue) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<Throwing>(4);
        // Suspended first, so the copy happens in the worker's poll and comes out of the co_await.
        std::atomic<bool> threw{false};
        JoinHandle<int> waiting = weft::spawn([](Receiver<Throwing>& rx, std::atomic<bool>& threw) -> Task<int> {
            try {
                (void)co_await rx.recv();
            } catch (const CopyFailed&) {
                threw = true;
            }
            if (!threw) co_return -2;
            auto r = co_await rx.recv();
            co_return r ? r->value : -1;
        }(rx, threw));
        co_await settle();
        {
            ThrowSwitch::Scope copies_throw(ThrowSwitch::kCopy);
            EXPECT_TRUE(tx.send(Throwing(1)));  // a send moves, never copies
            while (!threw && !waiting.is_finished()) co_await weft::yield_now();  // its copy throws
        }
        EXPECT_TRUE(tx.send(Throwing(2)));
        EXPECT_EQ(co_await waiting, 2);
        // And when the value is already there, the throw comes straight out of the co_await.
        EXPECT_TRUE(tx.send(Throwing(3)));
        EXPECT_TRUE(tx.send(Throwing(4)));
        bool threw_here = false;
        {
            ThrowSwitch::Scope copies_throw(ThrowSwitch::kCopy);
            try {
                (void)co_await rx.recv();
            } catch (const CopyFailed&) {
                threw_here = true;
            }
        }
        EXPECT_TRUE(threw_here);
        auto r = co_await rx.recv();
        CO_ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->value, 4);
    }());
}

TEST(BroadcastChannel, SenderLenCountsValuesNotYetReadByEveryReceiverDue) {
    auto [tx, rx] = weft::broadcast::channel<int>(4);
    EXPECT_TRUE(tx.is_empty());
    EXPECT_EQ(tx.len(), 0u);
    Receiver<int> other = tx.subscribe();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(tx.send(i));
    EXPECT_EQ(tx.len(), 3u);
    EXPECT_EQ(*rx.try_recv(), 0);
    EXPECT_EQ(tx.len(), 3u);  // `other` has not read 0 yet
    EXPECT_EQ(*other.try_recv(), 0);
    EXPECT_EQ(tx.len(), 2u);
    for (int i = 3; i < 10; ++i) EXPECT_TRUE(tx.send(i));
    EXPECT_EQ(tx.len(), 4u);  // never more than the capacity: older ones were overwritten
    { auto gone = std::move(other); }
    while (rx.try_recv().has_value() || rx.len() > 0) {
    }
    EXPECT_TRUE(tx.is_empty());
}

TEST(BroadcastChannel, ReceiverCountFollowsSubscribeAndDrop) {
    auto [tx, rx] = weft::broadcast::channel<int>(4);
    EXPECT_EQ(tx.receiver_count(), 1u);
    {
        Receiver<int> more = rx.resubscribe();
        EXPECT_EQ(tx.receiver_count(), 2u);
    }
    EXPECT_EQ(tx.receiver_count(), 1u);
}

TEST_P(BroadcastTest, SenderClosedCompletesOnceEveryReceiverIsGone) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(4);
        Receiver<int> second = tx.subscribe();
        JoinHandle<void> watcher = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(tx));
        co_await settle();
        { auto gone = std::move(rx); }
        co_await settle();
        EXPECT_FALSE(watcher.is_finished());  // one receiver left
        { auto gone = std::move(second); }
        co_await watcher;
        co_await tx.closed();  // at once now
        EXPECT_EQ(tx.receiver_count(), 0u);
    }());
}

TEST_P(BroadcastTest, AnAbortedClosedWaiterLeavesNoWaiterBehind) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(4);
        JoinHandle<void> doomed = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(tx));
        JoinHandle<void> behind = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(tx));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        { auto gone = std::move(rx); }  // wakes the remaining waiter (and touches no dead one)
        co_await behind;
    }());
}

TEST_P(BroadcastTest, ALoopOnClosedWithNoReceiversStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<int>(4);
        { auto gone = std::move(rx); }
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        for (int i = 0; i < 100'000 && !other_ran; ++i) co_await tx.closed();  // each completes at once
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

TEST(BroadcastChannel, AWeakSenderUpgradesWhileASenderExistsAndNeverKeepsTheChannelOpen) {
    auto [tx, rx] = weft::broadcast::channel<int>(4);
    weft::broadcast::WeakSender<int> weak = tx.downgrade();
    EXPECT_EQ(tx.strong_count(), 1u);
    EXPECT_EQ(tx.weak_count(), 1u);
    {
        weft::broadcast::WeakSender<int> copy = weak;
        EXPECT_EQ(weak.weak_count(), 2u);
    }
    EXPECT_EQ(weak.weak_count(), 1u);
    {
        std::optional<Sender<int>> again = weak.upgrade();
        ASSERT_TRUE(again.has_value());
        EXPECT_EQ(weak.strong_count(), 2u);
        EXPECT_TRUE(again->same_channel(tx));
        EXPECT_EQ(again->send(1).receivers(), 1u);
    }
    EXPECT_EQ(weak.strong_count(), 1u);
    EXPECT_EQ(*rx.try_recv(), 1);
    { auto gone = std::move(tx); }  // the last Sender: the weak one does not hold it open
    EXPECT_TRUE(rx.is_closed());
    EXPECT_TRUE(rx.try_recv().is_closed());
    EXPECT_EQ(weak.strong_count(), 0u);
    EXPECT_FALSE(weak.upgrade().has_value());  // for ever
    weft::broadcast::WeakSender<int> moved = std::move(weak);
    EXPECT_FALSE(weak.upgrade().has_value());
    EXPECT_EQ(moved.weak_count(), 1u);
}

TEST_P(BroadcastTest, DroppingTheLastSenderOrReceiverWakesWaitersWithoutAllocating) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        {
            auto [tx, rx] = weft::broadcast::channel<int>(4);
            JoinHandle<bool> waiting = weft::spawn([](Receiver<int> rx) -> Task<bool> {
                co_return (co_await rx.recv()).is_closed();
            }(tx.subscribe()));
            co_await settle();
            std::size_t allocations;
            {
                NoAllocations guard;
                { auto gone = std::move(tx); }
                { auto gone = std::move(rx); }
                allocations = guard.count();
            }
            EXPECT_EQ(allocations, 0u);
            EXPECT_TRUE(co_await waiting);
        }
        {
            auto [tx, rx] = weft::broadcast::channel<int>(4);
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
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(BroadcastTest);

}  // namespace
