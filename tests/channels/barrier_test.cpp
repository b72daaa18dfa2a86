// Barrier: n tasks rendezvous, exactly one leader per generation, reuse across generations, n == 0
// taken as 1, and what a cancelled wait does (its arrival still counts, as in Tokio).
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (BarrierOrder); the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include <weft/channels/barrier.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Barrier;
using weft::BarrierWaitResult;
using weft::JoinHandle;
using weft::Task;
using weft::test::settle;
using weft::test::was_aborted;

class BarrierTest : public weft::test::AllRuntimes {};
class BarrierOrder : public weft::test::AllRuntimes {};

TEST_P(BarrierTest, ABarrierOfZeroOrOneReleasesEveryWaitAtOnceAsLeader) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Barrier zero(0);
        Barrier one(1);
        EXPECT_EQ(zero.n(), 1u);
        EXPECT_EQ(one.n(), 1u);
        for (int i = 0; i < 3; ++i) {
            BarrierWaitResult a = co_await zero.wait();
            BarrierWaitResult b = co_await one.wait();
            EXPECT_TRUE(a.is_leader());
            EXPECT_TRUE(b.is_leader());
        }
    }());
}

// On any number of workers: nobody leaves before the n-th arrives, and exactly one is the leader.
TEST_P(BarrierTest, WaitersSuspendUntilTheNthArrivesAndOneOfThemLeads) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Barrier barrier(4);
        std::vector<JoinHandle<bool>> waiters;
        for (int i = 0; i < 3; ++i)
            waiters.push_back(weft::spawn([](Barrier& barrier) -> Task<bool> {
                BarrierWaitResult r = co_await barrier.wait();
                co_return r.is_leader();
            }(barrier)));
        co_await settle();
        for (auto& w : waiters) EXPECT_FALSE(w.is_finished());  // at most 3 of 4 have arrived
        BarrierWaitResult mine = co_await barrier.wait();
        int leaders = mine.is_leader() ? 1 : 0;
        for (auto& w : waiters) {
            const bool leader = co_await w;
            if (leader) ++leaders;
        }
        EXPECT_EQ(leaders, 1);
    }());
}

// One thread runs every task, so the three waiters have arrived before us: we are the n-th, the
// leader, and do not suspend.
TEST_P(BarrierOrder, TheNthArrivalIsTheLeaderAndDoesNotSuspend) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Barrier barrier(4);
        std::vector<JoinHandle<bool>> waiters;
        for (int i = 0; i < 3; ++i)
            waiters.push_back(weft::spawn([](Barrier& barrier) -> Task<bool> {
                BarrierWaitResult r = co_await barrier.wait();
                co_return r.is_leader();
            }(barrier)));
        co_await settle();
        BarrierWaitResult last = co_await barrier.wait();
        EXPECT_TRUE(last.is_leader());
        for (auto& w : waiters) EXPECT_FALSE(w.is_finished());  // woken, not yet run: we did not suspend
        for (auto& w : waiters) EXPECT_FALSE(co_await w);
    }());
}

// Many tasks loop over the same barrier: in every generation exactly one is the leader, and no task
// leaves a generation before all n have arrived in it.
TEST_P(BarrierTest, ExactlyOneLeaderPerGenerationAndNobodyLeavesEarly) {
    constexpr std::size_t kTasks = 8;
    const long generations = weft::test::scaled(400, 4);
    auto rt = make_runtime();
    struct Counts {
        std::vector<std::atomic<long>> arrived;
        std::vector<std::atomic<long>> leaders;
        std::atomic<long> early{0};
        explicit Counts(long g) : arrived(static_cast<std::size_t>(g)), leaders(static_cast<std::size_t>(g)) {}
    };
    Counts counts(generations);
    rt->block_on([](Counts& counts, long generations) -> Task<void> {
        Barrier barrier(kTasks);
        std::vector<JoinHandle<void>> tasks;
        for (std::size_t t = 0; t < kTasks; ++t)
            tasks.push_back(weft::spawn([](Barrier& barrier, Counts& counts, long generations) -> Task<void> {
                for (long g = 0; g < generations; ++g) {
                    const auto i = static_cast<std::size_t>(g);
                    counts.arrived[i].fetch_add(1);
                    BarrierWaitResult r = co_await barrier.wait();
                    if (counts.arrived[i].load() != static_cast<long>(kTasks)) counts.early.fetch_add(1);
                    if (r.is_leader()) counts.leaders[i].fetch_add(1);
                    if (g % 3 == 0) co_await weft::yield_now();
                }
            }(barrier, counts, generations)));
        for (auto& t : tasks) co_await t;
    }(counts, generations));
    EXPECT_EQ(counts.early.load(), 0);
    for (long g = 0; g < generations; ++g) {
        const auto i = static_cast<std::size_t>(g);
        EXPECT_EQ(counts.leaders[i].load(), 1) << "generation " << g;
        EXPECT_EQ(counts.arrived[i].load(), static_cast<long>(kTasks)) << "generation " << g;
    }
}

