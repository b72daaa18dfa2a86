// Senders waiting for room in a full bounded channel, in arrival order.
//
// Not lock-free, on purpose: this path runs only when the channel is full, where the sender is
// about to suspend (far costlier than a short lock), and it needs FIFO order plus O(1) removal of
// a cancelled waiter from the middle, which a lock-free list makes hard to get right. The lock is
// a SpinLock held for a few pointer writes. The fast paths never take it: the receiver reads
// `waiting_` (an atomic count) after each take and locks only when it is non-zero.
//
// Protocol with the ring (no lost wakeup): a waiter enqueues itself (count incremented, seq_cst),
// then re-tries its claim (seq_cst stamp load). The receiver frees a slot (seq_cst stamp store),
// then reads the count (seq_cst). Either the waiter's retry sees the free slot, or the receiver
// sees the count and notifies the first waiter.
//
// A notified waiter is off the list; it retries its claim when its task runs. If it finds no room
// (a sender that was not waiting took the slot first) it goes back to the front of the list. A
// notified waiter that leaves without using the notification (cancelled) passes it on.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/waiter_list.hpp>

namespace weft::detail {

class SenderWaitList {
public:
    bool has_waiters() const noexcept { return waiting_.load(std::memory_order_seq_cst) != 0; }

    // Queues `w` at the back (or the front, for a waiter that lost its slot). Returns false,
    // without queueing, once the list is closed.
    bool enqueue(Waiter& w, Waker waker, bool at_front) {
        std::lock_guard lock(mutex_);
        if (closed_) {
            w.state.store(Waiter::State::kClosed, std::memory_order_release);
            return false;
        }
        w.waker = std::move(waker);
        w.state.store(Waiter::State::kQueued, std::memory_order_release);
        if (at_front) list_.push_front(w);
        else list_.push_back(w);
        waiting_.fetch_add(1, std::memory_order_seq_cst);
        return true;
    }

    // Wakes the first waiter, if any.
    void notify_one() {
        Waker to_wake;
        {
            std::lock_guard lock(mutex_);
            Waiter* w = list_.front();
            if (!w) return;
            unlink(*w);
            w->state.store(Waiter::State::kNotified, std::memory_order_release);
            to_wake = std::move(w->waker);
        }
        to_wake.wake();
    }

    // The waiter is done (it sent, gave up, or is being destroyed). If still queued it leaves the
    // list; if it holds a notification it did not use, the next waiter gets it.
    void leave(Waiter& w, bool used_notification) {
        bool pass_on = false;
        {
            std::lock_guard lock(mutex_);
            if (w.state == Waiter::State::kQueued) unlink(w);
            else if (w.state == Waiter::State::kNotified && !used_notification) pass_on = true;
            w.state.store(Waiter::State::kIdle, std::memory_order_release);
            w.waker.reset();
        }
        if (pass_on) notify_one();
    }

    // The waiter's state as last set under the lock (acquire: pairs with the release stores in
    // enqueue, notify_one, leave and close).
    static Waiter::State state_of(const Waiter& w) noexcept { return w.state.load(std::memory_order_acquire); }

    // The receiver closed: wakes every waiter (state kClosed); later enqueues fail.
    void close() {
        std::vector<Waker> to_wake;
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
            for (Waiter* w = list_.take_all(Waiter::State::kClosed); w; w = w->next)
                to_wake.push_back(std::move(w->waker));
            waiting_.store(0, std::memory_order_seq_cst);
        }
        for (Waker& w : to_wake) w.wake();
    }

private:
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
