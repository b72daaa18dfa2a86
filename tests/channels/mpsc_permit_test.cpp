// mpsc::channel permits and capacity, as Tokio has them: a permit is capacity, not a place in
// line; capacity freed while senders wait is handed to the first of them; reserve_many, owned
// permits, send_timeout, weak senders; and a value whose move throws breaks nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/yield.hpp>

#include "support/failing_alloc.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::SendResult;
using weft::Task;
using weft::mpsc::Sender;
using weft::test::settle;

class MpscPermitTest : public weft::test::AllRuntimes {};
class MpscPermitOneThreadTest : public weft::test::AllRuntimes {};

// Yields until `done` or a generous number of turns; returns `done`. Never waits for ever.
Task<bool> yield_until(const std::atomic<bool>& done) {
    for (int i = 0; i < 2000 && !done.load(); ++i) co_await weft::yield_now();
    co_return done.load();
}

TEST(MpscPermit, AHeldPermitDoesNotHoldBackMessagesSentAfterIt) {
    auto [tx, rx] = weft::mpsc::channel<int>(3);
    auto permit = tx.try_reserve();
    ASSERT_TRUE(permit);
    ASSERT_TRUE(tx.try_send(1));
    ASSERT_TRUE(tx.try_send(2));
    EXPECT_TRUE(tx.try_send(3).is_full());  // the permit holds the third unit of capacity
    EXPECT_EQ(*rx.try_recv(), 1);           // received at once: the permit is not a place in line
    EXPECT_EQ(*rx.try_recv(), 2);
    EXPECT_TRUE(rx.try_recv().is_empty());
    permit->send(9);
    EXPECT_EQ(*rx.try_recv(), 9);
}

TEST(MpscPermit, CapacityCountsPermitsAndBufferedMessages) {
    auto [tx, rx] = weft::mpsc::channel<int>(4);
    EXPECT_EQ(tx.capacity(), 4u);
    auto permit = tx.try_reserve();
    ASSERT_TRUE(permit);
    EXPECT_EQ(tx.capacity(), 3u);
    ASSERT_TRUE(tx.try_send(1));
    EXPECT_EQ(tx.capacity(), 2u);
    EXPECT_EQ(rx.len(), 1u);  // the permit is not a message
    permit.reset();
    EXPECT_EQ(tx.capacity(), 3u);
}

TEST(MpscPermit, AfterCloseUnusedPermitsMakeTryRecvEmptyThenDisconnected) {
    auto [tx, rx] = weft::mpsc::channel<int>(2);
    auto permit = tx.try_reserve();
    ASSERT_TRUE(permit);
    rx.close();
    EXPECT_TRUE(rx.try_recv().is_empty());  // the permit may still send
    permit.reset();
    EXPECT_TRUE(rx.try_recv().is_disconnected());  // though `tx` is still alive
}

TEST(MpscPermit, APermitStillSendsAfterCloseAndTheReceiverDrainsIt) {
    auto [tx, rx] = weft::mpsc::channel<int>(2);
    auto permit = tx.try_reserve();
    ASSERT_TRUE(permit);
    rx.close();
    EXPECT_TRUE(tx.try_send(1).is_closed());
    permit->send(7);
    EXPECT_EQ(*rx.try_recv(), 7);
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

TEST_P(MpscPermitTest, ARecvWaitingAfterCloseEndsWhenTheLastPermitIsDropped) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(2);
        auto permit = tx.try_reserve();
        EXPECT_TRUE(permit);
        rx.close();
        std::atomic<bool> ended{false};
        auto h = weft::spawn([](weft::mpsc::Receiver<int>& rx, std::atomic<bool>& ended) -> Task<void> {
            auto v = co_await rx.recv();
            EXPECT_FALSE(v.has_value());
            ended = true;
        }(rx, ended));
        co_await settle();
        EXPECT_FALSE(ended.load());
        permit.reset();
        EXPECT_TRUE(co_await yield_until(ended));
        co_await h;
    }());
}

