// oneshot::channel: one value, once; both sides can go away first.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::oneshot::Receiver;
using weft::oneshot::RecvError;
using weft::oneshot::Sender;
using weft::test::Tracked;

class OneshotTest : public weft::test::AllRuntimes {};

TEST_P(OneshotTest, ValueSentBeforeTheReceiverWaits) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<std::string> {
        auto [tx, rx] = weft::oneshot::channel<std::string>();
        EXPECT_TRUE(tx.send("early"));
        co_return co_await rx;
    }()),
              "early");
}

TEST_P(OneshotTest, ValueSentAfterTheReceiverWaits) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<int> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        JoinHandle<void> sender = weft::spawn([](Sender<int> tx) -> Task<void> {
            for (int i = 0; i < 5; ++i) co_await weft::yield_now();
            EXPECT_TRUE(tx.send(11));
        }(std::move(tx)));
        const int v = co_await rx;
        co_await sender;
        co_return v;
    }()),
              11);
}

TEST_P(OneshotTest, SenderDroppedUnsentMakesTheReceiverThrowRecvError) {
    auto rt = make_runtime();
    EXPECT_TRUE(rt->block_on([]() -> Task<bool> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        JoinHandle<void> dropper = weft::spawn([](Sender<int> tx) -> Task<void> {
            co_await weft::yield_now();
            (void)tx;  // goes away unsent
        }(std::move(tx)));
        bool threw = false;
        try {
            (void)co_await rx;
        } catch (const RecvError&) {
            threw = true;
        }
        co_await dropper;
        co_return threw;
    }()));
}

TEST(OneshotChannel, ReceiverGoneMakesSendFailAndHandTheValueBack) {
    const long before = Tracked::live.load();
    auto [tx, rx] = weft::oneshot::channel<std::shared_ptr<Tracked>>();
    { auto gone = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto r = tx.send(std::make_shared<Tracked>());
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.is_closed());
    EXPECT_EQ(Tracked::live.load(), before + 1);
    (void)r.take_value();
    EXPECT_EQ(Tracked::live.load(), before);
}

TEST(OneshotChannel, TryRecvIsEmptyThenValueOrDisconnected) {
    auto [tx, rx] = weft::oneshot::channel<int>();
    EXPECT_TRUE(rx.try_recv().is_empty());
    EXPECT_TRUE(tx.send(3));
    EXPECT_EQ(*rx.try_recv(), 3);
    auto [tx2, rx2] = weft::oneshot::channel<int>();
    { auto gone = std::move(tx2); }
    EXPECT_TRUE(rx2.try_recv().is_disconnected());
}

TEST(OneshotChannel, CloseRefusesLaterSendsButKeepsAnEarlierValue) {
    auto [tx, rx] = weft::oneshot::channel<int>();
    rx.close();
    auto r = tx.send(1);
    EXPECT_TRUE(r.is_closed());
    EXPECT_EQ(r.take_value(), 1);
    auto [tx2, rx2] = weft::oneshot::channel<int>();
    EXPECT_TRUE(tx2.send(2));
    rx2.close();
    EXPECT_EQ(*rx2.try_recv(), 2);
}

// Tokio: after close() with nothing sent, receives complete with the error at once.
TEST_P(OneshotTest, AfterCloseWithNothingSentAReceiveFailsAtOnce) {
    auto rt = make_runtime();
    const bool failed = rt->block_on([]() -> Task<bool> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        rx.close();
        try {
            (void)co_await rx;
        } catch (const RecvError&) {
            co_return tx.is_closed();
        }
        co_return false;
    }());
    EXPECT_TRUE(failed);
}

TEST_P(OneshotTest, CloseFromAnotherTaskWakesAPendingReceiveWithTheError) {
    auto rt = make_runtime();
    const int outcome = rt->block_on([]() -> Task<int> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        auto receiver = std::make_shared<Receiver<int>>(std::move(rx));
        JoinHandle<int> waiting = weft::spawn([](std::shared_ptr<Receiver<int>> rx) -> Task<int> {
            try {
                co_return co_await *rx;
            } catch (const RecvError&) {
                co_return -1;
            }
        }(receiver));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();  // let it wait (it would for ever)
        receiver->close();
        const int got = co_await waiting;
        auto refused = tx.send(5);
        co_return refused.is_closed() ? got : 99;
    }());
    EXPECT_EQ(outcome, -1);
}

TEST(OneshotChannel, BlockingRecvAfterCloseFailsAtOnceAndCloseWakesABlockedOne) {
    {
        auto [tx, rx] = weft::oneshot::channel<int>();
        rx.close();
        EXPECT_THROW((void)rx.blocking_recv(), RecvError);
    }
    auto [tx, rx] = weft::oneshot::channel<int>();
    std::thread closer([&rx] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // not a timing assertion: order only
        rx.close();
    });
    EXPECT_THROW((void)rx.blocking_recv(), RecvError);
    closer.join();
}

TEST(OneshotChannel, TryRecvReportsClosedAfterCloseAndAfterTheValueWasTaken) {
    auto [tx, rx] = weft::oneshot::channel<int>();
    rx.close();
    EXPECT_TRUE(rx.try_recv().is_disconnected());
    auto [tx2, rx2] = weft::oneshot::channel<int>();
    EXPECT_TRUE(tx2.send(7));
    EXPECT_EQ(*rx2.try_recv(), 7);
    auto again = rx2.try_recv();  // no exception: closed, as Tokio
    EXPECT_TRUE(again.is_disconnected());
}

TEST(OneshotChannel, AnUnreadValueIsDestroyedWithTheChannel) {
    const long before = Tracked::live.load();
    {
        auto [tx, rx] = weft::oneshot::channel<Tracked>();
        EXPECT_TRUE(tx.send(Tracked{}));
        EXPECT_EQ(Tracked::live.load(), before + 1);
    }
    EXPECT_EQ(Tracked::live.load(), before);
}

TEST(OneshotChannel, BlockingRecvFromAThread) {
    auto [tx, rx] = weft::oneshot::channel<int>();
    std::thread sender([tx = std::move(tx)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        EXPECT_TRUE(tx.send(8));
    });
    EXPECT_EQ(rx.blocking_recv(), 8);
    sender.join();
    auto [tx2, rx2] = weft::oneshot::channel<int>();
    std::thread dropper([tx2 = std::move(tx2)]() mutable { auto gone = std::move(tx2); });
    EXPECT_THROW(rx2.blocking_recv(), RecvError);
    dropper.join();
}

TEST_P(OneshotTest, SenderClosedCompletesWhenTheReceiverGoes) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        JoinHandle<bool> watcher = weft::spawn([](Sender<int> tx) -> Task<bool> {
            co_await tx.closed();
            co_return tx.is_closed();
        }(std::move(tx)));
        co_await weft::yield_now();
        EXPECT_FALSE(watcher.is_finished());
        { auto gone = std::move(rx); }
        EXPECT_TRUE(co_await watcher);
    }());
}

TEST_P(OneshotTest, AnAbortedReceiverLeavesTheSenderAbleToSeeItGone) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        JoinHandle<void> doomed = weft::spawn([](Receiver<int> rx) -> Task<void> { (void)co_await rx; }(std::move(rx)));
        co_await weft::yield_now();
        doomed.abort();
        try {
            co_await doomed;
        } catch (const weft::JoinError&) {
        }
        EXPECT_TRUE(tx.is_closed());  // the frame, and the receiver in it, is gone
        EXPECT_TRUE(tx.send(1).is_closed());
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(OneshotTest);

}  // namespace
