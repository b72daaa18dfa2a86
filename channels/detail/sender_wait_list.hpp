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
// Direct hand-off of a value (Go's channels): a waiting send can offer its value. Then the freer
// moves the value itself into the slot it just freed, publishes it, and wakes the sender with its
// send already done (`delivered`). The receiver keeps finding messages instead of waiting for
// each woken sender to run and publish, and the sender does less when it resumes. Only for a
// send that nothing can cancel after the fact (the awaiter decides: a plain co_await, a value
// whose move cannot throw), because a delivered send cannot be taken back.
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
#include <weft/runtime/detail/sync.hpp>
#include <weft/runtime/detail/wake_batch.hpp>
#include <weft/runtime/detail/waiter_list.hpp>

namespace weft::detail {

// A waiting sender: wants `wanted` permits; kNotified means they were reserved for it, or, with
// `delivered`, that its offered value was sent for it.
struct SenderWaiter : Waiter {
    std::size_t wanted = 1;
    void* offered = nullptr;  // the value a send offers for direct hand-off (null: permits only)
    bool delivered = false;   // set before kNotified: `offered` was moved into the channel
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

    // Hands freed capacity to waiters from the front: `serve(w)` reserves w.wanted permits in the
    // channel, or delivers w.offered (setting w.delivered); true on success. Stops at the first
    // waiter it cannot serve.
    template <class Serve>
    void hand_off(Serve&& serve) noexcept {
        WakeBatch to_wake;
        std::lock_guard lock(mutex_);
        hand_off_locked(serve, to_wake);
        // to_wake wakes after the lock is released (destroyed in reverse order)
    }

    // The waiter is done (it got its capacity another way, gave up, or is being destroyed). If
    // still queued it leaves the list; if it was handed capacity it will not use, `give_back(n)`
    // returns those permits to the channel and the next waiters are served from them. Returns
    // true if its value was delivered meanwhile (that send happened; nothing to give back).
    template <class GiveBack, class Serve>
    bool leave(SenderWaiter& w, GiveBack&& give_back, Serve&& serve) noexcept {
        WakeBatch to_wake;
        std::lock_guard lock(mutex_);
        const Waiter::State state = w.state.load(std::memory_order_relaxed);
        if (state == Waiter::State::kQueued) {
            unlink(w);
        } else if (state == Waiter::State::kNotified && !w.delivered) {
            give_back(w.wanted);
            hand_off_locked(serve, to_wake);
        }
        w.state.store(Waiter::State::kIdle, std::memory_order_release);
        w.waker.reset();
        return state == Waiter::State::kNotified && w.delivered;
    }

    // The waiter takes what it was handed (its state was kNotified). No lock: the hand-off moved
    // the waker out and unlinked the node before it stored kNotified, so nobody else touches the
    // node any more.
    static void accept(SenderWaiter& w) noexcept { w.state.store(Waiter::State::kIdle, std::memory_order_relaxed); }

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
    template <class Serve>
    void hand_off_locked(Serve& serve, WakeBatch& to_wake) noexcept {
        while (Waiter* front = list_.front()) {
            auto& w = static_cast<SenderWaiter&>(*front);
            if (!serve(w)) return;
            unlink(w);
            to_wake.push(std::move(w.waker));
            // Last: from this store on the waiter may run, accept without the lock, and reuse
            // the node (release: `delivered` and the reservation are visible to it).
            w.state.store(Waiter::State::kNotified, std::memory_order_release);
        }
    }

    void unlink(Waiter& w) noexcept {
        list_.remove(w);
        waiting_.fetch_sub(1, std::memory_order_seq_cst);
    }

    SpinLock mutex_;
    WaiterList list_;
    bool closed_ = false;
    alignas(64) atomic<std::size_t> waiting_{0};
};

}  // namespace weft::detail
