// Mutex<T>: an asynchronous mutual-exclusion lock around a value; waiting for it suspends the task,
// not the thread.
//
//   weft::Mutex<Client> client(connect());
//   {
//       auto guard = co_await client.lock();   // MutexGuard<Client>
//       co_await guard->send(request);         // the guard may be held across suspension points
//   }                                          // unlocked here
//
// Built on Semaphore(1), so it inherits its properties: tasks get the lock strictly in the order
// they started waiting (an unlock hands the lock straight to the head of the line; a newcomer
// cannot barge in), and a cancelled lock() (its task aborted, a timeout won) leaves the line, and
// passes the lock on if it had just been handed it.
//
// Lock-free: lock() and try_lock() when the mutex is free and nobody waits, and unlocking with
// nobody waiting (one CAS each; no mutex, no system call). A task that has to wait, and an unlock
// that hands over to a waiter, take the semaphore's short SpinLock (see semaphore.hpp).
//
// When to use it rather than std::mutex: when the lock must be held across a co_await. For a
// short critical section with no suspension inside, std::mutex is cheaper (see bench/sync_bench).
// Prefer an actor (a task owning the value, fed by an mpsc channel) for state many tasks hammer.
//
// Misuse: locking twice from the same task without unlocking deadlocks that task (the lock is not
// re-entrant). Destroying the Mutex while it is locked or waited on is undefined.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <coroutine>
#include <optional>
#include <utility>

#include "semaphore.hpp"

namespace weft {

template <class T>
class Mutex;

// Holds a Mutex locked and gives access to its value; unlocks when destroyed. Move-only. May be
// held across suspension points and moved between tasks.
template <class T>
class [[nodiscard]] MutexGuard {
public:
    MutexGuard(MutexGuard&&) noexcept = default;
    MutexGuard& operator=(MutexGuard&&) noexcept = default;

    T& operator*() const noexcept { return *value_; }
    T* operator->() const noexcept { return value_; }
    T& get() const noexcept { return *value_; }

private:
    friend class Mutex<T>;
    MutexGuard(SemaphorePermit permit, T* value) noexcept : permit_(std::move(permit)), value_(value) {}

    SemaphorePermit permit_;  // its destructor is the unlock
    T* value_;
};

template <class T>
class Mutex {
public:
    // Constructs the value in place from `args`.
    template <class... Args>
    explicit Mutex(Args&&... args) : value_(std::forward<Args>(args)...) {}
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;

    // The awaitable behind `co_await m.lock()`. Not movable.
    class LockAwaiter {
    public:
        explicit LockAwaiter(Mutex* m) : acquire_(m->sem_.acquire(1)), mutex_(m) {}
        bool await_ready() noexcept { return acquire_.await_ready(); }
        bool await_suspend(std::coroutine_handle<> h) { return acquire_.await_suspend(h); }
        MutexGuard<T> await_resume() noexcept {
            // The semaphore is never closed, so the acquire always yields a permit.
            AcquireResult r = acquire_.await_resume();
            return MutexGuard<T>(std::move(*r), &mutex_->value_);
        }

    private:
        Semaphore::AcquireAwaiter acquire_;  // the leaf awaitable (the worker polls it)
        Mutex* mutex_;
    };

    // `co_await m.lock()`: waits for the lock (FIFO with other waiters) and yields a guard. Suspends
    // only when the mutex is held or others wait (or to yield, when the task's cooperative budget is
    // spent). Never fails.
    LockAwaiter lock() { return LockAwaiter(this); }

    // The lock now if it is free and nobody is waiting for it; otherwise empty. Never suspends.
    std::optional<MutexGuard<T>> try_lock() {
        AcquireResult r = sem_.try_acquire(1);
        if (!r) return std::nullopt;
        return MutexGuard<T>(r.take(), &value_);
    }

    // True while some task holds the lock (a snapshot: it may change right after).
    bool is_locked() const noexcept { return sem_.available_permits() == 0; }

private:
    Semaphore sem_{1};
    T value_;
};

}  // namespace weft
