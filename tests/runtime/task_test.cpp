// Task<T>: laziness, values, exceptions, misuse, and stack safety of long await chains.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using weft::Task;
using weft::test::Tracked;

class TaskTest : public weft::test::AllRuntimes {};

Task<int> value(int v) { co_return v; }
Task<void> nothing() { co_return; }
Task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }
Task<int> fails() {
    throw std::out_of_range("deliberate");
    co_return 0;
}

TEST_P(TaskTest, AwaitingYieldsTheValue) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<int> { co_return co_await value(20) + co_await value(22); }()), 42);
}

TEST_P(TaskTest, VoidAndMoveOnlyResults) {
    auto rt = make_runtime();
    auto p = rt->block_on([]() -> Task<std::unique_ptr<int>> {
        co_await nothing();
        co_return co_await boxed(7);
    }());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 7);
}

TEST_P(TaskTest, ExceptionReachesTheAwaiterAsItsOwnType) {
    auto rt = make_runtime();
    const std::string what = rt->block_on([]() -> Task<std::string> {
        try {
            co_await fails();
        } catch (const std::out_of_range& e) {
            co_return e.what();
        }
        co_return "no exception";
    }());
    EXPECT_EQ(what, "deliberate");
    EXPECT_THROW(rt->block_on(fails()), std::out_of_range);
}

TEST_P(TaskTest, NothingRunsUntilAwaited) {
    auto rt = make_runtime();
    int runs = 0;
    const int seen = rt->block_on([](int& runs) -> Task<int> {
        auto counted = [](int& r) -> Task<void> {
            ++r;
            co_return;
        };
        Task<void> t = counted(runs);
        const int before = runs;
        co_await t;
        co_return before;
    }(runs));
    EXPECT_EQ(seen, 0);
    EXPECT_EQ(runs, 1);
}

TEST_P(TaskTest, AwaitingTwiceOrAfterMoveThrowsLogicError) {
    auto rt = make_runtime();
    const int outcome = rt->block_on([]() -> Task<int> {
        Task<int> t = value(1);
        co_await t;
        int errors = 0;
        try {
            co_await t;
        } catch (const std::logic_error&) {
            ++errors;
        }
        Task<int> u = value(2);
        Task<int> v = std::move(u);
        try {
            co_await u;
        } catch (const std::logic_error&) {
            ++errors;
        }
        co_return errors + co_await v;
    }());
    EXPECT_EQ(outcome, 2 + 2);
}

TEST(TaskFrames, UnawaitedTaskFreesItsFrameAndParameters) {
    const long before = Tracked::live.load();
    {
        auto make = [](Tracked) -> Task<int> { co_return 1; };
        Task<int> t = make(Tracked{});
        EXPECT_EQ(Tracked::live.load(), before + 1);  // the parameter copy lives in the frame
    }
    EXPECT_EQ(Tracked::live.load(), before);
}

Task<long> loop_of_ready_awaits(long n) {
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += co_await value(1);
    co_return sum;
}

Task<long> deep(long depth) {
    if (depth == 0) co_return 0;
    co_return 1 + co_await deep(depth - 1);
}

// Symmetric transfer is not a tail call under g++ -O0 or ASan; these would overflow an 8 MiB
// stack if each await nested a frame.
TEST_P(TaskTest, LongChainOfReadyAwaitsDoesNotGrowTheStack) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on(loop_of_ready_awaits(1'000'000)), 1'000'000);
}

TEST_P(TaskTest, DeepRecursionOfAwaitsDoesNotGrowTheStack) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on(deep(100'000)), 100'000);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TaskTest);

}  // namespace
