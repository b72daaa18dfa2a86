// yield_now: let the other tasks on this worker run.
#pragma once

#include "detail/language_check.hpp"

#include <coroutine>

#include "detail/coop.hpp"

namespace weft {

// `co_await yield_now()` puts the current task at the back of its worker's run queue and resumes
// it after the tasks already queued there had their turn. Also refills the cooperative budget.
struct yield_now {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) const noexcept { detail::coop::request_yield(); }
    void await_resume() const noexcept {}
};

}  // namespace weft
