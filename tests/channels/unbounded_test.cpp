// mpsc::unbounded_channel: the bounded semantics without capacity.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <weft/channels/unbounded.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::mpsc::UnboundedReceiver;
using weft::mpsc::UnboundedSender;
using weft::test::Tracked;

class UnboundedTest : public weft::test::AllRuntimes {};
class UnboundedSingleThreadTest : public weft::test::AllRuntimes {};

struct MoveError : std::runtime_error {
    MoveError() : std::runtime_error("move refused") {}
};

// A message whose next move (construction or assignment) throws once `arm()` was called. It throws
// before touching the source, so a move that throws leaves the value as it was. `id` -1 marks a
// moved-from object.
struct Fragile {
    static inline std::atomic<bool> armed{false};
    static void arm() { armed.store(true); }
    static void maybe_throw() {
        if (armed.exchange(false)) throw MoveError();
    }

    int id = 0;
    Fragile() = default;
    explicit Fragile(int i) : id(i) {}
    Fragile(Fragile&& other) : id(other.id) {
        maybe_throw();
        other.id = -1;
    }
    Fragile& operator=(Fragile&& other) {
        maybe_throw();
        id = std::exchange(other.id, -1);
        return *this;
    }
};

// A container whose push_back throws once, when it would append its `throw_at`-th element (from
// 0), before touching the value; as std::vector's push_back does when it cannot grow.
template <class T>
struct FlakyBuffer {
    std::vector<T> items;
    std::size_t throw_at = 0;
    bool armed = true;
    void push_back(T&& v) {
        if (armed && items.size() == throw_at) {
            armed = false;
            throw std::bad_alloc();
        }
        items.push_back(std::move(v));
    }
};

TEST(UnboundedChannel, SendNeverWaitsAndValuesArriveInOrder) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
    for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(tx.send(i));
    EXPECT_GE(rx.len(), 1u);
    for (int i = 0; i < 100'000; ++i) ASSERT_EQ(*rx.try_recv(), i);
    EXPECT_TRUE(rx.try_recv().is_empty());
    { auto last = std::move(tx); }
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

TEST(UnboundedChannel, ReceiverIsClosedAfterCloseOrWhenEverySenderIsGone) {
    {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        EXPECT_FALSE(rx.is_closed());
        rx.close();
        EXPECT_TRUE(rx.is_closed());
    }
    auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
    ASSERT_TRUE(tx.send(1));
    EXPECT_FALSE(rx.is_closed());
    { auto last = std::move(tx); }
    EXPECT_TRUE(rx.is_closed());
    EXPECT_EQ(*rx.try_recv(), 1);
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

TEST(UnboundedChannel, ClosedReceiverFailsSendsWithTheValueBack) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<std::string>();
    EXPECT_TRUE(tx.send("kept"));
    rx.close();
    auto r = tx.send("refused");
    EXPECT_TRUE(r.is_closed());
    EXPECT_EQ(r.take_value(), "refused");
    EXPECT_EQ(*rx.try_recv(), "kept");
    EXPECT_TRUE(rx.try_recv().is_disconnected());
}

TEST(UnboundedChannel, ValuesLeftBehindAreDestroyedOnce) {
    const long before = Tracked::live.load();
    {
        auto [tx, rx] = weft::mpsc::unbounded_channel<Tracked>();
        for (int i = 0; i < 10; ++i) ASSERT_TRUE(tx.send(Tracked{}));
        { auto gone = std::move(rx); }
        EXPECT_EQ(Tracked::live.load(), before);  // the receiver destroyed them
        EXPECT_TRUE(tx.send(Tracked{}).is_closed());
    }
    EXPECT_EQ(Tracked::live.load(), before);
}

TEST(UnboundedChannel, SixteenThreadsKeepTheirOwnOrder) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<std::pair<int, int>>();
    constexpr int kThreads = 16;
    const int each = static_cast<int>(weft::test::scaled(20'000, 10));
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t)
        producers.emplace_back([tx, t]() mutable {
            for (int i = 0; i < each; ++i) ASSERT_TRUE(tx.send({t, i}));
        });
    { auto ours = std::move(tx); }
    std::vector<int> next(kThreads, 0);
    long received = 0;
    while (auto m = rx.blocking_recv()) {
        ASSERT_EQ(m->second, next[m->first]++);
        ++received;
    }
    for (auto& p : producers) p.join();
    EXPECT_EQ(received, long{kThreads} * each);
}

TEST_P(UnboundedTest, ATaskWaitsForValuesAndEndsWhenSendersAreGone) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<long> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        JoinHandle<void> producer = weft::spawn([](UnboundedSender<int> tx) -> Task<void> {
            for (int i = 1; i <= 1000; ++i) {
                EXPECT_TRUE(tx.send(i));
                if (i % 100 == 0) co_await weft::yield_now();
            }
        }(std::move(tx)));
        long sum = 0;
        while (auto v = co_await rx.recv()) sum += *v;
        co_await producer;
        std::vector<int> buf;
        EXPECT_EQ(co_await rx.recv_many(buf, 10), 0u);
        co_return sum;
    }()),
              1000 * 1001 / 2);
}

