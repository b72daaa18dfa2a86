// The two runtime functions an awaiter built on BudgetedWait (channels/detail/budgeted_wait.hpp)
// links against, for a model that links no runtime. A model's thread is never inside a task (so
// await_ready spends no budget: this_thread_context().task stays null) and never suspends through
// await_suspend (it calls the awaiter's wait() with its own waker), so current_task_waker is never
// called. Not inline: include this in the model's one source file only.
#pragma once

#include "relacy_sync.hpp"

#include <exception>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/scheduler.hpp>

namespace weft::detail {

ThreadContext& this_thread_context() noexcept {
    static ThreadContext context;  // Relacy runs every model thread on one system thread
    return context;
}

Waker current_task_waker() { std::terminate(); }

}  // namespace weft::detail
