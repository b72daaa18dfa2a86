// Small coroutines the task-based suites share:
//   co_await weft::test::settle();                         // let the other runnable tasks run
//   EXPECT_TRUE(co_await weft::test::was_aborted(handle));  // the task ended by abort()
//   JoinHandle<void> other = weft::test::spawn_that_sets(other_ran);  // did a busy task let it run?
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <weft/runtime/errors.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/yield.hpp>

// Inside a coroutine test body (where ASSERT_* cannot return): records a failure and leaves the
// coroutine if `condition` does not hold.
#define CO_ASSERT_TRUE(condition)              \
    do {                                       \
        const bool holds_ = (condition);       \
        EXPECT_TRUE(holds_) << #condition;     \
        if (!holds_) co_return;                \
    } while (0)

namespace weft::test {

// The exception `task` ended with, if it is an E.
template <class E, class T>
Task<std::optional<E>> caught(Task<T> task) {
    try {
        co_await task;
    } catch (const E& e) {
        co_return e;
    }
    co_return std::nullopt;
}

// A key no other test (or runtime flavour) uses: the current test's full name plus `name`.
inline std::string key(std::string_view name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info->test_suite_name()) + "/" + info->name() + ":" + std::string(name);
}

// Lets every other runnable task on this worker run (and reach its wait). Exact on the
// single-threaded flavours; on more workers, a generous pause.
inline Task<void> settle() {
    for (int i = 0; i < 20; ++i) co_await weft::yield_now();
}

// Awaits a handle; true if the task was aborted (JoinError), false if it ran to completion. Any
// other exception the task ended with propagates.
template <class T>
Task<bool> was_aborted(JoinHandle<T>& h) {
    try {
        co_await h;
    } catch (const weft::JoinError&) {
        co_return true;
    }
    co_return false;
}

// Spawns a task that only sets `ran`: a task that never has to wait proves the cooperative budget
// made it yield by letting this one run. `ran` must outlive the task (await the handle).
inline JoinHandle<void> spawn_that_sets(std::atomic<bool>& ran) {
    return weft::spawn([](std::atomic<bool>& ran) -> Task<void> {
        ran = true;
        co_return;
    }(ran));
}

}  // namespace weft::test