TEST_P(UnboundedTest, AnAbortedReceiverLeavesTheMessageForTheNextRecv) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        JoinHandle<void> doomed = weft::spawn([](UnboundedReceiver<int>& rx) -> Task<void> { (void)co_await rx.recv(); }(rx));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        doomed.abort();
        try {
            co_await doomed;
        } catch (const weft::JoinError&) {
        }
        EXPECT_TRUE(tx.send(5));
        EXPECT_EQ(*co_await rx.recv(), 5);
    }());
}

// Throwing moves: a send whose move throws enqueues nothing and later messages flow; a receive
// whose move throws reaches the receiver with the message kept for the next receive.

TEST(UnboundedChannel, ASendWhoseMoveThrowsEnqueuesNothingAndTheValueIsKept) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<Fragile>();
    ASSERT_TRUE(tx.send(Fragile(1)));
    Fragile two(2);
    Fragile::arm();
    EXPECT_THROW((void)tx.send(std::move(two)), MoveError);
    EXPECT_EQ(two.id, 2);
    ASSERT_TRUE(tx.send(std::move(two)));
    EXPECT_EQ(rx.try_recv()->id, 1);
    EXPECT_EQ(rx.try_recv()->id, 2);
    EXPECT_TRUE(rx.try_recv().is_empty());
}

TEST(UnboundedChannel, ATryRecvWhoseMoveThrowsLeavesTheMessageForTheNextReceive) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<Fragile>();
    ASSERT_TRUE(tx.send(Fragile(1)));
    ASSERT_TRUE(tx.send(Fragile(2)));
    Fragile::arm();
    EXPECT_THROW((void)rx.try_recv(), MoveError);
    EXPECT_EQ(rx.len(), 2u);
    EXPECT_EQ(rx.try_recv()->id, 1);
    EXPECT_EQ(rx.try_recv()->id, 2);
    EXPECT_TRUE(rx.try_recv().is_empty());
}

TEST(UnboundedChannel, ABlockingRecvWhoseMoveThrowsLeavesTheMessageForTheNextReceive) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<Fragile>();
    ASSERT_TRUE(tx.send(Fragile(1)));
    Fragile::arm();
    EXPECT_THROW((void)rx.blocking_recv(), MoveError);
    std::thread late([tx = std::move(tx)]() mutable { ASSERT_TRUE(tx.send(Fragile(2))); });
    EXPECT_EQ(rx.blocking_recv()->id, 1);
    EXPECT_EQ(rx.blocking_recv()->id, 2);
    late.join();
    EXPECT_FALSE(rx.blocking_recv().has_value());
}

