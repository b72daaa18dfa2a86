// Per-thread scheduling context and the resumption trampoline.
#pragma once

#include <coroutine>
#include <cstdint>

#include "must_await.hpp"

namespace weft::detail {

class TaskHeader;
class Scheduler;
class Worker;

// A leaf awaitable that must check its condition before its coroutine is resumed. Wakes can be
// spurious (a waker from an earlier, cancelled wait may still fire), and a resumed coroutine goes
// straight to await_resume, so such an awaitable registers itself with `set_pending_poll` when it
// suspends. The worker then calls poll_ready() before resuming: true resumes the coroutine; false
// keeps the task waiting (poll_ready re-registered its waker, or requested a yield).
class Pollable {
public:
    virtual bool poll_ready() noexcept = 0;

    // The task was aborted while suspended here. Withdraws the wait and returns false; or returns
    // true if the operation completed meanwhile and cannot be undone (an mpsc send whose value was
    // handed over directly): then the worker resumes the task once more, so the code after the
    // co_await sees the result, as if the abort had come just after it, and the abort takes
    // effect at the task's next suspension.
    virtual bool settle_for_abort() noexcept { return false; }

protected:
    ~Pollable() = default;
};

// Marks a weft awaiter that is not a Pollable leaf but still follows weft's protocol: it never
// resumes the handle it is given (the worker resumes the task, or the trampoline runs the next
// coroutine). Task's awaiter, yield_now, consume_budget, timeout over a Task. Task's promise lets
// these and Pollable leaves through unchanged and adapts anything else (detail/foreign_awaiter.hpp).
struct NativeAwaiter {};

// What the current thread is doing for the runtime. Trivially constructible so that reading it is a
// plain TLS access with no guard call.
struct ThreadContext {
    TaskHeader* task = nullptr;         // the spawned task being polled on this thread
    std::coroutine_handle<> next{};     // trampoline slot: the coroutine to resume next
    Worker* worker = nullptr;           // set on worker threads (and the block_on thread of a
                                        // current-thread runtime while it drives)
    Scheduler* scheduler = nullptr;     // the runtime this thread works for (a worker, a blocking
                                        // thread, block_on's caller while it drives)
    Scheduler* entered = nullptr;       // set by Handle::enter: `weft::spawn` uses it over `scheduler`
    std::uint32_t budget = 0;           // cooperative budget left in this poll
    bool yield_requested = false;       // the task suspended to yield, not to wait
    bool defer_requested = false;       // ...by yield_now: set aside until the driver was polled
    Pollable* pending = nullptr;        // set by a suspending leaf awaitable (see Pollable)
    std::uint32_t inline_children = 0;  // children of select/join being driven (InlineChild): a
                                        // wait in one may be abandoned (it lost, or try_join
                                        // failed), so none may complete irrevocably (mpsc's
                                        // direct hand-off checks this)
};

// This thread's context. Deliberately out of line: a coroutine body is one function across its
// suspension points, and compilers may compute a thread_local's address once and reuse it after
// the coroutine resumed on another thread (seen with clang under TSan: a producer wrote its
// trampoline slot into another worker's context). A call to an opaque function cannot be cached
// that way, so every use that may be inlined into a coroutine goes through this.
ThreadContext& this_thread_context() noexcept;

// Resumes `h`, then whatever coroutine each resume leaves in ctx.next (the trampoline: a Task
// that suspends to run another writes it there and returns, so chains of ready tasks do not grow
// the stack). Returns the last coroutine resumed: with the slot empty after it, that coroutine
// either suspended on a leaf awaitable (where the task resumes next) or finished the root. The
// worker drives tasks with it, and select/join their inline children (InlineChild).
inline std::coroutine_handle<> run_trampoline(ThreadContext& ctx, std::coroutine_handle<> h) {
    std::coroutine_handle<> last;
    do {
        last = h;
        ctx.next = {};
        h.resume();
        h = ctx.next;
    } while (h);
    return last;
}

// Call from await_suspend right before returning "suspend": the worker polls `p` before resuming.
inline void set_pending_poll(Pollable* p) noexcept { this_thread_context().pending = p; }

// The pending poll of a combinator (select, join) that starts several leaves in one
// await_suspend. Build it before the first leaf starts; suspend_on(this) names the combinator in
// place of the leaves. If await_suspend ends any other way (a later leaf completed as it started,
// or threw), the leaves that waited named themselves and die with the combinator, so the guard
// clears the slot: the worker clears it only when a poll begins, and a later suspension in the
// same poll that names no leaf (yield_now) would hand it a destroyed leaf to poll before resuming
// the task (a write sent twice, a read whose bytes are lost, or a task that never resumes).
class CombinatorPendingPoll {
public:
    CombinatorPendingPoll() noexcept = default;
    CombinatorPendingPoll(const CombinatorPendingPoll&) = delete;
    CombinatorPendingPoll& operator=(const CombinatorPendingPoll&) = delete;
    ~CombinatorPendingPoll() {
        if (!suspending_) this_thread_context().pending = nullptr;
    }
    void suspend_on(Pollable* combinator) noexcept {
        set_pending_poll(combinator);
        suspending_ = true;
    }

private:
    bool suspending_ = false;
};

}  // namespace weft::detail
