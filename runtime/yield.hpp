// yield_now: let the other tasks on this worker run.
#pragma once

#include "detail/language_check.hpp"

#include <coroutine>

#include "detail/coop.hpp"
#include "detail/must_await.hpp"

namespace weft {

/// `co_await yield_now()` lets the other tasks on this worker run, and timers and I/O be served,
/// before the current task resumes: as Tokio's yield_now does (its defer list), the task is set
/// aside until the worker next polls the driver (at once when it has nothing else to run, else
/// within a few dozen polls), then goes to the back of the run queue, behind the tasks the driver
/// woke. So a task yielding in a loop sees a due timer fire, or a connection arrive, within a few
/// yields. Also refills the cooperative budget.
///
/// Await only inside a task run by a weft runtime. Never throws. Cancellation-safe: it holds
/// nothing, so an abort while yielded loses nothing.
struct WEFT_MUST_AWAIT yield_now : detail::NativeAwaiter {
    /// A yield, to co_await.
    WEFT_MUST_AWAIT yield_now() noexcept {}  // user-provided: g++ warns on a discarded yield_now() only then
    /// Always false: yielding always suspends.
    bool await_ready() const noexcept { return false; }
    /// Asks the worker to requeue this task once it suspends.
    void await_suspend(std::coroutine_handle<>) const noexcept { detail::coop::request_defer(); }
    /// Nothing to return.
    void await_resume() const noexcept {}
};

}  // namespace weft
