// Small coroutines the task-based suites share:
//   co_await weft::test::settle();                         // let the other runnable tasks run
//   EXPECT_TRUE(co_await weft::test::was_aborted(handle));  // the task ended by abort()
//   JoinHandle<void> other = weft::test::spawn_that_sets(other_ran);  // did a busy task let it run?
#pragma once

#include <atomic>

#include <weft/runtime/errors.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/yield.hpp>

namespace weft::test {

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