TEST_P(UnboundedTest, ARecvWhoseMoveThrowsDeliversTheErrorAndKeepsTheMessage) {
    auto rt = make_runtime();
    std::vector<int> got = rt->block_on([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<Fragile>();
        EXPECT_TRUE(tx.send(Fragile(1)));
        EXPECT_TRUE(tx.send(Fragile(2)));
        Fragile::arm();
        bool threw = false;
        try {
            (void)co_await rx.recv();
        } catch (const MoveError&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        std::vector<int> got;
        { auto last = std::move(tx); }
        while (auto v = co_await rx.recv()) got.push_back(v->id);
        co_return got;
    }());
    EXPECT_EQ(got, (std::vector<int>{1, 2}));
}

// The receiver is suspended when the message arrives: the move happens as it resumes. One thread,
// so the receiver cannot run between the send and the arm.
TEST_P(UnboundedSingleThreadTest, ARecvResumedByASendWhoseMoveOutThrowsGetsTheErrorAndKeepsTheMessage) {
    auto rt = make_runtime();
    std::vector<int> got = rt->block_on([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<Fragile>();
        JoinHandle<std::vector<int>> receiver = weft::spawn([](UnboundedReceiver<Fragile> rx) -> Task<std::vector<int>> {
            std::vector<int> got;
            try {
                (void)co_await rx.recv();
                got.push_back(-100);  // must not be reached
            } catch (const MoveError&) {
                got.push_back(0);
            }
            while (auto v = co_await rx.recv()) got.push_back(v->id);
            co_return got;
        }(std::move(rx)));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        EXPECT_TRUE(tx.send(Fragile(1)));
        Fragile::arm();  // the receiver's move out, when it resumes
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        EXPECT_TRUE(tx.send(Fragile(2)));
        { auto last = std::move(tx); }
        co_return co_await receiver;
    }());
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
}

TEST_P(UnboundedTest, ARecvManyWhosePushBackThrowsKeepsTheRestForTheNextReceive) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        for (int i = 1; i <= 5; ++i) EXPECT_TRUE(tx.send(i));
        FlakyBuffer<int> buf;
        buf.throw_at = 2;
        bool threw = false;
        try {
            (void)co_await rx.recv_many(buf, 10);
        } catch (const std::bad_alloc&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        EXPECT_EQ(buf.items, (std::vector<int>{1, 2}));  // appended before the throw: kept
        EXPECT_EQ(co_await rx.recv_many(buf, 10), 3u);
        EXPECT_EQ(buf.items, (std::vector<int>{1, 2, 3, 4, 5}));
    }());
}

// The receiver is suspended in recv_many when the messages arrive.
TEST_P(UnboundedTest, ARecvManyResumedBySendsWhosePushBackThrowsGetsTheErrorAndLosesNothing) {
    auto rt = make_runtime();
    std::vector<int> got = rt->block_on([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        JoinHandle<std::vector<int>> receiver = weft::spawn([](UnboundedReceiver<int> rx) -> Task<std::vector<int>> {
            FlakyBuffer<int> buf;
            buf.throw_at = 0;
            try {
                (void)co_await rx.recv_many(buf, 10);
                buf.items.push_back(-100);  // must not be reached
            } catch (const std::bad_alloc&) {
            }
            for (;;) {  // not `while (co_await ...)`: the README's g++ 12 pitfall
                const std::size_t n = co_await rx.recv_many(buf, 10);
                if (n == 0) break;
            }
            co_return std::move(buf.items);
        }(std::move(rx)));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        for (int i = 1; i <= 3; ++i) EXPECT_TRUE(tx.send(i));
        { auto last = std::move(tx); }
        co_return co_await receiver;
    }());
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}

// Weak senders, as Tokio's WeakUnboundedSender.

TEST(UnboundedChannel, CountsFollowSendersAndWeakSenders) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
    EXPECT_EQ(rx.sender_strong_count(), 1u);
    EXPECT_EQ(rx.sender_weak_count(), 0u);
    auto tx2 = tx;
    auto weak = tx.downgrade();
    auto weak2 = weak;
    EXPECT_EQ(tx.strong_count(), 2u);
    EXPECT_EQ(tx.weak_count(), 2u);
    EXPECT_EQ(weak.strong_count(), 2u);
    EXPECT_EQ(weak.weak_count(), 2u);
    EXPECT_EQ(rx.sender_strong_count(), 2u);
    EXPECT_EQ(rx.sender_weak_count(), 2u);
    { auto gone = std::move(weak2); }
    { auto gone = std::move(tx2); }
    EXPECT_EQ(rx.sender_strong_count(), 1u);
    EXPECT_EQ(rx.sender_weak_count(), 1u);
}

