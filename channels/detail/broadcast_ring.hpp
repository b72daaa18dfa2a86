// The ring behind broadcast::channel: the state every Sender and Receiver shares (the slots, the
// tail, the counts of senders and receivers, the waiting receivers) and the send / receive /
// subscribe algorithm on it. The handles are in channels/broadcast.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include <weft/runtime/detail/rw_spin_lock.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/waker.hpp>
#include "event_waiters.hpp"

namespace weft::broadcast::detail {

template <class T>
inline constexpr bool kCopyable = std::is_copy_constructible_v<T>;

// The state every handle shares.
//
// Layout: `capacity` slots, each with its own reader/writer spin lock, the position it holds
// (`pos`), the value, and `rem`: how many receivers have yet to read it. Position p lives in slot
// p % capacity. `tail_` is the next position to write, written only under `tail_lock_` (by a send)
// and read by anyone; `rx_count_` changes only under the tail lock too. Every receiver keeps its
// own next position.
//
// Invariants:
//  - tail_ is stored (p + 1) only after slot p % capacity holds p's value and `pos == p`.
//  - A value sent at position p has rem == the receivers subscribed at that moment, each of which
//    starts at a position <= p (subscribe reads tail_ under the same lock): exactly the receivers
//    that may read it. The last one to read it (rem reaches 0) destroys it; a receiver going away
//    counts as reading what it had not read yet; an overwrite destroys what is left.
//
// A receiver at position `next` looks at slot next % capacity under the shared lock:
//  - pos == next: its value (copy it out, decrement rem).
//  - pos >  next: overwritten; the receiver lagged. The oldest value kept is tail - capacity (tail
//    at least pos + 1): it missed exactly that minus `next`, and continues from there.
//  - pos <  next (or never written): not sent yet; empty, or closed if every sender is gone and
//    tail_ says nothing is left.
//  (pos == next with no value happens only if T's move constructor threw during a send into that
//  slot after the old value was destroyed: the receivers due for it are told they lagged by 1.
//  The failed value itself takes no position: tail_ does not move.)
//  A receiver whose copy of the value throws counts as having read it (it moves past it), so one
//  bad copy neither wedges that receiver nor keeps the value alive for ever.
//
// Counts: rx_count_ changes under the tail lock (seq_cst: Dekker pair with Sender::closed()
// waiters, who count themselves and then load it). tx_count_ and weak_count_ are the strong and
// weak sender counts; upgrading a weak sender CASes tx_count_ up from a non-zero value only, so a
// closed channel stays closed.
//
// Orders: a slot's contents are published by its lock (writer's release unlock, reader's acquire
// lock_shared). `rem` is acq_rel so the last reader's destroy comes after every other reader's copy.
// tail_'s store is seq_cst: release for receivers that then read the slot, and seq_cst for the
// Dekker pair with waiting receivers (see detail/event_waiters.hpp); `closed_` likewise.
template <class T>
class Shared {
    static_assert(kCopyable<T>,
                  "weft::broadcast::channel<T> needs a copyable T: every receiver gets its own copy of each value");

public:
    enum class Status { kValue, kLagged, kEmpty, kClosed };

    explicit Shared(std::size_t capacity) : capacity_(capacity), slots_(new Slot[capacity]) {}

