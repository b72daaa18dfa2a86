// ForeignAwaiter: how a Task awaits an awaitable that is not weft's (another library's, or one
// resumed from a plain thread).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "context.hpp"
#include "inline.hpp"
#include "leaf.hpp"
#include "scheduler.hpp"

namespace weft::detail {

// A foreign awaiter resumes the coroutine handle it is given, on whatever thread completes its
// operation. A weft task must not run there: a worker resumes a task only when its Waker fires.
// So the adapter hands the foreign awaiter the handle of a trampoline instead: a tiny coroutine
// whose only job, when resumed from any thread, is to mark the operation done and wake the task.
// The task then resumes on its worker and calls the foreign await_resume there.
//
// Layout: the trampoline's frame is the shared block: its promise (ForeignWait) holds the state,
// the task's Waker, two references and the foreign operation itself (the awaitable, moved in when
// it was a temporary, and its awaiter). The adapter, in the task's frame, holds one reference;
// the trampoline handle, out with the foreign library, the other. The last one to let go destroys
// the frame.
//
// States (ForeignWait::state):
//   kSuspending  the adapter is inside the foreign await_suspend;
//   kWaiting     the task is suspended and waits for the trampoline;
//   kResumed     the trampoline ran: the operation is done;
//   kAbandoned   the task was aborted, timed out or shut down while waiting.
// The trampoline moves kSuspending or kWaiting to kResumed, waking the task only from kWaiting
// (resumed inside await_suspend, on this or another thread, the adapter sees it when await_suspend
// returns and does not suspend at all). The adapter moves kSuspending to kWaiting after the foreign
// await_suspend returned, and kWaiting to kAbandoned when the task gives up. Each of these is one
// CAS, so a resumption racing a suspension or an abort is seen by exactly one side.
//
// Cancellation: weft cannot cancel a foreign operation. When a waiting task's frame is destroyed
// the adapter marks the wait abandoned and drops its reference; the foreign operation and its
// awaiter stay alive in the block until the foreign library resumes the trampoline, which then
// does nothing but free the block (on that thread). What the operation refers to outside the
// block (an lvalue awaitable, a buffer in the task's frame) is gone: that needs the foreign
// library's own cancellation. A foreign library that never resumes the handle leaks the block
// (and the task waits until aborted); one that destroys the handle instead of resuming it is not
// supported (it would have destroyed the task's own frame without the adapter).
//
// await_suspend returning another coroutine's handle: that coroutine is resumed inline, on the
// worker, inside the adapter's await_suspend (weft's trampoline slot cannot take it: the worker
// would take it for the task's resume point).
//
// Costs: one allocation per await (the block), even when await_ready is true; weft's own
// awaitables never come here (TaskPromiseBase::await_transform dispatches at compile time).

enum ForeignState : std::uint8_t { kSuspending, kWaiting, kResumed, kAbandoned };

// The part of the trampoline's promise that does not depend on the foreign type.
class ForeignWait {
public:
    std::atomic<std::uint8_t> state{kSuspending};
    std::atomic<std::uint8_t> refs{2};  // the adapter's and the trampoline handle's
    Waker waker;                        // written before the handle is handed out

    // The trampoline was resumed (on any thread): the foreign operation completed.
    void on_resumed() noexcept {
        std::uint8_t s = state.load(std::memory_order_relaxed);
        while (s != kAbandoned) {
            // release: publishes what the foreign operation wrote into its awaiter to the
            // adapter's acquire load (poll_ready, or the CAS after await_suspend).
            if (state.compare_exchange_weak(s, kResumed, std::memory_order_acq_rel, std::memory_order_relaxed)) {
                if (s == kWaiting) waker.wake_by_ref();
                return;
            }
        }
    }

    // Drops one reference; true if it was the last (the caller destroys the frame).
    bool release() noexcept { return refs.fetch_sub(1, std::memory_order_acq_rel) == 1; }
};

// The awaiter of `x` as the compiler would get it: its operator co_await (member or free) if it
// has one, else `x` itself.
template <class X>
decltype(auto) foreign_awaiter_of(X&& x) {
    if constexpr (requires { std::forward<X>(x).operator co_await(); }) {
        return std::forward<X>(x).operator co_await();
    } else if constexpr (requires { operator co_await(std::forward<X>(x)); }) {
        return operator co_await(std::forward<X>(x));
    } else {
        return std::forward<X>(x);
    }
}

// The foreign operation, kept in the block: the awaitable (owned when it was a movable temporary,
// else referred to) and its awaiter (the awaitable itself when it has no operator co_await).
template <class O>
class ForeignOperation {
    using Value = std::remove_cvref_t<O>;
    static constexpr bool kOwns = !std::is_lvalue_reference_v<O> && std::is_move_constructible_v<Value>;
    using Held = std::conditional_t<kOwns, Value, O&&>;
    using AwaiterOf = decltype(foreign_awaiter_of(std::declval<O&&>()));
    // A reference (the operand itself, or what its operator co_await refers to) is kept as a
    // pointer; an awaiter made by operator co_await is kept by value, built in place.
    static constexpr bool kRefers = std::is_reference_v<AwaiterOf>;
    using Awaiter = std::conditional_t<kRefers, std::remove_reference_t<AwaiterOf>*, AwaiterOf>;

