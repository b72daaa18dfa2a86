// Task<T>: weft's coroutine type.
#pragma once

#include "detail/language_check.hpp"

#include <coroutine>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/context.hpp"
#include "detail/foreign_awaiter.hpp"
#include "detail/task_cell.hpp"
#include "detail/task_output.hpp"

namespace weft {

template <class T = void>
class Task;

namespace detail {

template <class T>
class TaskPromiseBase {
public:
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            // Hand control back to the awaiting coroutine through the trampoline. A root task has
            // no continuation: the worker sees the frame done and completes the task.
            this_thread_context().next = h.promise().continuation_;
        }
        void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { result_.set_exception(std::current_exception()); }

    // Every co_await in a Task comes through here. weft's own awaitables (leaves, Tasks, join
    // handles, select/join/timeout...) pass through unchanged: a compile-time dispatch, no cost.
    template <class O>
        requires PassesThrough<O>
    PassThrough<O> await_transform(O&& operand) noexcept(noexcept(PassThrough<O>(std::forward<O>(operand)))) {
        return PassThrough<O>(std::forward<O>(operand));
    }
    // Anything else is adapted so that its resumption wakes the task instead of running it on the
    // foreign thread (ForeignAwaiter); std::suspend_always, which nothing would ever resume, is
    // refused.
    template <class O>
        requires(!PassesThrough<O>)
    ForeignAwaiter<O> await_transform(O&& operand) {
        static_assert(!std::is_same_v<std::remove_cvref_t<O>, std::suspend_always>,
                      "weft: co_await std::suspend_always in a weft::Task suspends it for ever (nothing "
                      "would wake it): use co_await weft::yield_now() to let other tasks run");
        return ForeignAwaiter<O>(std::forward<O>(operand));
    }

    // One allocation holds the frame and the room a spawn needs for the task's header.
    static void* operator new(std::size_t size) { return allocate_task_frame<T>(size); }
    static void operator delete(void* frame, std::size_t) noexcept { free_task_frame<T>(frame); }

    std::coroutine_handle<> continuation_;
    TaskOutput<T> result_;
};

template <class T>
class TaskPromise final : public TaskPromiseBase<T> {
public:
    Task<T> get_return_object() noexcept;
    template <class U = T>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) {
        this->result_.set_value(std::forward<U>(value));
    }
};

template <>
class TaskPromise<void> final : public TaskPromiseBase<void> {
public:
    Task<void> get_return_object() noexcept;
    void return_void() noexcept { result_.set_void(); }
};

}  // namespace weft::detail

/// A lazy coroutine producing a T (or void).
///
/// Nothing runs until the task is awaited (`co_await std::move(task)` or `co_await task`) or handed to
/// `spawn`/`block_on`. Awaiting runs it to completion on the awaiting task's worker and yields its
/// value, or rethrows its exception. A task can be awaited once; awaiting it again throws
/// std::logic_error. Move-only; destroying a task that never ran frees its frame and runs the
/// destructors of its parameters. Creating one (calling the coroutine) throws std::bad_alloc if
/// its frame cannot be allocated.
///
/// Tasks run inside weft's runtime: await them from another weft Task (a spawned task or the one
/// given to block_on). Inside a task, weft's awaitables are awaited as they are; an awaitable from
/// another library (one that resumes the handle it is given, from any thread) is adapted so that
/// its resumption wakes the task, which resumes on its worker (one allocation per such await; an
/// abort while it waits cannot cancel it: see detail/foreign_awaiter.hpp and the README); and
/// `co_await std::suspend_always` does not compile (use weft::yield_now()). To write an awaitable
/// that waits like weft's own, see leaf_awaitable.hpp. Awaiting a long chain of tasks that complete at once does not grow the stack,
/// in any build mode (see run_trampoline in worker.cpp).
///
/// Cancellation: an awaited task runs inside the awaiting task, so aborting that task (or a
/// timeout firing) destroys the child's frames where they wait; what is lost is whatever the
/// child's own pending operation loses.
template <class T>
class WEFT_MUST_AWAIT Task {
public:
    using promise_type = detail::TaskPromise<T>;  ///< The coroutine promise (internal).
    using value_type = T;                         ///< What awaiting the task yields.

    /// An empty task: valid() is false; awaiting or spawning it throws.
    Task() noexcept = default;
    /// Adopts the coroutine frame `h` (used by the promise).
    explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    /// Takes `other`'s frame, leaving it empty.
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    /// Destroys this task's frame, if any, and takes `other`'s.
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    /// Destroys the frame (and any frames it is awaiting), running destructors.
    ~Task() {
        if (handle_) handle_.destroy();
    }

    /// False for a moved-from or default-constructed task.
    bool valid() const noexcept { return static_cast<bool>(handle_); }

    /// What `co_await task` returns: runs the task inline in the awaiting task and yields its
    /// result. Await only inside a task run by a weft runtime.
    class WEFT_MUST_AWAIT Awaiter : public detail::NativeAwaiter {
    public:
        /// Refers to (does not own) the frame `h`.
        explicit Awaiter(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
        /// Always false: the task starts after the awaiter suspends.
        /// @throws std::logic_error if the task is empty or was already awaited.
        bool await_ready() const {
            if (!handle_) throw std::logic_error("weft: awaiting an empty Task (moved from?)");
            if (handle_.done()) throw std::logic_error("weft: a Task can only be awaited once");
            return false;
        }
        /// Hands the thread to the task; it resumes `awaiting` when done.
        void await_suspend(std::coroutine_handle<> awaiting) noexcept {
            handle_.promise().continuation_ = awaiting;
            detail::this_thread_context().next = handle_;  // the trampoline starts us next
        }
        /// The task's value, or rethrows the exception it ended with.
        T await_resume() { return handle_.promise().result_.take(); }

    private:
        std::coroutine_handle<promise_type> handle_;
    };

    /// `co_await task`: runs it; the Task keeps owning the frame.
    Awaiter operator co_await() & noexcept { return Awaiter{handle_}; }
    /// `co_await std::move(task)` or `co_await make_task()`: runs it.
    Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }

    /// The frame, still owned by this Task (used by combinators that run it inline).
    std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

    /// Gives up ownership of the frame (used by spawn).
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

private:
    std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>{std::coroutine_handle<TaskPromise<void>>::from_promise(*this)};
}

// A weft Task<T> (combinators take those by value and run them inline).
template <class O>
concept IsTask = requires { typename O::value_type; } && std::is_same_v<O, Task<typename O::value_type>>;
}  // namespace detail

}  // namespace weft
