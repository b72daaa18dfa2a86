// OnceCell<T>: set once, get_or_init runs exactly one initialiser at a time and only until one
// succeeds, and a throwing or cancelled initialiser lets the next waiter run its own.
//
// Tests that depend on which task reached its wait first run on the single-threaded flavours
// (OnceCellOrder); the rest run on every flavour.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/channels/once_cell.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"
#include "support/test_event.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::OnceCell;
using weft::SetError;
using weft::SetResult;
using weft::Task;
using weft::test::settle;
using weft::test::was_aborted;

class OnceCellTest : public weft::test::AllRuntimes {};
class OnceCellOrder : public weft::test::AllRuntimes {};

// Initialisers. Callables that return them are plain (non-coroutine) lambdas, so their captures
// are safe; the coroutines take everything as parameters.
Task<std::string> init_after_yields(std::atomic<int>& runs, std::string value) {
    runs.fetch_add(1);
    for (int i = 0; i < 5; ++i) co_await weft::yield_now();
    co_return value;
}

Task<std::string> init_that_throws(std::atomic<int>& runs) {
    runs.fetch_add(1);
    co_await weft::yield_now();
    throw std::runtime_error("initialiser failed");
}

Task<std::string> init_until(std::atomic<int>& runs, weft::test::Event& release, std::string value) {
    runs.fetch_add(1);
    co_await release.wait();
    co_return value;
}

Task<std::optional<std::string>> try_init(std::atomic<int>& runs, bool succeed) {
    runs.fetch_add(1);
    co_await weft::yield_now();
    if (!succeed) co_return std::nullopt;
    co_return std::optional<std::string>("tried");
}

// ---- without a runtime ----------------------------------------------------------------------------

TEST(OnceCellBasics, SetStoresOnceAndHandsTheValueBackAfterwards) {
    OnceCell<std::unique_ptr<int>> cell;  // move-only T
    EXPECT_FALSE(cell.initialized());
    EXPECT_EQ(cell.get(), nullptr);
    SetResult<std::unique_ptr<int>> first = cell.set(std::make_unique<int>(1));
    EXPECT_TRUE(first.ok());
    EXPECT_THROW((void)first.take_value(), std::logic_error);
    EXPECT_TRUE(cell.initialized());
    ASSERT_NE(cell.get(), nullptr);
    EXPECT_EQ(**cell.get(), 1);
    SetResult<std::unique_ptr<int>> second = cell.set(std::make_unique<int>(2));
    EXPECT_FALSE(second);
    EXPECT_TRUE(second.is_already_initialized());
    EXPECT_FALSE(second.is_initializing());
    EXPECT_EQ(second.error(), SetError::already_initialized);
    EXPECT_EQ(*second.take_value(), 2);  // handed back
    EXPECT_EQ(**cell.get(), 1);
}

TEST(OnceCellBasics, TakeEmptiesTheCellWhichCanThenBeSetAgain) {
    OnceCell<std::string> cell(std::string("initial"));
    EXPECT_TRUE(cell.initialized());
    EXPECT_EQ(*cell.get(), "initial");
    EXPECT_TRUE(cell.set("other").is_already_initialized());
    std::optional<std::string> taken = cell.take();
    EXPECT_EQ(taken, "initial");
    EXPECT_FALSE(cell.initialized());
    EXPECT_EQ(cell.get(), nullptr);
    EXPECT_EQ(cell.take(), std::nullopt);
    EXPECT_TRUE(cell.set("again").ok());
    EXPECT_EQ(*cell.get(), "again");
}

// ---- on every runtime -------------------------------------------------------------------------

TEST_P(OnceCellTest, GetOrInitRunsTheInitialiserOnceAndLaterCallsJustRead) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        const std::string& v = co_await cell.get_or_init([&runs] { return init_after_yields(runs, "first"); });
        EXPECT_EQ(v, "first");
        const std::string& again = co_await cell.get_or_init([&runs] { return init_after_yields(runs, "second"); });
        EXPECT_EQ(again, "first");
        EXPECT_EQ(&v, &again);
        EXPECT_EQ(&v, cell.get());
        EXPECT_EQ(runs.load(), 1);
        EXPECT_TRUE(cell.set("late").is_already_initialized());
    }());
}

