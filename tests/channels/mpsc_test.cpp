// mpsc::channel: every case of the semantics, on every runtime flavour.
//
// Note for test writers: g++ 12 miscompiles `co_await tx.send(Aggregate{...})` with a
// brace-initialised aggregate temporary (see README); values here are plain or constructed.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"
#include "support/test_event.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::TrySendError;
using weft::mpsc::Receiver;
using weft::mpsc::Sender;
using weft::test::settle;
using weft::test::spawn_that_sets;
using weft::test::Tracked;

class MpscTest : public weft::test::AllRuntimes {};

TEST(MpscChannel, CapacityZeroIsAnErrorWithAMessage) {
    try {
        (void)weft::mpsc::channel<int>(0);
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos);
    }
}

TEST(MpscChannel, TrySendReportsFullAndClosedAndHandsTheValueBack) {
    auto [tx, rx] = weft::mpsc::channel<std::string>(2);
    EXPECT_EQ(tx.max_capacity(), 2u);
    EXPECT_TRUE(tx.try_send("a"));
    EXPECT_EQ(tx.capacity(), 1u);
    EXPECT_TRUE(tx.try_send("b"));
    auto full = tx.try_send("c");
    ASSERT_FALSE(full);
    EXPECT_TRUE(full.is_full());
    EXPECT_EQ(full.take_value(), "c");
    EXPECT_EQ(rx.len(), 2u);
    EXPECT_EQ(*rx.try_recv(), "a");
    rx.close();
    auto closed = tx.try_send("d");
    EXPECT_TRUE(closed.is_closed());
    EXPECT_EQ(closed.take_value(), "d");
    EXPECT_EQ(*rx.try_recv(), "b");  // buffered values still drain after close
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

TEST(MpscChannel, TryRecvTellsEmptyFromDisconnected) {
    auto [tx, rx] = weft::mpsc::channel<int>(4);
    EXPECT_TRUE(rx.try_recv().is_empty());
    ASSERT_TRUE(tx.try_send(1));
    { auto last = std::move(tx); }
    EXPECT_EQ(*rx.try_recv(), 1);  // sent before the last sender went
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

// Tokio: Receiver::is_closed is true after close() or once every sender (and permit) is gone.
TEST(MpscChannel, ReceiverIsClosedAfterCloseOrWhenEverySenderAndPermitIsGone) {
    {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        EXPECT_FALSE(rx.is_closed());
        rx.close();
        EXPECT_TRUE(rx.is_closed());
    }
    auto [tx, rx] = weft::mpsc::channel<int>(4);
    auto second = tx;
    ASSERT_TRUE(tx.try_send(1));
    { auto gone = std::move(tx); }
    EXPECT_FALSE(rx.is_closed());  // `second` can still send
    auto permit = second.try_reserve();
    ASSERT_TRUE(permit.has_value());
    { auto gone = std::move(second); }
    EXPECT_FALSE(rx.is_closed());  // the permit can still send
    permit->send(2);
    permit.reset();
    EXPECT_TRUE(rx.is_closed());
    EXPECT_EQ(*rx.try_recv(), 1);  // closed, yet what is buffered is still received
    EXPECT_EQ(*rx.try_recv(), 2);
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

TEST(MpscChannel, DroppedReceiverFailsSendsAndDestroysBufferedValues) {
    const long before = Tracked::live.load();
    auto [tx, rx] = weft::mpsc::channel<std::shared_ptr<Tracked>>(4);
    ASSERT_TRUE(tx.try_send(std::make_shared<Tracked>()));
    ASSERT_TRUE(tx.try_send(std::make_shared<Tracked>()));
    EXPECT_EQ(Tracked::live.load(), before + 2);
    { auto gone = std::move(rx); }
    EXPECT_EQ(Tracked::live.load(), before);  // destroyed with the receiver
    EXPECT_TRUE(tx.is_closed());
    auto failed = tx.try_send(std::make_shared<Tracked>());
    EXPECT_TRUE(failed.is_closed());
    EXPECT_EQ(Tracked::live.load(), before + 1);  // handed back, not destroyed
    (void)failed.take_value();
    EXPECT_EQ(Tracked::live.load(), before);
}

TEST(MpscChannel, ValuesLeftWhenEveryHandleIsGoneAreDestroyedOnce) {
    const long before = Tracked::live.load();
    {
        auto [tx, rx] = weft::mpsc::channel<Tracked>(8);
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(tx.try_send(Tracked{}));
        EXPECT_EQ(Tracked::live.load(), before + 5);
        Sender<Tracked> copy = tx;
        (void)copy;
    }
    EXPECT_EQ(Tracked::live.load(), before);
}

TEST(MpscChannel, PermitReservesASlotAndADroppedPermitGivesItBack) {
    auto [tx, rx] = weft::mpsc::channel<int>(2);
    auto p1 = tx.try_reserve();
    auto p2 = tx.try_reserve();
    ASSERT_TRUE(p1 && p2);
    auto third = tx.try_reserve();
    EXPECT_FALSE(third);
    EXPECT_TRUE(third.is_full());
    EXPECT_FALSE(third.is_closed());
    EXPECT_TRUE(tx.try_send(9).is_full());
    p1->send(1);
    p2.reset();  // unused: the slot comes back
    EXPECT_EQ(*rx.try_recv(), 1);
    EXPECT_TRUE(rx.try_recv().is_empty());  // the skipped slot yields nothing
    EXPECT_TRUE(tx.try_send(2));
    EXPECT_TRUE(tx.try_send(3));
    EXPECT_EQ(*rx.try_recv(), 2);
    EXPECT_EQ(*rx.try_recv(), 3);
}

TEST(MpscChannel, TryReserveSaysClosedOnceTheReceiverClosedOrWent) {
    auto [tx, rx] = weft::mpsc::channel<int>(2);
    rx.close();
    auto refused = tx.try_reserve();
    EXPECT_FALSE(refused);
    EXPECT_TRUE(refused.is_closed());
    EXPECT_EQ(refused.error(), weft::TrySendError::closed);
    auto [tx2, rx2] = weft::mpsc::channel<int>(2);
    { auto gone = std::move(rx2); }
    EXPECT_TRUE(tx2.try_reserve().is_closed());
}

TEST(MpscChannel, ABlockingThreadAndAnotherThreadTalk) {
    auto [tx, rx] = weft::mpsc::channel<int>(1);
    std::thread producer([tx = std::move(tx)]() mutable {
        for (int i = 0; i < 1000; ++i) ASSERT_TRUE(tx.blocking_send(i));
    });
    long sum = 0;
    int count = 0;
    while (auto v = rx.blocking_recv()) {
        EXPECT_EQ(*v, count);
        sum += *v;
        ++count;
    }
    producer.join();
    EXPECT_EQ(count, 1000);
    EXPECT_EQ(sum, 999 * 1000 / 2);
}

TEST_P(MpscTest, BlockingCallsOnAWorkerThrowLogicError) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<int> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        int errors = 0;
        try {
            (void)tx.blocking_send(1);
        } catch (const std::logic_error&) {
            ++errors;
        }
        try {
            (void)rx.blocking_recv();
        } catch (const std::logic_error&) {
            ++errors;
        }
        co_return errors;
    }()),
              2);
}

