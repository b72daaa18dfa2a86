// Mutex<T>: an asynchronous mutual-exclusion lock around a value. What it does is documented on
// the class (below).
//
// Lock-free: lock() and try_lock() when the mutex is free and nobody waits, and unlocking with
// nobody waiting (one CAS each; no mutex, no system call). A task that has to wait, and an unlock
// that hands over to a waiter, take the semaphore's short SpinLock (see semaphore.hpp).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <coroutine>
#include <optional>
#include <utility>

#include "semaphore.hpp"
#include <weft/runtime/detail/context.hpp>

namespace weft {

template <class T>
class Mutex;

/// Holds a Mutex locked and gives access to its value; unlocks when destroyed. Move-only. May be
/// held across suspension points and moved between tasks and threads.
template <class T>
class [[nodiscard]] MutexGuard {
public:
    /// Takes over `other`'s lock; `other` no longer unlocks.
    MutexGuard(MutexGuard&&) noexcept = default;
    /// Unlocks what this guard held, then takes over `other`'s lock.
    MutexGuard& operator=(MutexGuard&&) noexcept = default;

    /// The guarded value (undefined on a moved-from guard).
    T& operator*() const noexcept { return *value_; }
    /// The guarded value's members (undefined on a moved-from guard).
    T* operator->() const noexcept { return value_; }
    /// The guarded value (undefined on a moved-from guard).
    T& get() const noexcept { return *value_; }

private:
    friend class Mutex<T>;
    MutexGuard(SemaphorePermit permit, T* value) noexcept : permit_(std::move(permit)), value_(value) {}

    SemaphorePermit permit_;  // its destructor is the unlock
    T* value_;
};

/// An asynchronous mutual-exclusion lock around a value: waiting for it suspends the task, not
/// the thread.
///
/// @code
/// weft::Mutex<Client> client(connect());
/// {
///     auto guard = co_await client.lock();   // MutexGuard<Client>
///     co_await guard->send(request);         // the guard may be held across suspension points
/// }                                          // unlocked here
/// @endcode
///
/// Built on Semaphore(1), so it inherits its properties: tasks get the lock strictly in the order
/// they started waiting (an unlock hands the lock straight to the head of the line; a newcomer
/// cannot barge in), and a cancelled lock() (its task aborted, a timeout or select lost) leaves the
/// line, and passes the lock on if it had just been handed it.
///
/// When to use it rather than std::mutex: when the lock must be held across a co_await. For a
/// short critical section with no suspension inside, std::mutex is cheaper (see bench/sync_bench).
/// Prefer an actor (a task owning the value, fed by an mpsc channel) for state many tasks hammer.
///
/// Threads: shared by reference; lock() is awaited inside a task run by a weft runtime, try_lock()
/// and is_locked() work from any thread. Misuse: locking twice from the same task without unlocking
/// deadlocks that task (the lock is not re-entrant). Destroying the Mutex while it is locked or
/// waited on is undefined.
template <class T>
class Mutex {
public:
    /// Constructs the value in place from `args` (throws what that constructor throws).
    template <class... Args>
    explicit Mutex(Args&&... args) : value_(std::forward<Args>(args)...) {}
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;

    /// The awaitable lock() returns. Not movable: it may sit in the line.
    ///
    /// A leaf awaitable wrapping a Semaphore::AcquireAwaiter (the worker, or select() and
    /// timeout(), poll the acquire through it), so `co_await weft::timeout(d, m.lock())` yields a
    /// TimeoutResult holding the guard, or timed out, and select() takes it as a branch. Destroyed
    /// before handing out its guard (its task aborted, a timeout or select lost), it leaves the
    /// line, and passes the lock on if it had just been handed it: no waiter stays behind and no
    /// unlock is lost.
    class WEFT_MUST_AWAIT LockAwaiter final : public detail::Pollable {
    public:
        /// Made by Mutex::lock().
        explicit LockAwaiter(Mutex* m) : acquire_(m->sem_.acquire(1)), mutex_(m) {}
        /// Spends one unit of the task's cooperative budget (so a loop that always finds the lock
        /// free still lets other tasks run) and takes the lock if it is free and nobody waits.
        bool await_ready() noexcept { return acquire_.await_ready(); }
        /// Joins the line (or yields, with the budget spent); false (do not suspend) if the lock
        /// came meanwhile.
        /// @throws std::logic_error outside a task run by a weft runtime.
        bool await_suspend(std::coroutine_handle<> h) {
            if (!acquire_.await_suspend(h)) return false;
            detail::set_pending_poll(this);  // in place of the acquire's own registration: we poll it
            return true;
        }
        /// Called by the worker (or by select/timeout) after a wake: true once the lock is held.
        bool poll_ready() noexcept override { return static_cast<detail::Pollable&>(acquire_).poll_ready(); }
        /// The guard; the lock is now held.
        MutexGuard<T> await_resume() noexcept {
            // The semaphore is never closed, so the acquire always yields a permit.
            AcquireResult r = acquire_.await_resume();
            return MutexGuard<T>(std::move(*r), &mutex_->value_);
        }

    private:
        Semaphore::AcquireAwaiter acquire_;  // the leaf awaitable (the worker polls it)
        Mutex* mutex_;
    };

    /// `co_await m.lock()`: waits for the lock (FIFO with other waiters) and yields a guard.
    /// Suspends only when the mutex is held or others wait (or to yield, when the task's
    /// cooperative budget is spent). Never fails.
    ///
    /// Cancellation-safe: a pending lock() destroyed (its task aborted, a timeout or select lost)
    /// leaves the line, and passes the lock on if it had just been handed it. A leaf awaitable:
    /// `co_await weft::timeout(d, m.lock())` and `weft::select(m.lock(), ...)` work. Await inside a
    /// task run by a weft runtime.
    LockAwaiter lock() { return LockAwaiter(this); }

    /// The lock now if it is free and nobody is waiting for it; otherwise empty. Never suspends;
    /// from any thread.
    std::optional<MutexGuard<T>> try_lock() {
        AcquireResult r = sem_.try_acquire(1);
        if (!r) return std::nullopt;
        return MutexGuard<T>(r.take(), &value_);
    }

    /// True while the lock is held, or being handed to a waiter (a snapshot: it may change right
    /// after). From any thread.
    bool is_locked() const noexcept { return sem_.available_permits() == 0; }

private:
    Semaphore sem_{1};
    T value_;
};

}  // namespace weft