TEST(UnboundedChannel, AWeakSenderDoesNotKeepTheChannelOpenAndCannotUpgradeAfterwards) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
    auto weak = tx.downgrade();
    ASSERT_TRUE(tx.send(1));
    { auto last = std::move(tx); }
    EXPECT_TRUE(rx.is_closed());
    EXPECT_EQ(rx.sender_strong_count(), 0u);
    EXPECT_EQ(rx.sender_weak_count(), 1u);
    EXPECT_EQ(*rx.try_recv(), 1);
    EXPECT_TRUE(rx.try_recv().is_disconnected());
    EXPECT_FALSE(weak.upgrade().has_value());
    EXPECT_EQ(weak.strong_count(), 0u);
}

TEST(UnboundedChannel, AnUpgradedSenderSendsAndKeepsTheChannelOpen) {
    auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
    auto weak = tx.downgrade();
    std::optional<UnboundedSender<int>> up = weak.upgrade();
    ASSERT_TRUE(up.has_value());
    EXPECT_TRUE(up->same_channel(tx));
    EXPECT_EQ(rx.sender_strong_count(), 2u);
    { auto gone = std::move(tx); }
    EXPECT_FALSE(rx.is_closed());
    ASSERT_TRUE(up->send(7));
    EXPECT_EQ(*rx.try_recv(), 7);
    { auto last = std::move(*up); }
    EXPECT_TRUE(rx.try_recv().is_disconnected());
    EXPECT_FALSE(weak.upgrade().has_value());
}

TEST(UnboundedChannel, AWeakSenderOutlivingEverythingElseFreesTheChannel) {
    const long before = Tracked::live.load();
    weft::mpsc::WeakUnboundedSender<Tracked> weak = [] {
        auto [tx, rx] = weft::mpsc::unbounded_channel<Tracked>();
        EXPECT_TRUE(tx.send(Tracked{}));
        return tx.downgrade();
    }();
    EXPECT_EQ(Tracked::live.load(), before);
    EXPECT_FALSE(weak.upgrade().has_value());
    { auto last = std::move(weak); }  // the last handle: ASan reports a leak if the channel is not freed
}

TEST_P(UnboundedTest, AWaitingRecvEndsWhenTheLastSenderGoesThoughWeakOnesRemain) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        auto weak = tx.downgrade();
        JoinHandle<std::optional<int>> receiver =
            weft::spawn([](UnboundedReceiver<int> rx) -> Task<std::optional<int>> { co_return co_await rx.recv(); }(std::move(rx)));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        { auto last = std::move(tx); }
        EXPECT_FALSE((co_await receiver).has_value());
        EXPECT_FALSE(weak.upgrade().has_value());
    }());
}

TEST(UnboundedChannel, UpgradeRacingWithTheLastSenderDropNeverRevivesAClosedChannel) {
    const int rounds = static_cast<int>(weft::test::scaled(2000, 10));
    for (int r = 0; r < rounds; ++r) {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        auto weak = tx.downgrade();
        std::thread dropper([tx = std::move(tx)]() mutable { auto last = std::move(tx); });
        std::optional<UnboundedSender<int>> up = weak.upgrade();
        dropper.join();
        if (up) {
            ASSERT_FALSE(rx.is_closed());  // the upgraded sender keeps it open
            ASSERT_TRUE(up->send(r));
            ASSERT_EQ(*rx.try_recv(), r);
            up.reset();
        }
        ASSERT_TRUE(rx.is_closed());
        ASSERT_FALSE(weak.upgrade().has_value());
    }
}

// UnboundedSender::closed(), as Tokio's.