Task<void> send_range(Sender<std::pair<int, int>> tx, int id, int n) {
    for (int i = 0; i < n; ++i) {
        auto r = co_await tx.send(std::pair<int, int>(id, i));
        EXPECT_TRUE(r);
    }
}

TEST_P(MpscTest, MessagesFromEachSenderArriveInOrderAndRecvEndsWhenSendersAreGone) {
    auto rt = make_runtime();
    const int total = rt->block_on([]() -> Task<int> {
        auto [tx, rx] = weft::mpsc::channel<std::pair<int, int>>(3);
        constexpr int kSenders = 4, kEach = 500;
        for (int s = 0; s < kSenders; ++s) weft::spawn(send_range(tx, s, kEach)).detach();
        { auto ours = std::move(tx); }
        std::vector<int> next(kSenders, 0);
        int received = 0;
        while (auto m = co_await rx.recv()) {
            EXPECT_EQ(m->second, next[m->first]++);
            ++received;
        }
        co_return received;
    }());
    EXPECT_EQ(total, 2000);
}

TEST_P(MpscTest, AFullChannelSuspendsTheSenderAndEachRecvReleasesExactlyOne) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(0));
        std::atomic<int> sent{0};
        std::vector<JoinHandle<void>> senders;
        for (int i = 1; i <= 3; ++i)
            senders.push_back(weft::spawn([](Sender<int> tx, int v, std::atomic<int>& sent) -> Task<void> {
                EXPECT_TRUE(co_await tx.send(v));
                sent.fetch_add(1);
            }(tx, i, sent)));
        co_await settle();
        EXPECT_EQ(sent.load(), 0);  // all three wait: the channel holds one
        for (int round = 1; round <= 3; ++round) {
            EXPECT_TRUE(rx.try_recv().has_value());
            while (sent.load() < round) co_await weft::yield_now();
            co_await settle();
            EXPECT_EQ(sent.load(), round);  // exactly one more got in
            EXPECT_EQ(rx.len(), 1u);
        }
        for (auto& h : senders) co_await h;
    }());
}