    // ---- handles -------------------------------------------------------------------------------

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }  // a holder exists
    void drop_ref() noexcept {
        // acq_rel: the last owner sees every other owner's use before deleting.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    void add_sender() noexcept { tx_count_.fetch_add(1, std::memory_order_relaxed); }  // a holder exists
    // A weak sender's upgrade: a new sender only while one exists (the channel is not closed).
    bool try_add_sender() noexcept {
        std::size_t n = tx_count_.load(std::memory_order_relaxed);
        do {
            if (n == 0) return false;
        } while (!tx_count_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
        return true;
    }
    std::size_t sender_count() const noexcept { return tx_count_.load(std::memory_order_relaxed); }
    void add_weak() noexcept {
        weak_count_.fetch_add(1, std::memory_order_relaxed);
        add_ref();
    }
    void drop_weak() noexcept {
        weak_count_.fetch_sub(1, std::memory_order_relaxed);
        drop_ref();
    }
    std::size_t weak_count() const noexcept { return weak_count_.load(std::memory_order_relaxed); }
    void drop_sender() noexcept {
        // acq_rel: the last sender's release of closed_ then covers every sender's sends.
        if (tx_count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        closed_.store(true, std::memory_order_seq_cst);  // seq_cst: Dekker pair with waiting receivers
        rx_waiters_.wake_all();
    }

    // A new receiver: it will see every value sent from now on. Returns its first position.
    std::uint64_t subscribe() noexcept {
        std::lock_guard lock(tail_lock_);
        rx_count_.fetch_add(1, std::memory_order_seq_cst);  // under the lock: sends read it there
        add_ref();
        return tail_.load(std::memory_order_relaxed);  // written only under this lock
    }
    // A receiver at `next` goes away: counts as reading every value it was due and had not read.
    void unsubscribe(std::uint64_t next) noexcept {
        std::uint64_t until;
        bool last;
        {
            std::lock_guard lock(tail_lock_);
            last = rx_count_.fetch_sub(1, std::memory_order_seq_cst) == 1;  // see "Counts" above
            until = tail_.load(std::memory_order_relaxed);
        }
        if (last) rx_gone_waiters_.wake_all();  // Sender::closed(); allocation-free (WakeBatch)
        if (until > capacity_) next = std::max(next, until - capacity_);  // older ones are overwritten
        for (; next < until; ++next) {
            Slot& slot = slot_of(next);
            weft::detail::SharedSpinGuard guard(slot.lock);
            // acq_rel on rem: as in try_recv.
            if (slot.pos == next && slot.value && slot.rem.fetch_sub(1, std::memory_order_acq_rel) == 1)
                slot.value.reset();
        }
        drop_ref();
    }

    // ---- sending -------------------------------------------------------------------------------

    // Writes `value` at the tail. Returns the receivers it is due to, or 0 (nothing written, the
    // value left in place) if there are none. If T's move constructor throws, so does this (the
    // value at the overwritten position is gone; see the class comment).
    std::size_t send(T& value) {
        std::size_t receivers;
        {
            std::lock_guard lock(tail_lock_);
            receivers = rx_count_.load(std::memory_order_relaxed);
            if (receivers == 0) return 0;
            const std::uint64_t pos = tail_.load(std::memory_order_relaxed);
            Slot& slot = slot_of(pos);
            slot.lock.lock();  // waits for receivers copying the value at pos - capacity
            slot.value.reset();
            try {
                slot.value.emplace(std::move(value));
            } catch (...) {
                slot.lock.unlock();
                throw;
            }
            slot.pos = pos;
            slot.rem.store(receivers, std::memory_order_relaxed);  // published by the unlock
            slot.lock.unlock();
            tail_.store(pos + 1, std::memory_order_seq_cst);  // see the class comment
        }
        rx_waiters_.wake_all();
        return receivers;
    }

    // ---- receiving -----------------------------------------------------------------------------

    // Tries to read position `next`. kValue: `out` holds a copy and `next` advanced. kLagged:
    // `missed` values are gone and `next` moved to the oldest kept. A throwing copy propagates with
    // `next` advanced past the value (as if read).
    Status try_recv(std::uint64_t& next, std::optional<T>& out, std::uint64_t& missed) {
        for (;;) {
            Slot& slot = slot_of(next);
            std::uint64_t pos;
            {
                weft::detail::SharedSpinGuard guard(slot.lock);
                pos = slot.pos;
                if (pos == next) {
                    if (!slot.value) {  // its send threw after destroying it (see above)
                        ++next;
                        missed = 1;
                        return Status::kLagged;
                    }
                    // Read or not, this receiver is past the value now (see the class comment).
                    struct Consume {
                        Slot& slot;
                        std::uint64_t& next;
                        ~Consume() {
                            // acq_rel: acquire orders every other reader's copy before the last
                            // one's destroy; release publishes ours to it.
                            if (slot.rem.fetch_sub(1, std::memory_order_acq_rel) == 1) slot.value.reset();
                            ++next;
                        }
                    } consume{slot, next};
                    out.emplace(*slot.value);  // a throwing copy propagates, after Consume
                    return Status::kValue;
                }
            }
            if (pos != kNever && pos > next) {
                // acquire: pairs with the tail store, though pos + 1 is a lower bound regardless.
                const std::uint64_t tail = std::max(tail_.load(std::memory_order_acquire), pos + 1);
                const std::uint64_t oldest = tail - capacity_;
                missed = oldest - next;
                next = oldest;
                return Status::kLagged;
            }
            // `next` not sent yet.
            // acquire: pairs with drop_sender's store; every send happened before it.
            if (!closed_.load(std::memory_order_acquire)) return Status::kEmpty;
            if (tail_.load(std::memory_order_acquire) <= next) return Status::kClosed;
            // A value was sent before the close after all (we read the slot too early): read it.
        }
    }

    // Queues `w` to be woken by the next send or the close, unless one already happened since
    // `next` (returns false then: try again).
    bool wait(weft::detail::Waiter& w, const Waker& waker, std::uint64_t next) {
        return rx_waiters_.wait(w, waker, [&] {
            // seq_cst: Dekker pair with send's tail store and drop_sender's closed store.
            return tail_.load(std::memory_order_seq_cst) > next || closed_.load(std::memory_order_seq_cst);
        });
    }
    weft::detail::EventWaiters& rx_waiters() noexcept { return rx_waiters_; }

    // ---- queries -------------------------------------------------------------------------------

    std::uint64_t tail() const noexcept { return tail_.load(std::memory_order_acquire); }  // pairs with send
    // seq_cst: Dekker pair with unsubscribe for Sender::closed() waiters.
    std::size_t receiver_count() const noexcept { return rx_count_.load(std::memory_order_seq_cst); }

    // Values still queued: not yet read by every receiver due to see them, nor overwritten. Under
    // the tail lock (no send moves the window); a binary search as in Tokio, because "read by
    // every receiver due" is monotone in the position: a receiver due for p is due for p + 1 and
    // reads in order, so if p + 1 is done, so is p.
    std::size_t len() noexcept {
        std::lock_guard lock(tail_lock_);
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);  // written under this lock
        const std::uint64_t span = std::min<std::uint64_t>(tail, capacity_);
        const std::uint64_t first = tail - span;
        std::uint64_t low = 0;
        std::uint64_t high = span;
        while (low < high) {
            const std::uint64_t mid = low + (high - low) / 2;
            if (is_queued(first + mid)) high = mid;
            else low = mid + 1;
        }
        return static_cast<std::size_t>(span - low);
    }

    // Sender::closed(): waiting for the last receiver to go.
    bool wait_receivers_gone(weft::detail::Waiter& w, const Waker& waker) {
        return rx_gone_waiters_.wait(w, waker, [&] { return receiver_count() == 0; });
    }
    weft::detail::EventWaiters& rx_gone_waiters() noexcept { return rx_gone_waiters_; }
    bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }  // pairs with drop_sender

private:
    static constexpr std::uint64_t kNever = ~std::uint64_t{0};

    // Own cache line each: receivers on different slots do not disturb each other.
    struct alignas(64) Slot {
        weft::detail::RwSpinLock lock;
        std::uint64_t pos = kNever;      // the position whose value this slot holds (or last held)
        std::atomic<std::size_t> rem{0};  // receivers still due to read it
        std::optional<T> value;
    };

    Slot& slot_of(std::uint64_t pos) const noexcept { return slots_[pos % capacity_]; }
    bool is_queued(std::uint64_t pos) const noexcept {
        Slot& slot = slot_of(pos);
        weft::detail::SharedSpinGuard guard(slot.lock);
        return slot.pos == pos && slot.rem.load(std::memory_order_acquire) > 0;  // pairs with rem's acq_rel
    }

    const std::size_t capacity_;
    std::unique_ptr<Slot[]> slots_;

    alignas(64) weft::detail::SpinLock tail_lock_;
    std::atomic<std::uint64_t> tail_{0};
    std::atomic<std::size_t> rx_count_{1};  // the first receiver, made with the channel

    alignas(64) std::atomic<std::size_t> tx_count_{1};
    std::atomic<std::size_t> weak_count_{0};
    std::atomic<std::size_t> refs_{2};  // the first sender and receiver (and every weak sender)
    std::atomic<bool> closed_{false};

    weft::detail::EventWaiters rx_waiters_;
    weft::detail::EventWaiters rx_gone_waiters_;  // Sender::closed()
};

}  // namespace weft::broadcast::detail
