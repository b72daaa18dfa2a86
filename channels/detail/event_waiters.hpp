// Tasks waiting for a condition that other threads make true (a broadcast value past a receiver's
// position, a newer watch version, the last watch receiver gone). Whoever changes the state wakes
// every waiter; each re-checks its own condition when it runs.
//
// Not lock-free, on purpose: only a task about to suspend and a change that finds waiters take the
// SpinLock, held for a few pointer writes. The change side's fast path is one seq_cst load of
// `count_` (no waiters: nothing to do).
//
// Protocol (no lost wakeup): the changer makes its condition true with a seq_cst store or RMW,
// then calls wake_all(), which loads `count_` (seq_cst). A waiter increments `count_` (seq_cst)
// under the lock, then evaluates its condition with seq_cst loads. Store-buffering pair: either the
// changer sees the count and takes the lock (which the waiter holds until it is queued), or the
// waiter sees the change and does not queue.
//
// Node lifetime: wake_all unlinks a waiter, moves its waker out, and stores kNotified (release) as
// its last touch of the node. A waiter that loads kNotified (acquire) may therefore destroy its
// node without taking the lock; a kQueued waiter must take it to leave.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/waiter_list.hpp>
#include <weft/runtime/detail/wake_batch.hpp>

namespace weft::detail {

class EventWaiters {
public:
    bool has_waiters() const noexcept { return count_.load(std::memory_order_seq_cst) != 0; }

    // Queues `w` (or refreshes its waker if it is still queued) unless `ready()` holds. `ready`
    // runs under the lock after the waiter is counted and must read the state with seq_cst loads.
    // Returns true if the caller should suspend.
    template <class Ready>
    bool wait(Waiter& w, const Waker& waker, Ready&& ready) {
        std::lock_guard lock(lock_);
        if (w.state.load(std::memory_order_relaxed) == Waiter::State::kQueued) {
            // Still counted from its first wait, so any change since then will wake it.
            if (!w.waker.will_wake(waker)) w.waker = waker;
            return true;
        }
        count_.fetch_add(1, std::memory_order_seq_cst);
        if (ready()) {
            count_.fetch_sub(1, std::memory_order_relaxed);  // under the lock; nobody else counts now
            return false;
        }
        w.waker = waker;
        w.state.store(Waiter::State::kQueued, std::memory_order_relaxed);  // read back under the lock
        list_.push_back(w);
        return true;
    }

    // The waiter stops waiting (it completed or is being destroyed). Safe in any state.
    void remove(Waiter& w) noexcept {
        // acquire: pairs with wake_all's release store, its last touch of the node.
        const Waiter::State state = w.state.load(std::memory_order_acquire);
        if (state == Waiter::State::kIdle) return;
        if (state == Waiter::State::kQueued) {
            std::lock_guard lock(lock_);
            if (w.state.load(std::memory_order_relaxed) == Waiter::State::kQueued) {
                list_.remove(w);
                count_.fetch_sub(1, std::memory_order_relaxed);
                w.waker.reset();
            }
        }
        w.state.store(Waiter::State::kIdle, std::memory_order_relaxed);  // only the owner reads it now
    }

    // Wakes every queued waiter. Call after making the condition true with a seq_cst operation.
    void wake_all() noexcept {
        if (!has_waiters()) return;
        WakeBatch batch;
        std::lock_guard lock(lock_);
        while (Waiter* w = list_.front()) {
            list_.remove(*w);
            Waker waker = std::move(w->waker);  // moved out before the node may go
            // release: the waiter may destroy the node once it sees this (see above).
            w->state.store(Waiter::State::kNotified, std::memory_order_release);
            batch.push(std::move(waker));  // after the mark: a wake past the batch's size is immediate
        }
        count_.store(0, std::memory_order_relaxed);  // every count change happens under the lock
    }  // the lock is released first (declared last), then the batch wakes

private:
    SpinLock lock_;
    WaiterList list_;
    alignas(64) std::atomic<std::size_t> count_{0};
};

}  // namespace weft::detail
