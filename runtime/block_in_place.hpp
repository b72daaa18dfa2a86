// block_in_place: run blocking code on a worker thread without stalling the worker's other tasks
// (tokio::task::block_in_place).
#pragma once

#include "detail/language_check.hpp"

#include <functional>
#include <utility>

#include "detail/context.hpp"

namespace weft {

namespace detail {

// Around block_in_place's call: hands the worker's queued tasks to the others and makes the
// thread a plain one of its runtime (as a blocking-pool thread is) until the call returns.
class BlockInPlaceScope {
public:
    BlockInPlaceScope();  // worker.cpp
    ~BlockInPlaceScope();
    BlockInPlaceScope(const BlockInPlaceScope&) = delete;
    BlockInPlaceScope& operator=(const BlockInPlaceScope&) = delete;

private:
    ThreadContext saved_;
    bool active_ = false;
};

}  // namespace detail

/// Runs `fn()` on the current thread and returns its result (or lets its exception through), for
/// a task that must call blocking code without moving it to spawn_blocking (which needs what `fn`
/// uses to be movable and owned).
///
/// On a multi_thread runtime's worker: first the tasks queued on this worker (its LIFO slot, run
/// queue and yielded tasks) go to the injection queue and a parked worker is woken, so other
/// workers run them while `fn` blocks. During `fn` the thread is not a worker: Handle::block_on,
/// Handle::current() and weft::spawn work there as on a blocking-pool thread, and tasks it wakes
/// go to the injection queue. When `fn` returns, the task goes on from where it called this.
///
/// Differs from Tokio, which moves the worker's core to a new thread so the worker's slot keeps
/// running tasks: here the worker is busy for the length of `fn`, so with one worker the other
/// tasks (and timers and I/O, unless another thread serves them) wait until `fn` returns; and a
/// runtime shutdown waits for `fn` too. Prefer spawn_blocking for long calls.
///
/// Outside any runtime's worker (a plain thread, a blocking-pool thread) it just calls `fn`.
/// @throws std::logic_error inside a task of a current_thread runtime, which has no other thread
///   to run the rest (Tokio panics there too); `fn` is not called.
template <class F>
decltype(auto) block_in_place(F&& fn) {
    detail::BlockInPlaceScope scope;
    return std::invoke(std::forward<F>(fn));
}

}  // namespace weft
