// Senders waiting for capacity in a full bounded channel, in arrival order, and the hand-off of
// freed capacity to them.
//
// Hand-off: capacity freed while senders wait (the receiver took a message, a permit was dropped
// or given back) is reserved for the first waiter and handed to it, as permits, before it is
// woken; the waiter then sends with them. Nobody can take that capacity in between: a newcomer's
// try_send or send sees waiters and queues behind them, and the woken waiter never finds its
// capacity gone (so it is woken once per message, not once per attempt). Tokio's semaphore and
// Go's channels hand off the same way. A waiter needing n permits (reserve_many) is served once n
// are free; those behind it wait (first come, first served).
//
// Not lock-free, on purpose: this path runs only when the channel is full, where the sender is
// about to suspend (far costlier than a short lock), and it needs FIFO order plus O(1) removal of
// a cancelled waiter from the middle, which a lock-free list makes hard to get right. The lock is
// a SpinLock held for a few pointer writes and one reservation CAS. The fast paths never take it:
// the receiver reads `waiting_` (an atomic count) after each take and locks only when it is
// non-zero.
//
// Protocol with the ring (no lost wake-up): a waiter enqueues itself (count incremented, seq_cst),
// then re-tries its reservation (seq_cst loads of the tail word and stamp). Whoever frees capacity
// does it with a seq_cst store or RMW, then reads the count (seq_cst). Either the waiter's retry
// sees the capacity, or the freer sees the count and hands the capacity to the first waiter. If
// both happen, the waiter holds a hand-off it does not need and gives it back (to the next
// waiter, or to the channel).
//
// Closing wakes every waiter with kClosed and allocates nothing (a fixed-size WakeBatch).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/wake_batch.hpp>
#include <weft/runtime/detail/waiter_list.hpp>

namespace weft::detail {

// A waiting sender: wants `wanted` permits; kNotified means they were reserved for it.
struct SenderWaiter : Waiter {
    std::size_t wanted = 1;
};

class SenderWaitList {
public:
    bool has_waiters() const noexcept { return waiting_.load(std::memory_order_seq_cst) != 0; }

    // Queues `w` at the back. Returns false, without queueing, once the list is closed.
    bool enqueue(SenderWaiter& w, Waker waker) {
        std::lock_guard lock(mutex_);
        if (closed_) {
            w.state.store(Waiter::State::kClosed, std::memory_order_release);
            return false;
        }
        w.waker = std::move(waker);
        w.state.store(Waiter::State::kQueued, std::memory_order_release);
        list_.push_back(w);
        waiting_.fetch_add(1, std::memory_order_seq_cst);
        return true;
    }

    // Hands freed capacity to waiters from the front: `reserve(n)` reserves n permits in the
    // channel (true on success). Stops at the first waiter it cannot serve.
    template <class Reserve>
    void hand_off(Reserve&& reserve) noexcept {
        WakeBatch to_wake;
        std::lock_guard lock(mutex_);
        hand_off_locked(reserve, to_wake);
        // to_wake wakes after the lock is released (destroyed in reverse order)
    }

    // The waiter is done (it got its capacity another way, gave up, or is being destroyed). If
    // still queued it leaves the list; if it was handed capacity it will not use, `give_back(n)`
    // returns those permits to the channel and the next waiters are served from them.
    template <class GiveBack, class Reserve>
    void leave(SenderWaiter& w, GiveBack&& give_back, Reserve&& reserve) noexcept {
        WakeBatch to_wake;
        std::lock_guard lock(mutex_);
        const Waiter::State state = w.state.load(std::memory_order_relaxed);
        if (state == Waiter::State::kQueued) {
            unlink(w);
        } else if (state == Waiter::State::kNotified) {
            give_back(w.wanted);
            hand_off_locked(reserve, to_wake);
        }
        w.state.store(Waiter::State::kIdle, std::memory_order_release);
        w.waker.reset();
    }

    // The waiter takes the capacity it was handed (its state was kNotified).
    void accept(SenderWaiter& w) noexcept {
        std::lock_guard lock(mutex_);
        w.state.store(Waiter::State::kIdle, std::memory_order_release);
        w.waker.reset();
    }

    // The waiter's state as last set under the lock (acquire: pairs with the release stores in
    // enqueue, hand_off, leave and close).
    static Waiter::State state_of(const Waiter& w) noexcept { return w.state.load(std::memory_order_acquire); }

    // The receiver closed: wakes every waiter (state kClosed); later enqueues fail. Allocates
    // nothing.
    void close() noexcept {
        WakeBatch to_wake;
        std::lock_guard lock(mutex_);
        closed_ = true;
        for (Waiter* w = list_.take_all(Waiter::State::kClosed); w; w = w->next) to_wake.push(std::move(w->waker));
        waiting_.store(0, std::memory_order_seq_cst);
    }

private:
    template <class Reserve>
    void hand_off_locked(Reserve& reserve, WakeBatch& to_wake) noexcept {
        while (Waiter* front = list_.front()) {
            auto& w = static_cast<SenderWaiter&>(*front);
            if (!reserve(w.wanted)) return;
            unlink(w);
            w.state.store(Waiter::State::kNotified, std::memory_order_release);
            to_wake.push(std::move(w.waker));
        }
    }

    void unlink(Waiter& w) noexcept {
        list_.remove(w);
        waiting_.fetch_sub(1, std::memory_order_seq_cst);
    }

    SpinLock mutex_;
    WaiterList list_;
    bool closed_ = false;
    alignas(64) std::atomic<std::size_t> waiting_{0};
};

}  // namespace weft::detail