TEST_P(MpscPermitTest, ADroppedPermitGoesToTheFirstWaitingSenderAtOnce) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        auto permit = tx.try_reserve();
        EXPECT_TRUE(permit);
        std::atomic<bool> sent{false};
        auto h = weft::spawn([](Sender<int> tx, std::atomic<bool>& sent) -> Task<void> {
            auto r = co_await tx.send(5);
            EXPECT_TRUE(r);
            sent = true;
        }(tx, sent));
        co_await settle();
        EXPECT_FALSE(sent.load());
        permit.reset();  // the receiver reads nothing: the capacity goes straight to the waiter
        EXPECT_TRUE(co_await yield_until(sent));
        EXPECT_TRUE(tx.try_send(6).is_full());
        auto v = co_await rx.recv();
        EXPECT_EQ(v, 5);
        co_await h;
    }());
}

TEST_P(MpscPermitOneThreadTest, CapacityFreedWhileSendersWaitCannotBeTakenByANewcomer) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(1));
        std::atomic<bool> sent{false};
        auto h = weft::spawn([](Sender<int> tx, std::atomic<bool>& sent) -> Task<void> {
            auto r = co_await tx.send(2);
            EXPECT_TRUE(r);
            sent = true;
        }(tx, sent));
        co_await settle();
        EXPECT_FALSE(sent.load());
        EXPECT_EQ(*rx.try_recv(), 1);  // frees one unit: handed to the waiter, which has not run yet
        EXPECT_TRUE(tx.try_send(3).is_full());
        EXPECT_FALSE(tx.try_reserve());
        co_await h;
        EXPECT_EQ(*rx.try_recv(), 2);
        EXPECT_TRUE(tx.try_send(3));
        EXPECT_EQ(*rx.try_recv(), 3);
    }());
}

TEST_P(MpscPermitOneThreadTest, ACancelledWaiterPassesItsHandOffToTheNext) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        // A reserve waits for a permit (a send would have its value delivered: see below).
        auto first = weft::spawn([](Sender<int> tx) -> Task<void> { (void)co_await tx.reserve(); }(tx));
        co_await settle();
        std::atomic<bool> second_sent{false};
        auto second = weft::spawn([](Sender<int> tx, std::atomic<bool>& sent) -> Task<void> {
            auto r = co_await tx.send(2);
            EXPECT_TRUE(r);
            sent = true;
        }(tx, second_sent));
        co_await settle();
        EXPECT_EQ(*rx.try_recv(), 0);  // hands the capacity to `first`...
        first.abort();                 // ...which is cancelled before it runs: it passes it on
        EXPECT_TRUE(co_await weft::test::was_aborted(first));
        EXPECT_TRUE(co_await yield_until(second_sent));
        auto v = co_await rx.recv();
        EXPECT_EQ(v, 2);
        co_await second;
    }());
}

// Direct hand-off (sender_wait_list.hpp): the receiver moves a waiting send's value into the
// slot it freed, before the sending task runs again.
TEST_P(MpscPermitOneThreadTest, AWaitingSendIsDeliveredByTheReceiverBeforeItsTaskRuns) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        std::atomic<bool> resumed{false};
        auto h = weft::spawn([](Sender<int> tx, std::atomic<bool>& resumed) -> Task<void> {
            EXPECT_TRUE(co_await tx.send(1));
            resumed = true;
        }(tx, resumed));
        co_await settle();
        EXPECT_EQ(*rx.try_recv(), 0);
        EXPECT_FALSE(resumed.load());  // this task has not yielded since
        EXPECT_EQ(rx.len(), 1u);
        EXPECT_EQ(*rx.try_recv(), 1);
        EXPECT_TRUE(tx.try_send(2)) << "the delivered send holds no capacity";
        co_await h;
        EXPECT_TRUE(resumed.load());
        EXPECT_EQ(*rx.try_recv(), 2);
    }());
}

