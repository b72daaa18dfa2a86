// mpsc::unbounded_channel: the bounded semantics without capacity.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
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

WEFT_INSTANTIATE_ALL_RUNTIMES(UnboundedTest);

}  // namespace
