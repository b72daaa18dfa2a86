// timeout: bound how long an operation may take (see weft::timeout).
#pragma once

#include "detail/language_check.hpp"

#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "detail/cancel_scope.hpp"
#include "detail/context.hpp"
#include "detail/leaf.hpp"
#include "detail/scheduler.hpp"
#include "detail/task_header.hpp"
#include "errors.hpp"
#include "task.hpp"
#include "time.hpp"

namespace weft {

/// The outcome of a timeout: a value, or timed out. Like std::optional<T>: `*r` and `r->` on a
/// timed-out result are undefined; value() checks.
template <class T>
class [[nodiscard]] TimeoutResult {
public:
    /// Timed out.
    TimeoutResult() = default;
    /// Completed with `value`.
    explicit TimeoutResult(T value) : value_(std::move(value)) {}

    /// True if the operation timed out.
    bool timed_out() const noexcept { return !value_.has_value(); }
    /// True if the operation completed.
    explicit operator bool() const noexcept { return value_.has_value(); }
    /// The value; undefined if timed out.
    T& operator*() & { return *value_; }
    /// The value; undefined if timed out.
    const T& operator*() const& { return *value_; }
    /// The value, moved out; undefined if timed out.
    T&& operator*() && { return std::move(*value_); }
    /// The value's members; undefined if timed out.
    T* operator->() { return &*value_; }
    /// The value's members; undefined if timed out.
    const T* operator->() const { return &*value_; }
    /// The value.
    /// @throws TimeoutError if the operation timed out.
    T& value() & {
        if (!value_) throw TimeoutError();
        return *value_;
    }
    /// The value, moved out.
    /// @throws TimeoutError if the operation timed out.
    T&& value() && {
        if (!value_) throw TimeoutError();
        return std::move(*value_);
    }

private:
    std::optional<T> value_;
};

/// The outcome of a timeout over an operation that yields nothing: completed, or timed out.
template <>
class [[nodiscard]] TimeoutResult<void> {
public:
    /// Timed out.
    TimeoutResult() = default;
    /// Completed if `completed`, else timed out.
    explicit TimeoutResult(bool completed) : completed_(completed) {}
    /// True if the operation timed out.
    bool timed_out() const noexcept { return !completed_; }
    /// True if the operation completed.
    explicit operator bool() const noexcept { return completed_; }
    /// Returns if the operation completed.
    /// @throws TimeoutError if it timed out.
    void value() const {
        if (!completed_) throw TimeoutError();
    }

private:
    bool completed_ = false;
};

namespace detail {

template <class A>
using await_result_t = decltype(std::declval<A&>().await_resume());

template <class R, class F>
TimeoutResult<R> completed_with(F&& resume) {
    if constexpr (std::is_void_v<R>) {
        resume();
        return TimeoutResult<void>(true);
    } else {
        return TimeoutResult<R>(resume());
    }
}

// timeout over a leaf awaitable: the leaf and a timer entry register the same task waker; each
// poll asks the leaf first, then the timer.
// `Held` is `Leaf&` for an awaiter the caller built (it lives in the co_await expression), or
// `Leaf` for one obtained from an awaitable's operator co_await (a JoinHandle's).
template <class Leaf, class Held = Leaf&>
class WEFT_MUST_AWAIT LeafTimeout final : public Pollable {
public:
    using Result = await_result_t<Leaf>;

    LeafTimeout(Held leaf, Clock::time_point deadline) noexcept : leaf_(std::forward<Held>(leaf)), timer_(deadline) {}

    bool await_ready() { return leaf_.await_ready() && (done_ = true); }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!timer_.arm()) {
            timed_out_ = true;
            return false;
        }
        if (!suspend_leaf(leaf_, h)) {
            done_ = true;
            return false;
        }
        set_pending_poll(this);  // in place of the leaf: we poll it
        return true;
    }
    bool poll_ready() noexcept override {
        if (static_cast<Pollable&>(leaf_).poll_ready()) return done_ = true;
        if (timer_.has_fired()) return timed_out_ = true;
        return false;
    }
    TimeoutResult<Result> await_resume() {
        timer_.cancel();
        if (!done_) return TimeoutResult<Result>();
        return completed_with<Result>([&]() -> decltype(auto) { return leaf_.await_resume(); });
    }

private:
    Held leaf_;
    Sleep timer_;
    bool done_ = false;
    bool timed_out_ = false;
};

