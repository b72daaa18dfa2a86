// oneshot::channel: one value, once; both sides can go away first.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/failing_alloc.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"
#include "support/test_event.hpp"
#include "support/throw_switch.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::oneshot::Receiver;
using weft::oneshot::RecvError;
using weft::oneshot::Sender;
using weft::test::MoveFailed;
using weft::test::NoAllocations;
using weft::test::spawn_that_sets;
using weft::test::Throwing;
using weft::test::ThrowSwitch;
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

TEST(OneshotChannel, AThrowingMoveInSendPropagatesAndTheReceiverSeesTheSenderDropped) {
    auto [tx, rx] = weft::oneshot::channel<Throwing>();
    Throwing value(7);
    {
        ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
        EXPECT_THROW((void)tx.send(std::move(value)), MoveFailed);  // the argument's own move throws first
    }
    auto [tx2, rx2] = weft::oneshot::channel<Throwing>();
    {
        // The argument is built in place (no move), so the throw comes from inside send: the
        // move into the channel.
        ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
        EXPECT_THROW((void)tx2.send(Throwing(7)), MoveFailed);
    }
    auto r = rx2.try_recv();
    ASSERT_TRUE(r.is_disconnected());  // not "empty" for ever: the sender is used up, as dropped
    EXPECT_THROW(rx2.blocking_recv(), RecvError);
    EXPECT_TRUE(rx2.is_terminated());
    EXPECT_THROW((void)tx2.send(Throwing(8)), std::logic_error);  // used up
    // The first channel was untouched by the failed argument move: it still works.
    EXPECT_TRUE(tx.send(Throwing(9)));
    EXPECT_EQ(rx.blocking_recv().value, 9);
}

TEST(OneshotChannel, AThrowingMoveWhileHandingTheValueBackStillDropsTheSender) {
    auto [tx, rx] = weft::oneshot::channel<Throwing>();
    rx.close();
    {
        ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
        EXPECT_THROW((void)tx.send(Throwing(1)), MoveFailed);  // the refusal's move of the value back
    }
    EXPECT_TRUE(rx.try_recv().is_disconnected());
    EXPECT_TRUE(rx.is_empty());
}

TEST_P(OneshotTest, AThrowingMoveInSendWakesAWaitingReceiverWithRecvError) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot::channel<Throwing>();
        JoinHandle<bool> receiver = weft::spawn([](Receiver<Throwing> rx) -> Task<bool> {
            try {
                (void)co_await rx;
            } catch (const RecvError&) {
                co_return rx.is_terminated();
            }
            co_return false;
        }(std::move(rx)));
        co_await weft::test::settle();
        {
            ThrowSwitch::Scope moves_throw(ThrowSwitch::kMove);
            EXPECT_THROW((void)tx.send(Throwing(1)), MoveFailed);
        }
        for (int i = 0; i < 10'000 && !receiver.is_finished(); ++i) co_await weft::yield_now();
        CO_ASSERT_TRUE(receiver.is_finished());  // woken, not stranded
        EXPECT_TRUE(co_await receiver);
    }());
}

TEST(OneshotChannel, IsTerminatedOnceAReceiveHasCompleted) {
    {
        auto [tx, rx] = weft::oneshot::channel<int>();
        EXPECT_FALSE(rx.is_terminated());
        EXPECT_TRUE(rx.try_recv().is_empty());
        EXPECT_FALSE(rx.is_terminated());  // an empty try_recv completes nothing
        EXPECT_TRUE(tx.send(1));
        EXPECT_FALSE(rx.is_terminated());  // sent, not yet taken
        EXPECT_EQ(*rx.try_recv(), 1);
        EXPECT_TRUE(rx.is_terminated());
        Receiver<int> moved = std::move(rx);
        EXPECT_TRUE(moved.is_terminated());
        EXPECT_THROW((void)rx.is_terminated(), std::logic_error);
    }
    {
        auto [tx, rx] = weft::oneshot::channel<int>();
        { auto gone = std::move(tx); }
        EXPECT_FALSE(rx.is_terminated());  // the drop is known, but not yet reported
        EXPECT_THROW(rx.blocking_recv(), RecvError);
        EXPECT_TRUE(rx.is_terminated());
    }
    {
        auto [tx, rx] = weft::oneshot::channel<int>();
        rx.close();
        EXPECT_TRUE(rx.try_recv().is_disconnected());
        EXPECT_TRUE(rx.is_terminated());
    }
}

