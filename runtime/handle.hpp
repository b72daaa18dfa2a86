// Handle: a cloneable reference to a Runtime, for spawning onto it from anywhere (tokio::runtime::Handle).
#pragma once

#include "detail/language_check.hpp"

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "detail/scheduler.hpp"
#include "detail/spawn.hpp"
#include "detail/thread_waker.hpp"
#include "errors.hpp"
#include "join_handle.hpp"
#include "metrics.hpp"
#include "task.hpp"

namespace weft {

class Runtime;
class EnterGuard;

/// A reference to a Runtime's scheduler: spawn onto it, block_on it and enter it from any thread,
/// without owning the Runtime. Copies are cheap (a shared pointer) and may be used from any thread.
///
/// Lifetime: a Handle shares ownership of the scheduler's state, not of the Runtime. Once the
/// Runtime shut down (or was destroyed), the state stays valid for as long as a Handle refers to
/// it, and every operation on the Handle fails with RuntimeShutdownError; nothing reads freed
/// memory. (Tokio's Handle behaves the same: spawning after the runtime is dropped fails.)
class Handle {
public:
    /// The Handle of the runtime this thread works for: inside a task, a spawn_blocking function,
    /// a Runtime::block_on call, or while an EnterGuard lives on this thread.
    /// @throws std::logic_error on a thread that belongs to no runtime (Tokio panics there).
    /// @throws RuntimeShutdownError if that runtime's state is being destroyed.
    static Handle current();
    /// Like current(), but an empty optional instead of the std::logic_error.
    static std::optional<Handle> try_current() noexcept;

    /// Starts `task` on the runtime; see Runtime::spawn. From any thread.
    /// @throws RuntimeShutdownError once the runtime's shutdown has begun.
    /// @throws std::invalid_argument if `task` is empty.
    template <class T>
    JoinHandle<T> spawn(Task<T> task) const {
        return detail::spawn_on(*scheduler_, std::move(task));
    }

    /// Runs `fn()` on the runtime's blocking pool; see Runtime::spawn_blocking.
    /// @throws RuntimeShutdownError once the runtime's shutdown has begun.
    template <class F>
    auto spawn_blocking(F&& fn) const {
        return spawn(detail::run_blocking(*scheduler_, std::decay_t<F>(std::forward<F>(fn))));
    }

    /// Runs `task` to completion from an ordinary thread, with the same rules as
    /// Runtime::block_on (which calls this). Unlike Tokio's Handle::block_on, on a current_thread
    /// runtime this call drives the runtime's tasks, timers and I/O as Runtime::block_on does.
    /// @throws std::logic_error on a runtime worker thread (inside a task); use co_await there.
    /// @throws RuntimeShutdownError after shutdown (also once the Runtime was destroyed).
    /// @throws JoinError if the runtime shuts down (from another thread) before `task` finishes.
    /// @throws std::invalid_argument if `task` is empty.
    template <class T>
    T block_on(Task<T> task) const {
        detail::check_can_block(*scheduler_);
        // Whatever can fail comes before the spawn: once it runs, the task may refer to this
        // caller's stack, so block_on must not leave (by an exception) before the task completed.
        detail::ScopedThreadNotifier notifier;
        JoinHandle<T> handle = detail::spawn_on(*scheduler_, std::move(task));
        detail::block_on_wait(*scheduler_, handle.cell_, *notifier.operator->());
        return handle.take_output();
    }

    /// Makes this runtime the current one on the calling thread while the returned guard lives:
    /// weft::spawn, weft::spawn_blocking and Handle::current() then use it. Guards nest; destroying
    /// one restores the runtime that was current before it. Destroy guards on the thread that
    /// made them, in reverse order, and never keep one across a co_await.
    [[nodiscard("the runtime is entered only while the guard lives")]] EnterGuard enter() const;

    /// True once the runtime's shutdown has begun. From any thread.
    bool is_shut_down() const noexcept;
    /// A snapshot of the runtime's counters; see Runtime::metrics.
    RuntimeMetrics metrics() const;

    /// True if both refer to the same runtime.
    friend bool operator==(const Handle& a, const Handle& b) noexcept { return a.scheduler_ == b.scheduler_; }

private:
    friend class Runtime;
    friend class EnterGuard;
    explicit Handle(std::shared_ptr<detail::Scheduler> scheduler) noexcept : scheduler_(std::move(scheduler)) {}

    std::shared_ptr<detail::Scheduler> scheduler_;
};

/// Returned by Handle::enter: while it lives, its runtime is the current one on this thread.
/// Neither copyable nor movable: it belongs to the scope (and thread) that made it.
class EnterGuard {
public:
    /// Restores the runtime that was current when this guard was made.
    ~EnterGuard();
    EnterGuard(const EnterGuard&) = delete;
    EnterGuard& operator=(const EnterGuard&) = delete;

private:
    friend class Handle;
    explicit EnterGuard(Handle handle) noexcept;

    Handle handle_;  // keeps the scheduler alive while it is entered
    detail::Scheduler* previous_;
};

}  // namespace weft
