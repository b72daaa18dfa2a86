// TaskTracker: counts tasks, and lets a task wait until the tracker is closed and every tracked
// task has ended (tokio_util::task::TaskTracker). For graceful shutdown: stop accepting, close the
// tracker, wait for the connections to finish.
//
// State: one word, `state_` = (tracked tasks << 1) | closed. A tracked task is counted from the
// moment it is wrapped (track()/spawn()) until its wrapper frame is destroyed: it finished, threw,
// was aborted, or its runtime shut down. wait() completes when the word reads exactly `closed`.
//
// Orders: the two changes that can make the word `closed` (close() finding no task; the last
// task leaving a closed tracker) are seq_cst RMWs followed by EventWaiters::wake_all, and the
// waiters read the word with seq_cst loads: the store-buffering pair EventWaiters documents.
// Every other change is a plain RMW whose order nothing depends on (relaxed would do; seq_cst is
// kept for uniformity: one RMW per task start and end).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/detail/waiter_list.hpp>

#include "detail/budgeted_wait.hpp"
#include "detail/event_waiters.hpp"

namespace weft {

namespace detail {

struct TaskTrackerState {
    static constexpr std::size_t kClosed = 1;
    static constexpr std::size_t kTask = 2;

    std::atomic<std::size_t> state{0};
    EventWaiters waiters;

    bool is_closed_and_empty() const noexcept { return state.load(std::memory_order_seq_cst) == kClosed; }
    void add_task() noexcept { state.fetch_add(kTask, std::memory_order_seq_cst); }
    void remove_task() noexcept {
        if (state.fetch_sub(kTask, std::memory_order_seq_cst) == (kTask | kClosed)) waiters.wake_all();
    }
};

}  // namespace detail

/// Counts one tracked task while it lives (TaskTracker::token()). Move-only.
class TaskTrackerToken {
public:
    /// Counts a task on `state`'s tracker (TaskTracker::token makes these).
    explicit TaskTrackerToken(std::shared_ptr<detail::TaskTrackerState> state) noexcept : state_(std::move(state)) {
        state_->add_task();
    }
    /// Takes over `other`'s count (`other` then counts nothing).
    TaskTrackerToken(TaskTrackerToken&&) noexcept = default;
    TaskTrackerToken& operator=(TaskTrackerToken&&) = delete;
    TaskTrackerToken(const TaskTrackerToken&) = delete;
    TaskTrackerToken& operator=(const TaskTrackerToken&) = delete;
    /// The task is done: the tracker counts one fewer, and wait() may complete.
    ~TaskTrackerToken() {
        if (state_) state_->remove_task();
    }

private:
    std::shared_ptr<detail::TaskTrackerState> state_;
};

/// Tracks tasks so that shutdown can wait for all of them.
///
/// @code
/// weft::TaskTracker tracker;
/// while (auto conn = co_await accept_or_shutdown()) tracker.spawn(serve(std::move(*conn)));
/// tracker.close();
/// co_await tracker.wait();   // every connection task has ended
/// @endcode
///
/// Semantics follow tokio_util's TaskTracker:
///  - spawn()/spawn_on() spawn a task wrapped by track(); track() wraps a Task so that it is
///    counted from now until it ends (completes, throws, is aborted or destroyed unrun).
///  - wait() completes once the tracker is closed and counts no task. It can complete, then the
///    tracker be reopened and wait again; a tracker that is never closed never completes wait().
///  - close() and reopen() only flip the flag: a closed tracker still tracks new tasks (closing
///    is how the owner says "no more are coming", it does not refuse them).
///
/// Copies share one tracker. Every member is safe from any thread; wait() is awaited inside a task
/// run by a weft runtime.
class TaskTracker {
public:
    class WEFT_MUST_AWAIT Wait;

    /// An open tracker with no tasks.
    /// @throws std::bad_alloc
    TaskTracker() : state_(std::make_shared<detail::TaskTrackerState>()) {}