// An abort that comes after the hand-off cannot undo the send: the task runs on to its next
// suspension, so the code after the send sees it done (as when an abort lands just after a send
// completes), and nothing is counted twice or lost.
TEST_P(MpscPermitOneThreadTest, AnAbortAfterTheHandOffLetsTheSenderSeeItsSendDone) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        std::atomic<int> sends_seen{0};
        std::atomic<bool> after_second{false};
        auto h = weft::spawn([](Sender<int> tx, std::atomic<int>& seen, std::atomic<bool>& after) -> Task<void> {
            if (co_await tx.send(1)) seen.fetch_add(1);
            if (co_await tx.send(2)) seen.fetch_add(1);  // waits: the channel is full again
            after = true;
        }(tx, sends_seen, after_second));
        co_await settle();
        EXPECT_EQ(*rx.try_recv(), 0);  // delivers 1
        h.abort();
        EXPECT_TRUE(co_await weft::test::was_aborted(h));
        EXPECT_EQ(sends_seen.load(), 1);      // the delivered send was seen done
        EXPECT_FALSE(after_second.load());    // the abort landed at the second send
        EXPECT_EQ(*rx.try_recv(), 1);
        EXPECT_TRUE(rx.try_recv().is_empty());  // 2 was never sent (its offer came after the abort)
    }());
}

// Where a combinator may drop a send after it completed (select, timeout, send_timeout, a
// timeout around a task), the send never completes on its own: it is handed a permit and sends
// when it runs, so "another branch won" still means "not sent", as in Tokio.
TEST_P(MpscPermitOneThreadTest, UnderSendTimeoutAWaitingSendIsHandedCapacityNotDelivered) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        auto h = weft::spawn([](Sender<int> tx) -> Task<void> {
            auto r = co_await tx.send_timeout(1, 10s);
            EXPECT_TRUE(r);
        }(tx));
        co_await settle();
        EXPECT_EQ(*rx.try_recv(), 0);
        EXPECT_TRUE(rx.try_recv().is_empty());  // not delivered: the waiter holds a permit
        EXPECT_TRUE(tx.try_send(5).is_full());  // ...which is the channel's one unit
        co_await h;
        EXPECT_EQ(*rx.try_recv(), 1);
    }());
}

TEST_P(MpscPermitOneThreadTest, UnderSelectOrATimeoutAroundATaskASendIsNotDelivered) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        auto [stop_tx, stop_rx] = weft::mpsc::channel<int>(1);
        auto in_select = weft::spawn([](Sender<int> tx, weft::mpsc::Receiver<int> stop) -> Task<void> {
            auto r = co_await weft::select(tx.send(1), stop.recv());
            EXPECT_EQ(r.index(), 0u);
        }(tx, std::move(stop_rx)));
        auto in_timeout = weft::spawn([](Sender<int> tx) -> Task<void> {
            auto r = co_await weft::timeout(10s, [](Sender<int> tx) -> Task<void> {
                EXPECT_TRUE(co_await tx.send(2));
            }(std::move(tx)));
            EXPECT_TRUE(r);
        }(tx));
        co_await settle();
        EXPECT_EQ(*rx.try_recv(), 0);
        EXPECT_TRUE(rx.try_recv().is_empty());  // the select's send got a permit, not a delivery
        co_await in_select;
        EXPECT_EQ(*rx.try_recv(), 1);
        EXPECT_TRUE(rx.try_recv().is_empty());  // likewise the send inside the timeout
        co_await in_timeout;
        EXPECT_EQ(*rx.try_recv(), 2);
        (void)stop_tx;
    }());
}

