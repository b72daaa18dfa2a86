// Per-thread scheduling context and the resumption trampoline.
#pragma once

#include <coroutine>
#include <cstdint>

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

protected:
    ~Pollable() = default;
};

// What the current thread is doing for the runtime. Trivially constructible so that reading it is a
// plain TLS access with no guard call.
struct ThreadContext {
    TaskHeader* task = nullptr;         // the spawned task being polled on this thread
    std::coroutine_handle<> next{};     // trampoline slot: the coroutine to resume next
    Worker* worker = nullptr;           // set on worker threads (and the block_on thread of a
                                        // current-thread runtime while it drives)
    Scheduler* scheduler = nullptr;     // the runtime `weft::spawn` uses on this thread
    std::uint32_t budget = 0;           // cooperative budget left in this poll
    bool yield_requested = false;       // the task suspended to yield, not to wait
    Pollable* pending = nullptr;        // set by a suspending leaf awaitable (see Pollable)
};

inline constinit thread_local ThreadContext tls_context{};

// Resumes `h` and every coroutine it hands control to, one after another, without nesting stack
// frames. `Task` never uses symmetric transfer: g++ does not turn it into a tail call at -O0 or under
// ASan, so a loop of `co_await ready_task()` would overflow the stack. Instead a suspending Task
// writes the coroutine to run next into `tls_context.next` and returns here.
//
// Returns the last coroutine resumed: when the slot is empty after a resume, that coroutine either
// suspended on a leaf awaitable (so it is where the task resumes next) or finished the root.
inline std::coroutine_handle<> run_trampoline(std::coroutine_handle<> h) {
    ThreadContext& ctx = tls_context;
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
inline void set_pending_poll(Pollable* p) noexcept { tls_context.pending = p; }

}  // namespace weft::detail