    /// Closes the tracker; returns true if it was open. Wakes wait() if no task is tracked.
    bool close() noexcept {
        const std::size_t prev = state_->state.fetch_or(detail::TaskTrackerState::kClosed, std::memory_order_seq_cst);
        if (prev == 0) state_->waiters.wake_all();
        return (prev & detail::TaskTrackerState::kClosed) == 0;
    }
    /// Reopens the tracker; returns true if it was closed.
    bool reopen() noexcept {
        const std::size_t prev = state_->state.fetch_and(~detail::TaskTrackerState::kClosed, std::memory_order_seq_cst);
        return (prev & detail::TaskTrackerState::kClosed) != 0;
    }
    /// True if closed.
    bool is_closed() const noexcept {
        return state_->state.load(std::memory_order_seq_cst) & detail::TaskTrackerState::kClosed;
    }
    /// The number of tracked tasks alive.
    std::size_t len() const noexcept { return state_->state.load(std::memory_order_seq_cst) >> 1; }
    /// True if no tracked task is alive.
    bool is_empty() const noexcept { return len() == 0; }

    /// A token that counts as one tracked task until destroyed (Tokio's TaskTracker::token).
    TaskTrackerToken token() const noexcept { return TaskTrackerToken(state_); }

    /// Wraps `task` so that it is tracked from now until it ends (Tokio's track_future). The
    /// wrapper yields what `task` yields.
    /// @throws std::bad_alloc (the wrapper's frame); `task` is then destroyed, untracked.
    template <class T>
    Task<T> track(Task<T> task) const {
        return tracked(std::move(task), token());
    }

    /// Spawns track(task) on the current runtime; see weft::spawn.
    template <class T>
    JoinHandle<T> spawn(Task<T> task) const {
        return weft::spawn(track(std::move(task)));
    }
    /// Spawns track(task) on `runtime`; see Runtime::spawn.
    template <class T>
    JoinHandle<T> spawn_on(Runtime& runtime, Task<T> task) const {
        return runtime.spawn(track(std::move(task)));
    }

    /// `co_await tracker.wait()`: completes once the tracker is closed and no tracked task is
    /// alive (at once if that holds now). Suspends until then; yields nothing. A leaf awaitable
    /// (select and timeout accept it); abandoned, it leaves no waiter behind. The awaitable shares
    /// the tracker, so it may outlive `*this`.
    Wait wait() const noexcept;

private:
    template <class T>
    static Task<T> tracked(Task<T> task, TaskTrackerToken token) {
        (void)token;  // destroyed with the frame: when the task ends, or is destroyed unrun
        co_return co_await std::move(task);
    }

    std::shared_ptr<detail::TaskTrackerState> state_;
};

/// The awaitable TaskTracker::wait() returns. Not movable: it may sit in the waiter list. Spends one
/// unit of the task's cooperative budget like the channel waits.
class WEFT_MUST_AWAIT TaskTracker::Wait final : public detail::BudgetedWait<Wait> {
public:
    /// Made by TaskTracker::wait().
    explicit Wait(std::shared_ptr<detail::TaskTrackerState> state) noexcept : state_(std::move(state)) {}
    /// Leaves the wait list if still queued.
    ~Wait() { state_->waiters.remove(node_); }

    /// Yields nothing.
    void await_resume() noexcept { state_->waiters.remove(node_); }

private:
    friend detail::BudgetedWait<Wait>;

    bool try_now() const noexcept { return state_->is_closed_and_empty(); }
    // Returns true if the task must suspend; is_closed_and_empty is the seq_cst load EventWaiters needs.
    bool wait(const Waker& waker) {
        return state_->waiters.wait(node_, waker, [this] { return state_->is_closed_and_empty(); });
    }

    std::shared_ptr<detail::TaskTrackerState> state_;
    detail::Waiter node_;
};

inline TaskTracker::Wait TaskTracker::wait() const noexcept { return Wait(state_); }

}  // namespace weft