TEST(OneshotChannel, IsEmptyUntilAValueIsWaitingAndAgainOnceItIsTaken) {
    auto [tx, rx] = weft::oneshot::channel<std::string>();
    EXPECT_TRUE(rx.is_empty());
    EXPECT_TRUE(tx.send("v"));
    EXPECT_FALSE(rx.is_empty());
    rx.close();
    EXPECT_FALSE(rx.is_empty());  // a value sent before the close can still be taken
    EXPECT_EQ(*rx.try_recv(), "v");
    EXPECT_TRUE(rx.is_empty());

    auto [tx2, rx2] = weft::oneshot::channel<int>();
    { auto gone = std::move(tx2); }
    EXPECT_TRUE(rx2.is_empty());
    Receiver<int> moved = std::move(rx2);
    EXPECT_TRUE(moved.is_empty());
    EXPECT_THROW((void)rx2.is_empty(), std::logic_error);
}

TEST_P(OneshotTest, ALoopOnClosedOfAClosedChannelStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        { auto gone = std::move(rx); }
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        for (int i = 0; i < 100'000 && !other_ran; ++i) co_await tx.closed();  // each completes at once
        EXPECT_TRUE(other_ran);
        co_await other;
    }());
}

TEST_P(OneshotTest, ALoopAwaitingAFinishedReceiverStillYieldsToOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot::channel<int>();
        { auto gone = std::move(tx); }
        std::atomic<bool> other_ran{false};
        JoinHandle<void> other = spawn_that_sets(other_ran);
        int errors = 0;
        // At least one round: on two workers the other task may have run before the first.
        for (int i = 0; i < 100'000 && (i == 0 || !other_ran); ++i) {
            try {
                (void)co_await rx;  // completes at once, with RecvError
            } catch (const RecvError&) {
                ++errors;
            }
        }
        EXPECT_TRUE(other_ran);
        EXPECT_GT(errors, 0);
        co_await other;
    }());
}

TEST_P(OneshotTest, DroppingEitherSideAndCloseWakeWaitersWithoutAllocating) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        // The receiver goes while the sender awaits closed().
        {
            auto [tx, rx] = weft::oneshot::channel<int>();
            JoinHandle<void> watcher = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(std::move(tx)));
            co_await weft::test::settle();
            std::size_t allocations;
            {
                NoAllocations guard;
                { auto gone = std::move(rx); }
                allocations = guard.count();
            }
            EXPECT_EQ(allocations, 0u);
            co_await watcher;
        }
        // close() while the sender awaits closed().
        {
            auto [tx, rx] = weft::oneshot::channel<int>();
            JoinHandle<void> watcher = weft::spawn([](Sender<int> tx) -> Task<void> { co_await tx.closed(); }(std::move(tx)));
            co_await weft::test::settle();
            std::size_t allocations;
            {
                NoAllocations guard;
                rx.close();
                allocations = guard.count();
            }
            EXPECT_EQ(allocations, 0u);
            co_await watcher;
        }
        // The sender goes unsent while the receiver waits.
        {
            auto [tx, rx] = weft::oneshot::channel<int>();
            JoinHandle<bool> receiver = weft::spawn([](Receiver<int> rx) -> Task<bool> {
                try {
                    (void)co_await rx;
                } catch (const RecvError&) {
                    co_return true;
                }
                co_return false;
            }(std::move(rx)));
            co_await weft::test::settle();
            std::size_t allocations;
            {
                NoAllocations guard;
                { auto gone = std::move(tx); }
                allocations = guard.count();
            }
            EXPECT_EQ(allocations, 0u);
            EXPECT_TRUE(co_await receiver);
        }
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(OneshotTest);

}  // namespace