// A send inside a task branch of select (or a child of join) is not delivered either: a losing
// child is destroyed where it waits, so a delivery would be a message sent by a branch that
// lost. Here the winning branch, listed first, and the freed slot wake the task together.
TEST_P(MpscPermitOneThreadTest, InATaskBranchOfSelectASendIsNotDelivered) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        auto [go_tx, go_rx] = weft::oneshot::channel<int>();
        auto racing = weft::spawn([](Sender<int> tx, weft::oneshot::Receiver<int> go) -> Task<std::size_t> {
            Task<int> sending = [](Sender<int> tx) -> Task<int> {
                SendResult<int> sent = co_await tx.send(1);
                EXPECT_TRUE(sent);
                co_return 1;
            }(std::move(tx));
            auto r = co_await weft::select(go, std::move(sending));
            co_return r.index();
        }(tx, std::move(go_rx)));
        co_await settle();
        EXPECT_EQ(*rx.try_recv(), 0);   // frees the slot the send waits for...
        EXPECT_TRUE(go_tx.send(7));     // ...and the first branch wins in the same poll
        const std::size_t winner = co_await racing;
        EXPECT_EQ(winner, 0u);
        EXPECT_TRUE(rx.try_recv().is_empty()) << "a branch that lost sent its message";
        EXPECT_TRUE(tx.try_send(3)) << "the loser's capacity came back";
        EXPECT_EQ(*rx.try_recv(), 3);
    }());
}

TEST_P(MpscPermitTest, ReserveManyWaitsForAllItsCapacityAndGivesBackWhatIsNotUsed) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(3);
        EXPECT_TRUE(tx.try_send(1));
        EXPECT_TRUE(tx.try_send(2));
        std::atomic<bool> reserved{false};
        auto h = weft::spawn([](Sender<int> tx, std::atomic<bool>& reserved) -> Task<void> {
            auto permits = co_await tx.reserve_many(3);
            EXPECT_TRUE(permits.has_value());
            if (!permits) co_return;
            reserved = true;
            EXPECT_EQ(permits->len(), 3u);
            permits->next()->send(10);
            permits->next()->send(11);
            // the third goes back with the iterator
        }(tx, reserved));
        co_await settle();
        EXPECT_FALSE(reserved.load());
        EXPECT_EQ(*rx.try_recv(), 1);
        co_await settle();
        EXPECT_FALSE(reserved.load());  // two free of three: still waiting
        EXPECT_EQ(*rx.try_recv(), 2);
        EXPECT_TRUE(co_await yield_until(reserved));
        co_await h;
        EXPECT_EQ(*rx.try_recv(), 10);
        EXPECT_EQ(*rx.try_recv(), 11);
        EXPECT_EQ(tx.capacity(), 3u);
    }());
}

TEST(MpscPermit, TryReserveManyIsAllOrNothingAndRefusesMoreThanTheCapacity) {
    auto [tx, rx] = weft::mpsc::channel<int>(4);
    ASSERT_TRUE(tx.try_send(1));
    weft::TrySendError why{};
    EXPECT_FALSE(tx.try_reserve_many(4, &why).has_value());
    EXPECT_EQ(why, weft::TrySendError::full);
    auto three = tx.try_reserve_many(3);
    ASSERT_TRUE(three.has_value());
    EXPECT_EQ(three->len(), 3u);
    EXPECT_EQ(tx.capacity(), 0u);
    auto none = tx.try_reserve_many(0);
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->next().has_value());
    EXPECT_THROW((void)tx.try_reserve_many(5), std::invalid_argument);
    three.reset();
    EXPECT_EQ(tx.capacity(), 3u);
    rx.close();
    EXPECT_FALSE(tx.try_reserve_many(1, &why).has_value());
    EXPECT_EQ(why, weft::TrySendError::closed);
}

