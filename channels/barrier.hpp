// Barrier: lets a fixed number of tasks wait until all of them have reached the same point, then
// releases them together; reusable, generation after generation. What it does is documented on the
// class (below); these are the implementation notes.
//
// Why not built on Notify or Semaphore: a barrier needs "count arrivals, and release exactly those
// who arrived in this generation", which neither expresses without extra state and a second lock.
// So it is a counter, a generation number and an intrusive waiter list under one short SpinLock,
// the same pieces Notify and Semaphore are made of (see channels/detail/sender_wait_list.hpp for
// why a short lock is the right tool around the list).
//
// Not lock-free: every arrival takes the lock (a barrier's whole job is to make tasks wait for
// each other). The last arrival of a generation moves the wakers out under the lock and wakes
// them after releasing it.
//
// Orders: arrivals are serialised by the lock (acquire/release), so the leader sees what every
// arriving task did before it arrived. The leader then publishes the new generation with a release
// store and marks each waiter's node kNotified with a release store; a waiter reads either with
// acquire, so every task leaving the barrier sees what every task did before arriving.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "detail/budgeted_wait.hpp"
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/waiter_list.hpp>
#include <weft/runtime/detail/wake_batch.hpp>

namespace weft {

/// What Barrier::wait() yields once its generation is complete.
class BarrierWaitResult {
public:
    /// A result, for the leader or not.
    explicit BarrierWaitResult(bool leader) noexcept : leader_(leader) {}
    /// True for exactly one task of each generation: the one whose arrival completed it (the n-th).
    bool is_leader() const noexcept { return leader_; }

private:
    bool leader_;
};

/// Lets `n` tasks wait until all of them have reached the same point, then releases them together.
///
/// @code
/// weft::Barrier ready(workers);
/// // in each of the `workers` tasks:
/// prepare();
/// weft::BarrierWaitResult r = co_await ready.wait();   // until all `workers` have arrived
/// if (r.is_leader()) log("all prepared");               // true in exactly one of them
/// @endcode
///
/// Semantics follow Tokio's Barrier. The first n - 1 tasks to call wait() suspend; the n-th
/// completes the generation: it returns at once as the leader, and the n - 1 waiting tasks are
/// woken (not leaders). The barrier is then ready for the next generation, so it can be used in a
/// loop; a task that arrives after a generation completed counts toward the next one. `n == 0`
/// behaves as `n == 1` (as in Tokio and std::sync::Barrier): every wait() completes at once as
/// leader.
///
/// Cancellation (as in Tokio): a task *arrives* when its wait() is first awaited, and an arrival
/// is never taken back. A wait() cancelled after arriving (its task aborted, a timeout or select
/// lost) still counts toward its generation: the generation then completes with one live task
/// fewer (the task that completes it is still the leader; the cancelled one simply never sees it).
/// A wait() destroyed before it arrived (never awaited, or cancelled while it was yielding because
/// the task's cooperative budget was spent) does not count. So wait() is not cancellation-safe in
/// the sense of giving its arrival back; it loses nothing else and leaves no dangling waiter.
///
/// Threads: shared by reference; wait() is awaited inside a task run by a weft runtime. Not
/// copyable or movable. Misuse: destroying the Barrier while tasks wait on it is undefined.
class Barrier {
public:
    /// A barrier for `n` tasks per generation (`n == 0` is taken as 1).
    explicit Barrier(std::size_t n) noexcept : n_(n == 0 ? 1 : n) {}
    Barrier(const Barrier&) = delete;
    Barrier& operator=(const Barrier&) = delete;
    /// Misuse: destroying a barrier while tasks wait on it is undefined.
    ~Barrier() = default;

    class WaitAwaiter;

    /// `co_await barrier.wait()`: arrives at the barrier and waits until `n` tasks (this one
    /// included) have arrived in this generation; yields a BarrierWaitResult, the leader's
    /// is_leader() true. The n-th arrival does not suspend (unless to yield, when the task's
    /// cooperative budget is spent, which happens before it arrives). Never fails.
    ///
    /// Not cancellation-safe in one precise way: an arrival counts even if the wait is then
    /// abandoned (see the class notes). Await inside a task run by a weft runtime: awaiting it
    /// elsewhere throws std::logic_error when it has to wait (the arrival already counted).
    [[nodiscard("a Barrier wait does nothing unless it is co_awaited")]] WaitAwaiter wait() noexcept;

    /// How many tasks complete a generation (1 for a barrier made with `n == 0`).
    std::size_t n() const noexcept { return n_; }

private:
    struct Node : detail::Waiter {};

