// The cooperative budget, under the task's control: consume_budget and unconstrained
// (tokio::task::consume_budget, tokio::task::unconstrained).
#pragma once

#include "detail/language_check.hpp"

#include <algorithm>
#include <coroutine>
#include <utility>

#include "detail/context.hpp"
#include "detail/coop.hpp"
#include "detail/must_await.hpp"
#include "detail/task_header.hpp"
#include "task.hpp"

namespace weft {

/// `co_await consume_budget()` spends one unit of the task's cooperative budget (the one channel
/// and timer operations spend) and, if none was left, yields to the worker first: the task goes
/// to the back of the run queue (stealable) and the poll after it starts with a fresh budget, of
/// which it spends the unit. Put one in a loop that does CPU work without awaiting anything that
/// could suspend, so it cannot keep the other tasks, timers and I/O of its worker waiting.
///
/// Outside a task (and inside unconstrained) there is no budget to spend: it never suspends.
/// Never throws. Cancellation-safe: it holds nothing.
class WEFT_MUST_AWAIT consume_budget : public detail::NativeAwaiter {
public:
    /// One unit of budget, to co_await.
    WEFT_MUST_AWAIT consume_budget() noexcept {}  // user-provided: g++ warns on a discarded one only then
    /// Spends the unit now if the budget has one.
    bool await_ready() noexcept { return detail::coop::try_consume(); }
    /// The budget is spent: yield, and spend the unit of the next poll's budget on resumption.
    void await_suspend(std::coroutine_handle<>) noexcept {
        yielded_ = true;
        detail::coop::request_yield();
    }
    /// Nothing to return.
    void await_resume() noexcept {
        if (yielded_) (void)detail::coop::try_consume();
    }

private:
    bool yielded_ = false;
};

namespace detail::coop {

// Lives in unconstrained's frame: marks the task so that every poll gets an unlimited budget while
// the section is open (the worker reads the mark before each poll), and lifts this poll's limit at
// once. Closing restores at most the budget the poll had before, so leaving the section does not
// hand out more than the task had.
class UnconstrainedSection {
public:
    UnconstrainedSection() noexcept : task_(this_thread_context().task) {
        if (!task_) return;
        ThreadContext& ctx = this_thread_context();
        ++task_->unconstrained_depth;
        saved_budget_ = ctx.budget;
        ctx.budget = kUnconstrainedBudget;
    }
    ~UnconstrainedSection() {
        if (!task_) return;
        --task_->unconstrained_depth;
        // Destroyed by an abort or shutdown, the task is not being polled: nothing to restore.
        ThreadContext& ctx = this_thread_context();
        if (ctx.task == task_ && task_->unconstrained_depth == 0) ctx.budget = std::min(saved_budget_, kBudgetPerPoll);
    }
    UnconstrainedSection(const UnconstrainedSection&) = delete;
    UnconstrainedSection& operator=(const UnconstrainedSection&) = delete;

private:
    TaskHeader* task_;
    std::uint32_t saved_budget_ = 0;
};

}  // namespace detail::coop

/// Runs `task` with the cooperative budget disabled, as tokio::task::unconstrained: inside it no
/// operation ever yields because the budget ran out (a channel that always has data, a ready
/// consume_budget), only when it truly has to wait. Use it sparingly: a loop that always finds
/// work then starves every other task, timer and I/O event of its worker until it ends (on a
/// current_thread runtime, the whole runtime). The returned Task is lazy like any other: the
/// budget is lifted from its start to its end, for the task it runs in.
/// @throws std::logic_error (from inside, once it runs) if `task` is empty.
template <class T>
Task<T> unconstrained(Task<T> task) {
    detail::coop::UnconstrainedSection section;
    co_return co_await std::move(task);
}

}  // namespace weft