TEST(MpscPermit, OwnedPermitsHandTheSenderBack) {
    auto [tx, rx] = weft::mpsc::channel<int>(1);
    auto owned = std::move(tx).try_reserve_owned();
    ASSERT_TRUE(owned);
    auto full = owned->release().try_reserve();  // release gives the sender back, capacity too
    EXPECT_TRUE(full);
    full.reset();
    auto again = weft::mpsc::channel<int>(1);
    auto permit = std::move(again.sender).try_reserve_owned();
    ASSERT_TRUE(permit);
    Sender<int> back = permit->send(4);
    EXPECT_EQ(*again.receiver.try_recv(), 4);
    auto refused = std::move(back).try_reserve_owned();
    ASSERT_TRUE(refused);  // room again
    Sender<int> s = refused->release();
    EXPECT_TRUE(s.try_send(1));
    auto failed = std::move(s).try_reserve_owned();
    EXPECT_TRUE(failed.is_full());
    Sender<int> returned = failed.into_sender();
    EXPECT_TRUE(returned.try_send(2).is_full());
}

TEST_P(MpscPermitTest, ReserveOwnedWaitsAndTheSenderLivesInThePermit) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(1));
        auto h = weft::spawn([](Sender<int> tx) -> Task<void> {
            auto permit = co_await std::move(tx).reserve_owned();
            EXPECT_TRUE(permit.has_value());
            if (permit) (void)permit->send(2);
        }(tx));
        { auto gone = std::move(tx); }
        co_await settle();
        auto a = co_await rx.recv();
        auto b = co_await rx.recv();
        auto c = co_await rx.recv();  // every sender gone: the permit's sender was the last
        EXPECT_EQ(a, 1);
        EXPECT_EQ(b, 2);
        EXPECT_FALSE(c.has_value());
        co_await h;
    }());
}

// Values are built before the co_await: g++ 12 miscompiles a braced temporary inside one (README).
TEST_P(MpscPermitTest, SendTimeoutHandsTheValueBackOnTimeoutAndOnClose) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        using Vec = std::vector<int>;
        auto [tx, rx] = weft::mpsc::channel<Vec>(1);
        const Vec one(1, 1), two(2, 2), four(1, 4), five(1, 5);
        EXPECT_TRUE(tx.try_send(one));
        auto timed_out = co_await tx.send_timeout(two, 5ms);
        EXPECT_TRUE(timed_out.is_timeout());
        EXPECT_EQ(timed_out.take_value(), two);
        auto first = co_await rx.recv();
        EXPECT_EQ(first, one);
        auto ok = co_await tx.send_timeout(four, 1s);
        EXPECT_TRUE(ok);
        rx.close();
        auto v = co_await rx.recv();
        EXPECT_EQ(v, four);
        auto closed = co_await tx.send_timeout(five, 1s);
        EXPECT_TRUE(closed.is_closed());
        EXPECT_EQ(closed.take_value(), five);
        EXPECT_EQ(tx.capacity(), 1u);  // the timed-out wait left nothing behind
    }());
}

TEST(MpscPermit, AWeakSenderDoesNotKeepTheChannelOpen) {
    auto [tx, rx] = weft::mpsc::channel<int>(2);
    auto weak = tx.downgrade();
    EXPECT_EQ(tx.strong_count(), 1u);
    EXPECT_EQ(tx.weak_count(), 1u);
    {
        auto strong = weak.upgrade();
        ASSERT_TRUE(strong.has_value());
        EXPECT_EQ(weak.strong_count(), 2u);
        EXPECT_TRUE(strong->try_send(1));
    }
    auto weak2 = weak;
    EXPECT_EQ(tx.weak_count(), 2u);
    { auto gone = std::move(tx); }
    EXPECT_EQ(*rx.try_recv(), 1);
    EXPECT_TRUE(rx.try_recv().is_disconnected());
    EXPECT_FALSE(weak.upgrade().has_value());
    EXPECT_EQ(weak2.strong_count(), 0u);
}

