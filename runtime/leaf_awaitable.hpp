// Writing your own leaf awaitable: the protocol weft's own awaitables (sleep, channel receives,
// socket reads) follow, for events weft does not know about.
#pragma once

#include "detail/language_check.hpp"

#include "detail/context.hpp"
#include "detail/must_await.hpp"
#include "detail/scheduler.hpp"
#include "waker.hpp"

namespace weft {

/// The base class of a leaf awaitable: an awaiter that waits for something outside weft (a flag
/// set by another thread, a callback from another library) the way weft's own do. A Task awaits it
/// directly, without the adapter other awaitables get (see Task), and `select` and `timeout` accept
/// it as an operand.
///
/// A task is only ever resumed by its worker, after its Waker fired; a leaf never resumes the
/// coroutine handle it is given. The protocol:
/// - `bool await_ready()`: true if the event already happened (then nothing suspends).
/// - `bool await_suspend(std::coroutine_handle<>)`: ignore the handle. Hand `current_waker()` to
///   whatever signals the event (it calls `wake()` from any thread, any number of times), check
///   the condition again (an event between await_ready and the registration would otherwise be
///   missed) and return false if it is met; else call `set_pending_poll(*this)` and return true.
/// - `bool poll_ready() noexcept` (override): called on the worker before the task resumes, after
///   any wake. Wakes can be spurious (a select's other branch, a wake left over from an earlier
///   wait): return true only if the event happened; false keeps the task waiting (re-register the
///   waker first if the source keeps it for one wake only).
/// - `await_resume()`: the result, read on the worker.
/// - The destructor withdraws the registration: an abort, a timeout or a select's other branch
///   destroys the awaiter while it waits, and the source must not wake or write into it after.
/// - `bool settle_for_abort() noexcept` (optional override): the task is aborted while waiting
///   here; return false after withdrawing the wait (the default), or true if the operation already
///   completed and cannot be undone: the task then resumes once more to see the result.
/// Mark the class WEFT_MUST_AWAIT (or [[nodiscard]]) so that a forgotten co_await warns.
/// examples/custom_awaitable.cpp is a complete one.
using Pollable = detail::Pollable;

/// The Waker of the task being polled on this thread: call it from a leaf's await_suspend.
/// @throws std::logic_error outside a task run by a weft runtime.
inline Waker current_waker() { return detail::current_task_waker(); }

/// Tells the worker to call `leaf.poll_ready()` before it resumes the task: call it from
/// await_suspend right before returning true.
inline void set_pending_poll(Pollable& leaf) noexcept { detail::set_pending_poll(&leaf); }

}  // namespace weft