// Many tasks race to initialise: one initialiser runs, every task gets its value.
TEST_P(OnceCellTest, UnderContentionExactlyOneInitialiserRuns) {
    constexpr int kTasks = 24;
    auto rt = make_runtime();
    std::atomic<int> runs{0};
    const int agreeing = rt->block_on([](std::atomic<int>& runs) -> Task<int> {
        OnceCell<std::string> cell;
        std::vector<JoinHandle<const std::string*>> tasks;
        for (int t = 0; t < kTasks; ++t)
            tasks.push_back(weft::spawn([](OnceCell<std::string>& cell, std::atomic<int>& runs, int t) -> Task<const std::string*> {
                const std::string& v = co_await cell.get_or_init([&runs, t] { return init_after_yields(runs, std::to_string(t)); });
                co_return &v;
            }(cell, runs, t)));
        int agreeing = 0;
        for (auto& t : tasks) {
            const std::string* v = co_await t;
            if (v == cell.get()) ++agreeing;
        }
        co_return agreeing;
    }(runs));
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(agreeing, kTasks);
}

// The initialiser bounded by timeout(): cancelled where it waits, nothing stored; the next call
// runs its own.
TEST_P(OnceCellTest, AnInitialiserCancelledByATimeoutLetsTheNextOneRun) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        weft::test::Event never;
        auto r = co_await weft::timeout(5ms, cell.get_or_init([&runs, &never] { return init_until(runs, never, "stuck"); }));
        EXPECT_TRUE(r.timed_out());
        EXPECT_FALSE(cell.initialized());
        const std::string& v = co_await cell.get_or_init([&runs] { return init_after_yields(runs, "second"); });
        EXPECT_EQ(v, "second");
        EXPECT_EQ(runs.load(), 2);
    }());
}

TEST_P(OnceCellTest, AThrowingInitialiserFailsOnlyItsCallerAndTheCellStaysEmpty) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        auto failed = co_await weft::test::caught<std::runtime_error>(
            [](OnceCell<std::string>& cell, std::atomic<int>& runs) -> Task<void> {
                // Bound to a variable, not awaited as a temporary: it throws (see README, g++ 12).
                auto init = cell.get_or_init([&runs] { return init_that_throws(runs); });
                (void)co_await std::move(init);
            }(cell, runs));
        EXPECT_TRUE(failed.has_value());
        EXPECT_FALSE(cell.initialized());
        EXPECT_TRUE(cell.set("set after the failure").ok());
        EXPECT_EQ(*cell.get(), "set after the failure");
        EXPECT_EQ(runs.load(), 1);
    }());
}

TEST_P(OnceCellTest, GetOrTryInitLeavesTheCellEmptyOnFailureAndStoresOnSuccess) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        const std::string* failed = co_await cell.get_or_try_init([&runs] { return try_init(runs, false); });
        EXPECT_EQ(failed, nullptr);
        EXPECT_FALSE(cell.initialized());
        const std::string* ok = co_await cell.get_or_try_init([&runs] { return try_init(runs, true); });
        CO_ASSERT_TRUE(ok != nullptr);
        EXPECT_EQ(*ok, "tried");
        EXPECT_EQ(ok, cell.get());
        const std::string* again = co_await cell.get_or_try_init([&runs] { return try_init(runs, false); });
        EXPECT_EQ(again, ok);  // set: no initialiser runs
        EXPECT_EQ(runs.load(), 2);
    }());
}

// ---- order: one thread runs every task --------------------------------------------------------

Task<std::string> get_value(OnceCell<std::string>& cell, std::atomic<int>& runs, std::string mine) {
    auto init = cell.get_or_init([&runs, mine] { return init_after_yields(runs, mine); });
    const std::string& v = co_await std::move(init);
    co_return v;
}

// The first initialiser throws while others wait in line: the next in line runs its own, and the
// rest get that value without running theirs.
TEST_P(OnceCellOrder, AfterAThrowingInitialiserTheNextWaiterRunsItsOwn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        JoinHandle<void> failing = weft::spawn([](OnceCell<std::string>& cell, std::atomic<int>& runs) -> Task<void> {
            auto init = cell.get_or_init([&runs] { return init_that_throws(runs); });  // a variable: it throws
            (void)co_await std::move(init);
        }(cell, runs));
        co_await settle();
        JoinHandle<std::string> second = weft::spawn(get_value(cell, runs, "second"));
        co_await settle();
        JoinHandle<std::string> third = weft::spawn(get_value(cell, runs, "third"));
        auto failed = co_await weft::test::caught<std::runtime_error>([](JoinHandle<void>& h) -> Task<void> {
            co_await h;
        }(failing));
        EXPECT_TRUE(failed.has_value());
        EXPECT_EQ(co_await second, "second");
        EXPECT_EQ(co_await third, "second");
        EXPECT_EQ(runs.load(), 2);
    }());
}