TEST(MpscPermit, APermitKeepsTheChannelOpenAndAWeakSenderCanUpgradeThen) {
    auto [tx, rx] = weft::mpsc::channel<int>(2);
    auto weak = tx.downgrade();
    auto permit = tx.try_reserve();
    ASSERT_TRUE(permit);
    { auto gone = std::move(tx); }
    EXPECT_TRUE(rx.try_recv().is_empty());
    auto strong = weak.upgrade();
    ASSERT_TRUE(strong.has_value());
    permit.reset();
    EXPECT_TRUE(strong->try_send(3));
    EXPECT_EQ(*rx.try_recv(), 3);
}

TEST(MpscPermit, CapacityAboveTheLimitIsAnErrorWithAMessage) {
    try {
        (void)weft::mpsc::channel<int>((std::size_t{1} << 24) + 1);
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos);
    }
}

// A value whose move constructor throws when its number is `poisoned` (so moving other values,
// such as the receiver taking earlier messages, never throws).
struct ThrowOnMove {
    static inline std::atomic<int> poisoned{-1};
    int v = 0;
    explicit ThrowOnMove(int v) : v(v) {}
    ThrowOnMove(ThrowOnMove&& o) : v(o.v) {
        if (o.v == poisoned.load()) throw std::runtime_error("move");
    }
    ThrowOnMove& operator=(ThrowOnMove&&) = default;
};

struct Poison {
    explicit Poison(int v) { ThrowOnMove::poisoned = v; }
    ~Poison() { ThrowOnMove::poisoned = -1; }
};

TEST(MpscThrowingMove, TrySendAndPermitSendPropagateAndTheChannelKeepsWorking) {
    auto [tx, rx] = weft::mpsc::channel<ThrowOnMove>(2);
    {
        Poison poison(1);
        EXPECT_THROW((void)tx.try_send(ThrowOnMove(1)), std::runtime_error);
    }
    auto permit = tx.try_reserve();
    ASSERT_TRUE(permit);
    {
        Poison poison(2);
        EXPECT_THROW(permit->send(ThrowOnMove(2)), std::runtime_error);  // the permit is used up
    }
    // Each failed send left a gap the receiver passes (finding nothing); that frees its capacity.
    EXPECT_TRUE(rx.try_recv().is_empty());
    EXPECT_TRUE(tx.try_send(ThrowOnMove(3)));
    EXPECT_TRUE(tx.try_send(ThrowOnMove(4)));
    auto a = rx.try_recv();
    auto b = rx.try_recv();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->v, 3);
    EXPECT_EQ(b->v, 4);
    EXPECT_TRUE(rx.try_recv().is_empty());
}

TEST(MpscThrowingMove, ATryRecvWhoseMoveThrowsLeavesTheMessageForTheNextReceive) {
    auto [tx, rx] = weft::mpsc::channel<ThrowOnMove>(2);
    ASSERT_TRUE(tx.try_send(ThrowOnMove(1)));
    ASSERT_TRUE(tx.try_send(ThrowOnMove(2)));
    {
        Poison poison(1);
        EXPECT_THROW((void)rx.try_recv(), std::runtime_error);
    }
    auto first = rx.try_recv();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->v, 1);
    auto second = rx.try_recv();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->v, 2);
}

TEST(MpscThrowingMove, BlockingSendPropagatesAndTheChannelKeepsWorking) {
    auto [tx, rx] = weft::mpsc::channel<ThrowOnMove>(1);
    {
        Poison poison(1);
        EXPECT_THROW((void)tx.blocking_send(ThrowOnMove(1)), std::runtime_error);
    }
    EXPECT_TRUE(rx.try_recv().is_empty());  // passes the gap the failed send left
    EXPECT_TRUE(tx.blocking_send(ThrowOnMove(2)));
    auto v = rx.blocking_recv();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->v, 2);
}