    static Awaiter make_awaiter(Held& operand) {
        if constexpr (kRefers) {
            auto&& a = foreign_awaiter_of(static_cast<O&&>(operand));
            return std::addressof(a);
        } else {
            return foreign_awaiter_of(static_cast<O&&>(operand));
        }
    }

public:
    explicit ForeignOperation(O&& operand) : operand_(std::forward<O>(operand)), awaiter_(make_awaiter(operand_)) {}
    ForeignOperation(const ForeignOperation&) = delete;
    ForeignOperation& operator=(const ForeignOperation&) = delete;

    std::remove_reference_t<AwaiterOf>& awaiter() noexcept {
        if constexpr (kRefers) {
            return *awaiter_;
        } else {
            return awaiter_;
        }
    }

private:
    Held operand_;
    Awaiter awaiter_;
};

// The trampoline coroutine: suspended at its start until the foreign library resumes it; then
// on_resumed(), and its final suspend drops the handle's reference.
template <class Operation>
struct ForeignTrampoline {
    struct promise_type : ForeignWait {
        std::optional<Operation> operation;

        ForeignTrampoline get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct Release {
            bool await_ready() noexcept { return false; }
            void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                if (h.promise().release()) h.destroy();
            }
            void await_resume() noexcept {}
        };
        Release final_suspend() noexcept { return {}; }
        void return_void() noexcept { on_resumed(); }
        void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<promise_type> handle;
};

template <class Operation>
ForeignTrampoline<Operation> foreign_trampoline() {
    co_return;
}

// What `co_await foreign` becomes in a Task (see the essay above). A Pollable leaf: the worker
// (or select/join driving a child) polls it when the task is woken.
template <class O>
class ForeignAwaiter final : public Pollable {
    using Operation = ForeignOperation<O>;
    using Promise = typename ForeignTrampoline<Operation>::promise_type;

public:
    // Throws std::bad_alloc, or what moving the awaitable or its operator co_await throws.
    explicit ForeignAwaiter(O&& operand) : trampoline_(foreign_trampoline<Operation>().handle) {
        try {
            promise().operation.emplace(std::forward<O>(operand));
        } catch (...) {
            trampoline_.destroy();
            throw;
        }
    }
    ForeignAwaiter(const ForeignAwaiter&) = delete;
    ForeignAwaiter& operator=(const ForeignAwaiter&) = delete;