// timeout over a Task<T>: runs the child inline inside a CancelScope that the timer triggers.
template <class T>
class WEFT_MUST_AWAIT TaskTimeout final : public CancelScope, public NativeAwaiter {
public:
    TaskTimeout(Task<T> child, Clock::time_point deadline) noexcept : child_(std::move(child)), timer_(deadline) {}
    TaskTimeout(const TaskTimeout&) = delete;
    ~TaskTimeout() {
        if (task_) task_->cancel_scopes().close(*this);
    }

    bool await_ready() const {
        if (!child_.valid()) throw std::logic_error("weft: timeout on an empty Task (moved from?)");
        return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
        ThreadContext& ctx = this_thread_context();
        if (!ctx.task) throw std::logic_error("weft: timeout must be awaited inside a task run by a weft runtime");
        expired_ = !timer_.arm();  // a deadline already past still lets the child try once
        task_ = ctx.task;
        awaiting = h;
        task_->cancel_scopes().open(*this);
        auto child = child_.handle();
        child.promise().continuation_ = h;
        ctx.next = child;  // the trampoline runs the child next, as for `co_await task`
    }
    TimeoutResult<T> await_resume() {
        task_->cancel_scopes().close(*this);
        timer_.cancel();
        if (timed_out_) return TimeoutResult<T>();
        return completed_with<T>([&]() -> decltype(auto) { return child_.handle().promise().result_.take(); });
    }

    bool is_triggered() const noexcept override { return expired_ || timer_.has_fired(); }
    void cancel_children() noexcept override {
        timed_out_ = true;
        child_ = Task<T>();  // destroys the child's frames where they wait
    }

private:
    Task<T> child_;
    Sleep timer_;
    TaskHeader* task_ = nullptr;
    bool expired_ = false;
    bool timed_out_ = false;
};

}  // namespace detail

/// Like timeout(), with an absolute deadline.
template <class Op>
auto timeout_at(Clock::time_point deadline, Op&& op) {
    using O = std::remove_cvref_t<Op>;
    if constexpr (detail::IsTask<O>) {
        static_assert(std::is_rvalue_reference_v<Op&&>, "weft::timeout takes a Task by value: std::move it in");
        return detail::TaskTimeout<typename O::value_type>(std::move(op), deadline);
    } else if constexpr (detail::LeafAwaitable<O>) {
        return detail::LeafTimeout<O>(op, deadline);
    } else if constexpr (detail::HasLeafAwaiter<O>) {
        using A = decltype(op.operator co_await());
        return detail::LeafTimeout<A, A>(op.operator co_await(), deadline);
    } else {
        static_assert(detail::LeafAwaitable<O>,
                      "weft::timeout works on a Task<T> or on a weft awaitable (channel, timer, JoinHandle, sync "
                      "operation); wrap anything else in a Task");
    }
}

/// `co_await timeout(d, op)`: op's result, or timed out after `d`.
///
///     auto r = co_await weft::timeout(100ms, rx.recv());       // a channel receive
///     if (r.timed_out()) ...; else if (*r) use(**r);
///     auto v = co_await weft::timeout(2s, fetch(url));          // a Task<T>
///     T t = std::move(v).value();                               // throws weft::TimeoutError
///
/// Yields TimeoutResult<T>: the operation's result, or "timed out". If the operation can complete
/// at once it does, even with a zero duration; the deadline is only checked while it waits.
///
/// The losing operation is cancelled cleanly, by destroying it where it waits:
/// - a leaf operation (a channel send or recv, a sleep, a JoinHandle, a lock...) is polled first
///   and the timer second, so a value that arrived together with the deadline is taken, and a
///   receive that lost loses no message (the value stays in the channel for the next recv); a
///   send that lost hands its value back by not sending it;
/// - a Task<T> (passed by value: std::move it in) runs inline in the awaiting task (no spawn, no
///   allocation beyond its frame); when the deadline passes, its frames are destroyed at their
///   suspension point, running destructors.
///
/// Cancellation-safe exactly as far as `op` is: abandoning the timeout (its task aborted, a select
/// another branch won) cancels `op` as above and takes the timer off the wheel.
///
/// Await it in the same expression that built it (`co_await weft::timeout(d, op)`): it refers to
/// `op`, which lives until the end of that expression. Await only inside a task run by a weft
/// runtime.
///
/// @throws std::logic_error if it has to wait outside a task run by a weft runtime (for a Task:
/// always outside one), or if the Task is empty.
/// @throws RuntimeShutdownError after the runtime shut down.
/// Rethrows what `op` throws; a timeout itself is not an exception (see TimeoutResult::value()).
template <class Rep, class Period, class Op>
auto timeout(std::chrono::duration<Rep, Period> d, Op&& op) {
    return timeout_at(Clock::now() + std::chrono::duration_cast<Clock::duration>(d), std::forward<Op>(op));
}

}  // namespace weft