TEST_P(MpscPermitTest, AwaitedSendsPropagateAThrowingMoveAfterWaitingAndTheChannelKeepsWorking) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<ThrowOnMove>(1);
        EXPECT_TRUE(tx.try_send(ThrowOnMove(1)));
        std::atomic<bool> threw{false};
        auto h = weft::spawn([](Sender<ThrowOnMove> tx, std::atomic<bool>& threw) -> Task<void> {
            auto send = tx.send(ThrowOnMove(2));  // built unpoisoned; the move into the channel throws
            ThrowOnMove::poisoned = 2;
            try {
                (void)co_await send;
            } catch (const std::runtime_error&) {
                threw = true;
            }
            ThrowOnMove::poisoned = -1;
        }(tx, threw));
        co_await settle();
        auto first = co_await rx.recv();  // hands the capacity to the waiting send, which throws
        EXPECT_EQ(first->v, 1);
        co_await h;
        EXPECT_TRUE(threw.load());
        EXPECT_TRUE(rx.try_recv().is_empty());  // passes the gap the failed send left
        auto r = co_await tx.send(ThrowOnMove(3));
        EXPECT_TRUE(r);
        auto next = co_await rx.recv();
        EXPECT_EQ(next->v, 3);
    }());
}

TEST_P(MpscPermitTest, ManySendersPermitsAndCancellationsLoseNothing) {
    auto rt = make_runtime();
    const long total = rt->block_on([]() -> Task<long> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        constexpr int kSenders = 6, kEach = weft::test::kSanitized ? 200 : 2000;
        std::vector<weft::JoinHandle<void>> hs;
        for (int s = 0; s < kSenders; ++s)
            hs.push_back(weft::spawn([](Sender<int> tx, int s) -> Task<void> {
                for (int i = 0; i < kEach; ++i) {
                    if (i % 3 == 0) {
                        auto p = co_await tx.reserve();
                        if (i % 2 == 0) { p.reset(); p = co_await tx.reserve(); }  // one dropped unused
                        if (p) p->send(1);
                    } else if (i % 3 == 1) {
                        auto many = co_await tx.reserve_many(2);
                        if (many) many->next()->send(1);  // the second goes back unused
                    } else {
                        (void)co_await tx.send(1);
                    }
                }
                (void)s;
            }(tx, s)));
        { auto ours = std::move(tx); }
        long sum = 0;
        while (auto v = co_await rx.recv()) sum += *v;
        for (auto& h : hs) co_await h;
        co_return sum;
    }());
    EXPECT_EQ(total, 6L * (weft::test::kSanitized ? 200 : 2000));
}

TEST_P(MpscPermitOneThreadTest, ALoopOnClosedOfAClosedChannelStillLetsOtherTasksRun) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        rx.close();
        std::atomic<bool> ran{false};
        auto h = weft::test::spawn_that_sets(ran);
        for (int i = 0; i < 1000 && !ran.load(); ++i) co_await tx.closed();  // ready at once every time
        EXPECT_TRUE(ran.load());
        co_await h;
    }());
}

TEST(MpscTeardown, DroppingTheReceiverWakesWaitingSendersWithoutAllocating) {
    auto [tx, rx] = weft::mpsc::channel<int>(1);
    ASSERT_TRUE(tx.try_send(0));
    constexpr int kWaiters = 40;  // more than the wake batch holds inline
    std::atomic<int> closed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kWaiters; ++i)
        threads.emplace_back([&closed, tx = tx, i]() mutable {
            auto r = tx.blocking_send(i);
            if (r.is_closed()) closed.fetch_add(1);
        });
    std::this_thread::sleep_for(50ms);  // let them queue (the test holds either way)
    {
        weft::test::NoAllocations guard;  // fails any allocation on this thread (counts, under sanitizers)
        { auto gone = std::move(rx); }    // close, wake every waiter, destroy the buffered value
        EXPECT_EQ(guard.count(), 0u);
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(closed.load(), kWaiters);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(MpscPermitTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(MpscPermitOneThreadTest);

}  // namespace