    ~ForeignAwaiter() {
        Promise& p = promise();
        if (handed_out_) {
            std::uint8_t waiting = kWaiting;
            // acquire on failure: a kResumed seen here makes the operation's writes visible
            // before its awaiter is destroyed below.
            if (p.state.compare_exchange_strong(waiting, kAbandoned, std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
                p.waker.reset();  // the trampoline will not touch it any more
                release();        // the operation stays, for the trampoline to free
                return;
            }
        } else if (holds_handle_ref_) {
            (void)p.release();  // never handed out: the handle's reference is ours to drop
        }
        if (waiting_state() != kAbandoned) p.operation.reset();
        release();
    }

    bool await_ready() { return awaiter().await_ready(); }

    // Hands the foreign awaiter the trampoline; suspends unless the operation completed on the
    // spot (await_suspend returned false or the trampoline's own handle, or the trampoline ran
    // before it returned). Throws what the foreign await_suspend throws, or std::logic_error
    // outside a task run by a weft runtime.
    bool await_suspend(std::coroutine_handle<>) {
        Promise& p = promise();
        p.waker = current_task_waker();
        const std::coroutine_handle<> trampoline = trampoline_;
        using Suspend = decltype(awaiter().await_suspend(trampoline));
        handed_out_ = true;
        holds_handle_ref_ = false;
        try {
            if constexpr (std::is_void_v<Suspend>) {
                awaiter().await_suspend(trampoline);
            } else if constexpr (std::is_same_v<Suspend, bool>) {
                if (!awaiter().await_suspend(trampoline)) return take_back();
            } else {
                static_assert(std::is_convertible_v<Suspend, std::coroutine_handle<>>,
                              "weft: a foreign await_suspend must return void, bool or a coroutine_handle");
                const std::coroutine_handle<> next = awaiter().await_suspend(trampoline);
                if (next == trampoline) return take_back();  // "resume me now": done
                next.resume();  // the foreign library's next coroutine, run here as it asked
            }
        } catch (...) {
            (void)take_back();
            throw;
        }
        std::uint8_t suspending = kSuspending;
        // release: pairs with on_resumed's CAS, which then reads the waker; acquire on failure:
        // the trampoline already ran, and what the operation wrote is visible to await_resume.
        if (!p.state.compare_exchange_strong(suspending, kWaiting, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
            return false;
        set_pending_poll(this);
        return true;
    }

    decltype(auto) await_resume() { return awaiter().await_resume(); }

    // acquire: pairs with on_resumed's release.
    bool poll_ready() noexcept override { return waiting_state() == kResumed; }

    // The task is being aborted: abandon the wait, or, if the operation completed meanwhile,
    // resume once more so the code after the co_await sees its result.
    bool settle_for_abort() noexcept override {
        std::uint8_t waiting = kWaiting;
        if (promise().state.compare_exchange_strong(waiting, kAbandoned, std::memory_order_acq_rel,
                                                    std::memory_order_acquire)) {
            promise().waker.reset();
            return false;
        }
        return true;
    }

private:
    Promise& promise() noexcept { return trampoline_.promise(); }
    auto& awaiter() noexcept { return promise().operation->awaiter(); }
    std::uint8_t waiting_state() noexcept { return promise().state.load(std::memory_order_acquire); }

    // The foreign side declined the handle (or failed): it will never resume it.
    bool take_back() noexcept {
        handed_out_ = false;
        (void)promise().release();
        return false;
    }
    void release() noexcept {
        if (promise().release()) trampoline_.destroy();
    }

    std::coroutine_handle<Promise> trampoline_;
    bool handed_out_ = false;       // the foreign side holds the trampoline's handle
    bool holds_handle_ref_ = true;  // it was never handed out: we drop the handle's reference
};

// What a Task's promise lets through unchanged: weft's awaitables, and std::suspend_never.
template <class O>
concept PassesThrough = WeftAwaitable<O> || std::is_same_v<std::remove_cvref_t<O>, std::suspend_never>;

// How await_transform lets a weft awaiter through: a reference to it (or the awaiter its
// operator co_await returns, built in place), forwarding the three calls, all inlined. Not the
// operand's own reference: g++ 12 copies an awaitable that await_transform returns by reference
// into the frame, and most weft awaiters cannot be copied; a prvalue it keeps in place.
template <class O>
class PassThrough {
    static constexpr bool kHasOperator = requires(O&& o) { std::forward<O>(o).operator co_await(); };
    using Awaiter = std::conditional_t<kHasOperator, decltype(foreign_awaiter_of(std::declval<O&&>())),
                                       std::remove_reference_t<O>*>;

public:
    explicit PassThrough(O&& operand) noexcept(!kHasOperator || noexcept(foreign_awaiter_of(std::declval<O&&>())))
        : awaiter_(make(std::forward<O>(operand))) {}

    WEFT_INLINE decltype(auto) await_ready() noexcept(noexcept(std::declval<PassThrough&>().awaiter().await_ready())) {
        return awaiter().await_ready();
    }
    template <class Promise>
    WEFT_INLINE decltype(auto) await_suspend(std::coroutine_handle<Promise> h) noexcept(
        noexcept(std::declval<PassThrough&>().awaiter().await_suspend(h))) {
        return awaiter().await_suspend(h);
    }
    WEFT_INLINE decltype(auto) await_resume() noexcept(noexcept(std::declval<PassThrough&>().awaiter().await_resume())) {
        return awaiter().await_resume();
    }

private:
    static Awaiter make(O&& operand) {
        if constexpr (kHasOperator) {
            return std::forward<O>(operand).operator co_await();
        } else {
            return std::addressof(operand);
        }
    }
    auto& awaiter() noexcept {
        if constexpr (kHasOperator) {
            return awaiter_;
        } else {
            return *awaiter_;
        }
    }

    Awaiter awaiter_;
};

}  // namespace weft::detail
