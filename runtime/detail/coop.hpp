// Cooperative scheduling budget: how many operations a task may complete in one poll before
// operations that could finish at once yield instead, so a task that always finds data cannot
// starve the others on its worker.
#pragma once

#include <cstdint>

#include "context.hpp"
#include "inline.hpp"

namespace weft::detail::coop {

inline constexpr std::uint32_t kBudgetPerPoll = 128;

// The budget of a task inside weft::unconstrained: never spent in practice (Tokio's unconstrained
// budget is a None; a poll would need four billion operations to run this down).
inline constexpr std::uint32_t kUnconstrainedBudget = UINT32_MAX;

// Called by the worker before each poll.
inline void reset_budget(bool unconstrained = false) noexcept {
    this_thread_context().budget = unconstrained ? kUnconstrainedBudget : kBudgetPerPoll;
}

// Takes one unit of budget. Returns false when the budget is spent: the caller should complete
// its operation only after yielding (see `request_yield`). Outside a task there is no budget.
WEFT_INLINE bool try_consume() noexcept {
    ThreadContext& ctx = this_thread_context();
    if (ctx.task == nullptr) return true;
    if (ctx.budget == 0) return false;
    --ctx.budget;
    return true;
}

inline bool has_budget() noexcept {
    const ThreadContext& ctx = this_thread_context();
    return ctx.task == nullptr || ctx.budget > 0;
}

// Marks the current suspension as a yield: the worker puts the task at the back of its run queue
// instead of waiting for a wake. Call from `await_suspend` and then suspend. A spent budget yields
// this way (where another worker may steal it at once, as Tokio 1.24 does).
inline void request_yield() noexcept { this_thread_context().yield_requested = true; }

// Like request_yield, for yield_now: the task waits on the worker's deferred list until the
// driver was polled (Tokio's defer), so a task yielding in a loop lets timers and I/O through.
// Not for a spent budget: a deferred task cannot be stolen, and deferring every busy producer
// kept W1's fan-in cells from spreading (0.7 of the figure with a plain requeue).
inline void request_defer() noexcept {
    ThreadContext& ctx = this_thread_context();
    ctx.yield_requested = true;
    ctx.defer_requested = true;
}

}  // namespace weft::detail::coop