    // Under the lock: counts one arrival. Returns true if it completed the generation (the caller
    // is the leader); else stores the generation it joined in `generation`.
    bool arrive(std::uint64_t& generation, detail::WakeBatch& batch) noexcept {
        std::lock_guard lock(lock_);
        generation = generation_.load(std::memory_order_relaxed);
        if (++arrived_ < n_) return false;
        arrived_ = 0;
        while (detail::Waiter* w = waiters_.front()) {
            waiters_.remove(*w);
            Waker waker = std::move(w->waker);  // moved out before the node may go
            // release: our last touch of the node, and everything the arrivals did, to the waiter.
            w->state.store(detail::Waiter::State::kNotified, std::memory_order_release);
            batch.push(std::move(waker));  // after the mark: a wake past the batch's size is immediate
        }
        // release: pairs with the acquire load of a waiter that checks before queueing.
        generation_.store(generation + 1, std::memory_order_release);
        return true;
    }

    // Under the lock: queues `w` unless `generation` already completed. Returns true if queued.
    bool enqueue(Node& w, std::uint64_t generation, const Waker& waker) noexcept {
        std::lock_guard lock(lock_);
        if (generation_.load(std::memory_order_relaxed) != generation) return false;
        w.waker = waker;
        w.state.store(detail::Waiter::State::kQueued, std::memory_order_relaxed);
        waiters_.push_back(w);
        return true;
    }

    // A queued wait is abandoned: leave the list (the arrival stays counted).
    void leave(Node& w) noexcept {
        using State = detail::Waiter::State;
        // acquire: pairs with the leader's release store, its last touch of the node.
        if (w.state.load(std::memory_order_acquire) != State::kQueued) return;
        std::lock_guard lock(lock_);
        if (w.state.load(std::memory_order_relaxed) == State::kQueued) {
            waiters_.remove(w);
            w.waker.reset();
            w.state.store(State::kIdle, std::memory_order_relaxed);
        }
    }

    const std::size_t n_;
    std::size_t arrived_ = 0;                  // under lock_
    std::atomic<std::uint64_t> generation_{0};  // written under lock_
    detail::SpinLock lock_;
    detail::WaiterList waiters_;  // of Node, under lock_
};

/// The awaitable Barrier::wait() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget,
/// then arrive, and queue the task's waker unless the arrival completed the generation; it is a
/// leaf awaitable, so select() and timeout() accept it. Destroyed while waiting, it leaves the
/// list; its arrival stays counted (see Barrier).
class [[nodiscard("a Barrier wait does nothing unless it is co_awaited")]] Barrier::WaitAwaiter final
    : public detail::BudgetedWait<WaitAwaiter> {
public:
    /// Made by Barrier::wait(); nothing happens until it is awaited.
    explicit WaitAwaiter(Barrier* barrier) noexcept : barrier_(barrier) {}
    /// Leaves the list if still queued.
    ~WaitAwaiter() {
        if (arrived_) barrier_->leave(node_);
    }

    /// Whether this task is the generation's leader.
    BarrierWaitResult await_resume() noexcept { return BarrierWaitResult(leader_); }

private:
    friend detail::BudgetedWait<WaitAwaiter>;

    // Arrives (once); then done if this arrival completed the generation, or if a later arrival
    // completed it since.
    bool try_now() noexcept {
        if (!arrived_) {
            arrived_ = true;
            detail::WakeBatch batch;  // woken after arrive() released the lock
            leader_ = barrier_->arrive(generation_, batch);
            return leader_;
        }
        // acquire: pairs with the leader's release store of the new generation.
        return barrier_->generation_.load(std::memory_order_acquire) != generation_;
    }
    // Returns true if the task must suspend.
    bool wait(const Waker& waker) noexcept { return barrier_->enqueue(node_, generation_, waker); }
    // Queued: done only once the leader marked our node (a wake may be spurious).
    bool poll_woken() noexcept {
        // acquire: pairs with the leader's release store.
        if (node_.state.load(std::memory_order_acquire) != detail::Waiter::State::kNotified) return false;
        node_.state.store(detail::Waiter::State::kIdle, std::memory_order_relaxed);
        return true;
    }

    Barrier* barrier_;
    Node node_;
    std::uint64_t generation_ = 0;  // the generation this wait arrived in
    bool arrived_ = false;
    bool leader_ = false;
};

inline Barrier::WaitAwaiter Barrier::wait() noexcept { return WaitAwaiter(this); }

}  // namespace weft