// The initialising task is aborted mid-initialiser: the next waiter in line runs its own.
TEST_P(OnceCellOrder, AnAbortedInitialiserLetsTheNextWaiterRunItsOwn) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        weft::test::Event never;
        JoinHandle<void> doomed = weft::spawn([](OnceCell<std::string>& cell, std::atomic<int>& runs, weft::test::Event& never) -> Task<void> {
            (void)co_await cell.get_or_init([&runs, &never] { return init_until(runs, never, "doomed"); });
        }(cell, runs, never));
        co_await settle();
        EXPECT_EQ(runs.load(), 1);
        JoinHandle<std::string> next = weft::spawn(get_value(cell, runs, "next"));
        co_await settle();
        EXPECT_FALSE(next.is_finished());  // waits for the running initialiser
        EXPECT_TRUE(cell.set("meanwhile").is_initializing());
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        EXPECT_EQ(co_await next, "next");
        EXPECT_EQ(runs.load(), 2);
    }());
}

// Waiters that are cancelled while in line leave it; the initialiser's success still reaches the
// others.
TEST_P(OnceCellOrder, AWaiterAbortedInLineDoesNotDisturbTheOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        OnceCell<std::string> cell;
        std::atomic<int> runs{0};
        weft::test::Event release;
        JoinHandle<void> first = weft::spawn([](OnceCell<std::string>& cell, std::atomic<int>& runs, weft::test::Event& release) -> Task<void> {
            (void)co_await cell.get_or_init([&runs, &release] { return init_until(runs, release, "first"); });
        }(cell, runs, release));
        co_await settle();
        JoinHandle<std::string> doomed = weft::spawn(get_value(cell, runs, "doomed"));
        co_await settle();
        JoinHandle<std::string> last = weft::spawn(get_value(cell, runs, "last"));
        co_await settle();
        doomed.abort();
        EXPECT_TRUE(co_await was_aborted(doomed));
        release.set();
        co_await first;
        EXPECT_EQ(co_await last, "first");
        EXPECT_EQ(runs.load(), 1);
    }());
}

// ---- stress: two workers ---------------------------------------------------------------------

// Rounds of many tasks racing for a fresh cell; some initialisers throw, some tasks are aborted.
// Whatever happens, at most one initialiser runs at a time, and once one succeeds every later
// caller sees that value.
Task<std::string> guarded_init(std::atomic<int>& running, std::atomic<int>& overlaps, int id) {
    if (running.fetch_add(1) != 0) overlaps.fetch_add(1);
    struct Leave {
        std::atomic<int>& running;
        ~Leave() { running.fetch_sub(1); }
    } leave{running};
    co_await weft::yield_now();
    if (id % 3 == 0) throw std::runtime_error("odd one out");
    co_return std::to_string(id);
}

Task<void> stress_caller(OnceCell<std::string>& cell, std::atomic<int>& running, std::atomic<int>& overlaps, int id) {
    try {
        auto init = cell.get_or_init([&running, &overlaps, id] { return guarded_init(running, overlaps, id); });
        const std::string& v = co_await std::move(init);  // a variable: it may throw (README, g++ 12)
        if (cell.get() != &v) overlaps.fetch_add(1);
    } catch (const std::runtime_error&) {
    }
}

TEST(OnceCellStress, RacingInitialisersOnTwoWorkersNeverOverlap) {
    const int rounds = static_cast<int>(weft::test::scaled(2'000, 10));
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    std::atomic<int> overlaps{0};
    rt.block_on([](std::atomic<int>& overlaps, int rounds) -> Task<void> {
        for (int round = 0; round < rounds; ++round) {
            OnceCell<std::string> cell;
            std::atomic<int> running{0};
            std::vector<JoinHandle<void>> tasks;
            for (int t = 0; t < 8; ++t) tasks.push_back(weft::spawn(stress_caller(cell, running, overlaps, round + t)));
            if (round % 2 == 0) tasks[static_cast<std::size_t>(round % 8)].abort();
            for (auto& h : tasks) {
                try {
                    co_await h;
                } catch (const weft::JoinError&) {
                }
            }
            // Every caller that ran to completion either failed or saw the value; unless every
            // initialiser failed or was cancelled, the cell is set now.
            const std::string* v = cell.get();
            if (v) {
                EXPECT_FALSE(v->empty());
            }
            EXPECT_EQ(running.load(), 0);
        }
    }(overlaps, rounds));
    EXPECT_EQ(overlaps.load(), 0);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(OnceCellTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(OnceCellOrder);

}  // namespace
