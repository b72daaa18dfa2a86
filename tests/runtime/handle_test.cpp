// Handle (runtime/handle.hpp): spawning and block_on from plain threads, enter guards, lifetime.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include <weft/runtime/handle.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Handle;
using weft::JoinHandle;
using weft::RuntimeShutdownError;
using weft::Task;

class HandleTest : public weft::test::AllRuntimes {};

Task<int> add_one(int x) { co_return x + 1; }

Task<int> join_within(JoinHandle<int> handle) {
    auto result = co_await weft::timeout(10s, std::move(handle));
    co_return result.value();
}

TEST_P(HandleTest, SpawnFromAPlainThreadRunsOnTheRuntime) {
    auto rt = make_runtime();
    Handle handle = rt->handle();
    std::optional<JoinHandle<int>> spawned;
    std::thread plain([&] { spawned.emplace(handle.spawn(add_one(41))); });
    plain.join();
    EXPECT_EQ(rt->block_on(join_within(std::move(*spawned))), 42);
}

TEST_P(HandleTest, BlockOnFromAPlainThreadThroughACopiedHandle) {
    auto rt = make_runtime();
    const Handle handle = rt->handle();
    int result = 0;
    std::thread plain([&, copy = handle] {
        result = copy.block_on([]() -> Task<int> {
            co_await weft::sleep(1ms);
            co_return co_await add_one(1);
        }());
    });
    plain.join();
    EXPECT_EQ(result, 2);
    EXPECT_TRUE(handle == rt->handle());
}

TEST_P(HandleTest, SpawnBlockingThroughTheHandle) {
    auto rt = make_runtime();
    Handle handle = rt->handle();
    JoinHandle<int> blocking = handle.spawn_blocking([] { return 7; });
    EXPECT_EQ(rt->block_on(join_within(std::move(blocking))), 7);
}

TEST_P(HandleTest, CurrentInsideATaskIsItsRuntime) {
    auto rt = make_runtime();
    const bool same = rt->block_on([](Handle expected) -> Task<bool> {
        Handle current = Handle::current();
        JoinHandle<int> spawned = current.spawn(add_one(1));
        const int value = co_await spawned;
        co_return current == expected && value == 2;
    }(rt->handle()));
    EXPECT_TRUE(same);
}

TEST_P(HandleTest, CurrentInsideABlockingCallIsItsRuntime) {
    auto rt = make_runtime();
    Handle expected = rt->handle();
    const bool same = rt->block_on([](Handle expected) -> Task<bool> {
        // Bound first: g++ 12 destroys a capturing lambda written in a co_await operand twice.
        auto same = [expected] { return Handle::current() == expected; };
        co_return co_await weft::spawn_blocking(std::move(same));
    }(expected));
    EXPECT_TRUE(same);
}

TEST(HandleOutsideARuntime, CurrentThrowsAndTryCurrentIsEmpty) {
    EXPECT_THROW((void)Handle::current(), std::logic_error);
    EXPECT_FALSE(Handle::try_current().has_value());
    EXPECT_THROW((void)weft::spawn(add_one(1)), std::logic_error);
}

TEST_P(HandleTest, EnterGuardMakesSpawnWorkOnAPlainThread) {
    auto rt = make_runtime();
    Handle handle = rt->handle();
    std::optional<JoinHandle<int>> spawned;
    bool current_while_entered = false;
    bool current_after = true;
    std::thread plain([&] {
        {
            auto guard = handle.enter();
            current_while_entered = Handle::current() == handle;
            spawned.emplace(weft::spawn(add_one(9)));
        }
        current_after = Handle::try_current().has_value();
    });
    plain.join();
    EXPECT_TRUE(current_while_entered);
    EXPECT_FALSE(current_after);
    EXPECT_EQ(rt->block_on(join_within(std::move(*spawned))), 10);
}

TEST_P(HandleTest, NestedEnterGuardsRestoreThePreviousRuntime) {
    auto outer_rt = make_runtime();
    auto inner_rt = make_runtime();
    Handle outer = outer_rt->handle();
    Handle inner = inner_rt->handle();
    std::thread plain([&] {
        auto outer_guard = outer.enter();
        EXPECT_TRUE(Handle::current() == outer);
        {
            auto inner_guard = inner.enter();
            EXPECT_TRUE(Handle::current() == inner);
        }
        EXPECT_TRUE(Handle::current() == outer);
    });
    plain.join();
    EXPECT_FALSE(Handle::try_current().has_value());
}

TEST_P(HandleTest, EnterGuardDoesNotLeakIntoBlockOnsTasks) {
    auto rt = make_runtime();
    auto other = make_runtime();
    auto guard = other->handle().enter();
    // Runtime::block_on's task runs in its own runtime, whatever this thread entered.
    const bool own = rt->block_on([](Handle expected) -> Task<bool> { co_return Handle::current() == expected; }(rt->handle()));
    EXPECT_TRUE(own);
    EXPECT_TRUE(Handle::current() == other->handle());
}

TEST_P(HandleTest, HandleAfterTheRuntimeIsDestroyedFailsCleanly) {
    auto rt = make_runtime();
    Handle handle = rt->handle();
    rt.reset();
    EXPECT_TRUE(handle.is_shut_down());
    EXPECT_THROW((void)handle.spawn(add_one(1)), RuntimeShutdownError);
    EXPECT_THROW((void)handle.spawn_blocking([] { return 1; }), RuntimeShutdownError);
    EXPECT_THROW((void)handle.block_on(add_one(1)), RuntimeShutdownError);
    std::thread plain([&] {
        auto guard = handle.enter();
        EXPECT_THROW((void)weft::spawn(add_one(1)), RuntimeShutdownError);
    });
    plain.join();
}

TEST_P(HandleTest, HandleHeldByAPlainThreadAcrossTheRuntimesDestruction) {
    auto rt = make_runtime();
    std::atomic<bool> destroyed{false};
    std::atomic<int> refused{0};
    std::thread plain([handle = rt->handle(), &destroyed, &refused] {
        while (!destroyed.load()) {
            try {
                (void)handle.spawn(add_one(1));  // detached
            } catch (const RuntimeShutdownError&) {
                refused.fetch_add(1);
            }
            std::this_thread::yield();
        }
        try {
            (void)handle.spawn(add_one(1));
        } catch (const RuntimeShutdownError&) {
            refused.fetch_add(1);
        }
    });
    rt->block_on([]() -> Task<void> { co_await weft::sleep(2ms); }());
    rt.reset();
    destroyed.store(true);
    plain.join();
    EXPECT_GE(refused.load(), 1);
}

TEST_P(HandleTest, BlockOnThroughTheHandleOnAWorkerThrows) {
    auto rt = make_runtime();
    const bool threw = rt->block_on([](Handle handle) -> Task<bool> {
        try {
            (void)handle.block_on(add_one(1));
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    }(rt->handle()));
    EXPECT_TRUE(threw);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(HandleTest);

}  // namespace