TEST_P(UnboundedTest, ClosedCompletesWhenTheReceiverClosesOrIsDropped) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        for (bool drop : {false, true}) {
            auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
            JoinHandle<bool> waiter = weft::spawn([](UnboundedSender<int> tx) -> Task<bool> {
                co_await tx.closed();
                co_return tx.is_closed();
            }(tx));
            for (int i = 0; i < 10; ++i) co_await weft::yield_now();
            EXPECT_FALSE(waiter.is_finished());
            if (drop) {
                auto gone = std::move(rx);
            } else {
                rx.close();
            }
            EXPECT_TRUE(co_await waiter);
            EXPECT_TRUE(tx.send(1).is_closed());
        }
    }());
}

TEST_P(UnboundedTest, ClosedOnAClosedChannelCompletesAtOnce) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        rx.close();
        co_await tx.closed();
        co_await tx.closed();
        EXPECT_TRUE(tx.is_closed());
    }());
}

TEST_P(UnboundedTest, AnAbortedClosedWaitLeavesNothingBehind) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        JoinHandle<void> doomed = weft::spawn([](UnboundedSender<int>& tx) -> Task<void> { co_await tx.closed(); }(tx));
        for (int i = 0; i < 10; ++i) co_await weft::yield_now();
        doomed.abort();
        try {
            co_await doomed;
        } catch (const weft::JoinError&) {
        }
        rx.close();  // would touch the aborted waiter's node if it were still queued
        co_await tx.closed();
    }());
}

// Cooperative budget: a loop on an awaitable that is always ready at once still yields.

TEST_P(UnboundedSingleThreadTest, ALoopOnReadyRecvLetsAnotherTaskRun) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto flag = std::make_shared<std::atomic<bool>>(false);
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        JoinHandle<long> busy = weft::spawn([](UnboundedSender<int> tx, UnboundedReceiver<int> rx,
                                               std::shared_ptr<std::atomic<bool>> flag) -> Task<long> {
            long n = 0;
            EXPECT_TRUE(tx.send(0));
            while (!flag->load()) {
                EXPECT_TRUE(tx.send(1));
                n += *co_await rx.recv();
            }
            co_return n;
        }(std::move(tx), std::move(rx), flag));
        JoinHandle<void> other = weft::spawn([](std::shared_ptr<std::atomic<bool>> flag) -> Task<void> {
            flag->store(true);
            co_return;
        }(flag));
        co_await other;
        EXPECT_GT(co_await busy, 0);
    }());
}

TEST_P(UnboundedSingleThreadTest, ALoopOnReadyRecvManyLetsAnotherTaskRun) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto flag = std::make_shared<std::atomic<bool>>(false);
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        JoinHandle<void> busy = weft::spawn([](UnboundedSender<int> tx, UnboundedReceiver<int> rx,
                                               std::shared_ptr<std::atomic<bool>> flag) -> Task<void> {
            std::vector<int> buf;
            while (!flag->load()) {
                EXPECT_TRUE(tx.send(1));
                buf.clear();
                EXPECT_EQ(co_await rx.recv_many(buf, 4), 1u);
            }
        }(std::move(tx), std::move(rx), flag));
        JoinHandle<void> other = weft::spawn([](std::shared_ptr<std::atomic<bool>> flag) -> Task<void> {
            flag->store(true);
            co_return;
        }(flag));
        co_await other;
        co_await busy;
    }());
}

TEST_P(UnboundedSingleThreadTest, ALoopOnClosedOfAClosedChannelLetsAnotherTaskRun) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto flag = std::make_shared<std::atomic<bool>>(false);
        auto [tx, rx] = weft::mpsc::unbounded_channel<int>();
        rx.close();
        JoinHandle<void> busy = weft::spawn([](UnboundedSender<int> tx, std::shared_ptr<std::atomic<bool>> flag) -> Task<void> {
            while (!flag->load()) co_await tx.closed();
        }(std::move(tx), flag));
        JoinHandle<void> other = weft::spawn([](std::shared_ptr<std::atomic<bool>> flag) -> Task<void> {
            flag->store(true);
            co_return;
        }(flag));
        co_await other;
        co_await busy;
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(UnboundedTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(UnboundedSingleThreadTest);

}  // namespace
