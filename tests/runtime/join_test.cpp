// join and try_join: every operation runs concurrently inside the awaiting task; join waits for
// all, try_join stops at the first exception and cancels the rest; on every runtime flavour.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/join.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/probe_leaf.hpp"
#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;

class JoinTest : public weft::test::AllRuntimes {};

struct Guard {
    explicit Guard(int& destroyed) : destroyed_(destroyed) {}
    Guard(const Guard&) = delete;
    ~Guard() { ++destroyed_; }
    int& destroyed_;
};

// Waits for `go`, records that it finished, then tells `next` (if any) to go.
Task<int> step(int id, weft::oneshot::Receiver<int> go, std::optional<weft::oneshot::Sender<int>> next,
               std::vector<int>& finished) {
    const int v = co_await go;
    finished.push_back(id);
    if (next) (void)next->send(v + 1);
    co_return id * 10 + v;
}

Task<void> step_void(weft::oneshot::Receiver<int> go, weft::oneshot::Sender<int> next, std::vector<int>& finished) {
    const int v = co_await go;
    finished.push_back(2);
    (void)next.send(v + 1);
}

TEST_P(JoinTest, JoinWaitsForAllWhateverOrderTheyFinishIn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        // Finish order 1, 2, 0: each finishing task starts the next; a spawned task starts the first.
        auto [go0_tx, go0_rx] = weft::oneshot::channel<int>();
        auto [go1_tx, go1_rx] = weft::oneshot::channel<int>();
        auto [go2_tx, go2_rx] = weft::oneshot::channel<int>();
        std::vector<int> finished;
        weft::spawn([](weft::oneshot::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(1ms);
            (void)tx.send(1);
        }(std::move(go1_tx))).detach();
        auto r = co_await weft::timeout(5s, weft::join(step(0, std::move(go0_rx), std::nullopt, finished),
                                                       step(1, std::move(go1_rx), std::move(go2_tx), finished),
                                                       step_void(std::move(go2_rx), std::move(go0_tx), finished)));
        EXPECT_FALSE(r.timed_out());
        if (!r) co_return;
        auto [a, b, c] = std::move(*r);
        EXPECT_EQ(a, 3);   // 0 * 10 + 3
        EXPECT_EQ(b, 11);  // 1 * 10 + 1
        static_assert(std::is_same_v<decltype(c), std::monostate>);
        EXPECT_EQ(finished, (std::vector<int>{1, 2, 0}));
    }());
}

Task<std::string> text_after(std::chrono::milliseconds d, std::string s) {
    co_await weft::sleep(d);
    co_return s;
}

TEST_P(JoinTest, JoinMixesTasksAndLeaves) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(2ms);
            (void)co_await tx.send(9);
        }(tx)).detach();
        auto [s, v, t] = co_await weft::join(text_after(1ms, "task"), rx.recv(), weft::sleep(3ms));
        EXPECT_EQ(s, "task");
        EXPECT_EQ(v.value_or(-1), 9);
        static_assert(std::is_same_v<decltype(t), std::monostate>);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<int> wait_long(int& destroyed) {
    Guard guard(destroyed);
    co_await weft::sleep(1h);
    co_return 0;
}

Task<int> fail_after_a_yield(int& finished) {
    co_await weft::yield_now();
    ++finished;
    throw std::runtime_error("second failed");
}

Task<int> finish_after(std::chrono::milliseconds d, int& finished) {
    co_await weft::sleep(d);
    ++finished;
    co_return 1;
}

TEST_P(JoinTest, TryJoinRethrowsTheFirstExceptionAndDestroysTheOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, finished = 0;
        EXPECT_THROW((void)co_await weft::try_join(wait_long(destroyed), fail_after_a_yield(finished),
                                                   wait_long(destroyed)),
                     std::runtime_error);
        EXPECT_EQ(finished, 1);
        EXPECT_EQ(destroyed, 2);  // both waiting tasks destroyed where they waited, before the rethrow
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(JoinTest, TryJoinYieldsEveryValueWhenNoneThrows) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int finished = 0;
        auto [a, b] = co_await weft::try_join(finish_after(2ms, finished), text_after(1ms, "b"));
        EXPECT_EQ(a, 1);
        EXPECT_EQ(b, "b");
    }());
}

TEST_P(JoinTest, JoinLetsTheOthersFinishBeforeRethrowing) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int finished = 0;
        EXPECT_THROW((void)co_await weft::timeout(5s, weft::join(fail_after_a_yield(finished),
                                                                 finish_after(3ms, finished))),
                     std::runtime_error);
        EXPECT_EQ(finished, 2);  // the second one ran to its end
    }());
}

TEST_P(JoinTest, AbandoningAJoinDestroysItsTasks) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0;
        auto r = co_await weft::timeout(3ms, weft::join(wait_long(destroyed), wait_long(destroyed)));
        EXPECT_TRUE(r.timed_out());
        EXPECT_EQ(destroyed, 2);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

// try_join ended by a leaf that throws as it starts, after an earlier leaf began to wait: the join
// does not suspend, and the worker must not poll the dead waiting leaf at the next yield (see
// SelectTest.ABranchThatCompletesAsItStartsLeavesNoLeafForTheWorkerToPoll).
TEST_P(JoinTest, ATryJoinThatEndsAsItStartsLeavesNoLeafForTheWorkerToPoll) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        using weft::test::ProbeLeaf;
        ProbeLeaf waiting(ProbeLeaf::Mode::waits);
        ProbeLeaf throwing(ProbeLeaf::Mode::throws);
        bool threw = false;
        try {
            (void)co_await weft::try_join(waiting, throwing);
        } catch (const std::runtime_error&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        co_await weft::yield_now();
        EXPECT_EQ(waiting.polls, 0);
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(JoinTest);

}  // namespace