// More tasks than n: they fill consecutive generations, each with its own leader.
TEST_P(BarrierTest, TwiceNTasksMakeTwoGenerationsWithTwoLeaders) {
    auto rt = make_runtime();
    const long leaders = rt->block_on([]() -> Task<long> {
        Barrier barrier(3);
        std::vector<JoinHandle<bool>> tasks;
        for (int i = 0; i < 6; ++i)
            tasks.push_back(weft::spawn([](Barrier& barrier) -> Task<bool> {
                BarrierWaitResult r = co_await barrier.wait();
                co_return r.is_leader();
            }(barrier)));
        long leaders = 0;
        for (auto& t : tasks) {
            const bool leader = co_await t;
            if (leader) ++leaders;
        }
        co_return leaders;
    }());
    EXPECT_EQ(leaders, 2);
}

// Cancellation, as in Tokio: a wait that arrived and was then abandoned (here by timeout) still
// counts toward its generation. With n = 2, the next task to arrive completes the generation at
// once, as its leader.
TEST_P(BarrierTest, ATimedOutWaitStillCountsTowardItsGeneration) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Barrier barrier(2);
        auto r = co_await weft::timeout(5ms, barrier.wait());
        EXPECT_TRUE(r.timed_out());
        BarrierWaitResult second = co_await barrier.wait();  // does not suspend: the count is 1 + 1
        EXPECT_TRUE(second.is_leader());
        // The next generation starts from zero: one wait alone does not complete it.
        auto alone = co_await weft::timeout(5ms, barrier.wait());
        EXPECT_TRUE(alone.timed_out());
        auto completes = co_await weft::timeout(10s, barrier.wait());
        CO_ASSERT_TRUE(!completes.timed_out());
        EXPECT_TRUE(completes->is_leader());
    }());
}

TEST_P(BarrierTest, SelectTakesAWaitAndALosingWaitStillCounts) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Barrier barrier(2);
        auto lost = co_await weft::select(barrier.wait(), weft::sleep(5ms));
        EXPECT_EQ(lost.index(), 1u);
        auto won = co_await weft::select(barrier.wait(), weft::sleep(10s));
        CO_ASSERT_TRUE(won.index() == 0);
        EXPECT_TRUE(std::get<0>(won).is_leader());
    }());
}

// A wait created but never awaited has not arrived: it counts for nothing.
TEST_P(BarrierTest, AWaitNeverAwaitedDoesNotArrive) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        Barrier barrier(2);
        { auto unused = barrier.wait(); }
        auto alone = co_await weft::timeout(5ms, barrier.wait());
        EXPECT_TRUE(alone.timed_out());  // only this one arrived; now 1 of 2
        BarrierWaitResult r = co_await barrier.wait();
        EXPECT_TRUE(r.is_leader());
    }());
}

// An aborted waiter leaves the waiter list (nothing dangles), its arrival still counted; the
// generation completes when the remaining tasks arrive, and the survivors are released.
TEST_P(BarrierOrder, AnAbortedWaiterLeavesTheListAndItsArrivalStillCounts) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto barrier = std::make_unique<Barrier>(3);
        JoinHandle<void> doomed = weft::spawn([](Barrier& barrier) -> Task<void> { (void)co_await barrier.wait(); }(*barrier));
        co_await settle();
        JoinHandle<bool> survivor = weft::spawn([](Barrier& barrier) -> Task<bool> {
            BarrierWaitResult r = co_await barrier.wait();
            co_return r.is_leader();
        }(*barrier));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_FALSE(survivor.is_finished());
        BarrierWaitResult third = co_await barrier->wait();  // 3 arrivals: doomed, survivor, us
        EXPECT_TRUE(third.is_leader());
        EXPECT_FALSE(co_await survivor);
        barrier.reset();  // nothing refers to it any more (ASan would see a stale waiter node)
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(BarrierTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(BarrierOrder);

}  // namespace
