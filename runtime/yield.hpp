// yield_now: let the other tasks on this worker run.
#pragma once

#include "detail/language_check.hpp"

#include <coroutine>

#include "detail/coop.hpp"
#include "detail/must_await.hpp"

namespace weft {

/// `co_await yield_now()` puts the current task at the back of its worker's run queue and resumes
/// it after the tasks already queued there had their turn. Also refills the cooperative budget.
///
/// Await only inside a task run by a weft runtime. Never throws. Cancellation-safe: it holds
/// nothing, so an abort while yielded loses nothing.
struct WEFT_MUST_AWAIT yield_now {
    /// A yield, to co_await.
    WEFT_MUST_AWAIT yield_now() noexcept {}  // user-provided: g++ warns on a discarded yield_now() only then
    /// Always false: yielding always suspends.
    bool await_ready() const noexcept { return false; }
    /// Asks the worker to requeue this task once it suspends.
    void await_suspend(std::coroutine_handle<>) const noexcept { detail::coop::request_yield(); }
    /// Nothing to return.
    void await_resume() const noexcept {}
};

}  // namespace weft