TEST(MpscFifo, WaitingSendersAreServedInTheOrderTheyStartedWaiting) {
    weft::Runtime rt(weft::RuntimeOptions{.flavor = weft::Flavor::current_thread});
    const std::vector<int> order = rt.block_on([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(-1));
        std::vector<JoinHandle<void>> senders;
        for (int i = 0; i < 5; ++i) {
            senders.push_back(weft::spawn([](Sender<int> tx, int v) -> Task<void> { (void)co_await tx.send(v); }(tx, i)));
            co_await weft::yield_now();  // sender i queues before sender i + 1 starts
        }
        std::vector<int> got;
        for (int i = 0; i < 6; ++i) got.push_back(*co_await rx.recv());
        for (auto& h : senders) co_await h;
        co_return got;
    }());
    EXPECT_EQ(order, (std::vector<int>{-1, 0, 1, 2, 3, 4}));
}

TEST_P(MpscTest, CloseWakesWaitingSendersWithClosedAndHandsTheirValuesBack) {
    auto rt = make_runtime();
    const int handed_back = rt->block_on([]() -> Task<int> {
        auto [tx, rx] = weft::mpsc::channel<std::string>(1);
        EXPECT_TRUE(tx.try_send("first"));
        JoinHandle<std::string> waiting = weft::spawn([](Sender<std::string> tx) -> Task<std::string> {
            auto r = co_await tx.send("second");
            co_return r ? std::string("sent") : r.take_value();
        }(tx));
        co_await settle();
        rx.close();
        const std::string back = co_await waiting;
        EXPECT_EQ(back, "second");
        EXPECT_EQ(*co_await rx.recv(), "first");  // still drains
        EXPECT_FALSE(co_await rx.recv());
        co_return back == "second" ? 1 : 0;
    }());
    EXPECT_EQ(handed_back, 1);
}

TEST_P(MpscTest, RecvManyTakesWhatIsThereUpToTheLimitInOrder) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(16);
        for (int i = 0; i < 10; ++i) EXPECT_TRUE(tx.try_send(i));
        std::vector<int> buf;
        EXPECT_EQ(co_await rx.recv_many(buf, 4), 4u);
        EXPECT_EQ(co_await rx.recv_many(buf, 100), 6u);
        EXPECT_EQ(buf, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
        JoinHandle<void> later = weft::spawn([](Sender<int> tx) -> Task<void> {
            co_await weft::yield_now();
            (void)co_await tx.send(42);
        }(tx));
        buf.clear();
        EXPECT_EQ(co_await rx.recv_many(buf, 8), 1u);  // waits for at least one
        EXPECT_EQ(buf, std::vector<int>{42});
        co_await later;
        { auto last = std::move(tx); }
        EXPECT_EQ(co_await rx.recv_many(buf, 8), 0u);  // closed and drained
    }());
}

TEST_P(MpscTest, ReserveWaitsForRoomAndTheSenderClosedAwaitsTheReceiver) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        auto permit = co_await tx.reserve();
        EXPECT_TRUE(permit.has_value());
        JoinHandle<bool> second = weft::spawn([](Sender<int> tx) -> Task<bool> {
            auto p = co_await tx.reserve();  // waits: the only slot is reserved
            if (!p) co_return false;
            p->send(2);
            co_return true;
        }(tx));
        permit->send(1);
        EXPECT_EQ(*co_await rx.recv(), 1);
        EXPECT_TRUE(co_await second);
        EXPECT_EQ(*co_await rx.recv(), 2);
        JoinHandle<void> watcher = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(tx));
        co_await weft::yield_now();
        EXPECT_FALSE(watcher.is_finished());
        { auto gone = std::move(rx); }
        co_await watcher;  // completes because the receiver went away
        EXPECT_FALSE(co_await tx.reserve());
    }());
}

TEST_P(MpscTest, AnAbortedSenderLosesNothingAndLeavesNoWaiterBehind) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(1));
        JoinHandle<void> doomed = weft::spawn([](Sender<int> tx) -> Task<void> { (void)co_await tx.send(2); }(tx));
        JoinHandle<void> behind = weft::spawn([](Sender<int> tx) -> Task<void> { (void)co_await tx.send(3); }(tx));
        co_await settle();
        doomed.abort();
        try {
            co_await doomed;
        } catch (const weft::JoinError&) {
        }
        std::vector<int> got;
        got.push_back(*co_await rx.recv());
        got.push_back(*co_await rx.recv());  // the sender behind the aborted one gets through
        co_await behind;
        EXPECT_EQ(got, (std::vector<int>{1, 3}));
        EXPECT_TRUE(rx.try_recv().is_empty());
    }());
}

TEST_P(MpscTest, AnAbortedReceiverLeavesTheMessageForTheNextRecv) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        JoinHandle<void> doomed = weft::spawn([](Receiver<int>& rx) -> Task<void> { (void)co_await rx.recv(); }(rx));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        doomed.abort();
        try {
            co_await doomed;
        } catch (const weft::JoinError&) {
        }
        EXPECT_TRUE(tx.try_send(7));
        EXPECT_EQ(*co_await rx.recv(), 7);
    }());
}

TEST_P(MpscTest, DestroyingTheLastSenderWakesAWaitingReceiverWithClosed) {
    auto rt = make_runtime();
    EXPECT_FALSE(rt->block_on([]() -> Task<bool> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        JoinHandle<bool> waiting = weft::spawn([](Receiver<int> rx) -> Task<bool> {
            co_return (co_await rx.recv()).has_value();
        }(std::move(rx)));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        { auto last = std::move(tx); }
        co_return co_await waiting;
    }()));
}

TEST_P(MpscTest, ATaskThatAlwaysFindsDataStillYieldsToOthers) {
    auto rt = make_runtime();
    long return_loops = 0;
    rt->block_on([](long& return_loops) -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1024);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        // Keep the channel non-empty: without the budget this loop would never suspend.
        long loops = 0;
        while (!other_ran.load()) {
            EXPECT_TRUE(tx.try_send(1));
            (void)co_await rx.recv();
            ++loops;
        }
        co_await other;
        return_loops = loops;
    }(return_loops));
    // With one worker, the other task can only run once the loop yields: finishing proves the
    // budget made it yield. With two, the other task may run before the loop starts.
    if (GetParam().workers == 1) {
        EXPECT_GE(return_loops, 1);
    }
}

TEST_P(MpscTest, ASenderThatAlwaysFindsRoomStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(4);
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        // Never suspends for want of room; the cooperative budget must still let `other` run. A
        // send that yields first still delivers its value, in order.
        for (int i = 0; i < 100'000 && !other_ran; ++i) {
            EXPECT_TRUE(co_await tx.send(i));
            auto got = rx.try_recv();
            EXPECT_TRUE(got.has_value());
            if (got) {
                EXPECT_EQ(*got, i);
            }
        }
        EXPECT_TRUE(other_ran);
        EXPECT_TRUE(rx.try_recv().is_empty());
        co_await other;
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(MpscTest);

}  // namespace
