// The state a bounded mpsc channel's handles share: the ring, the receiver's waker, the waiting
// senders, and the handle counts.
//
// Lock-free paths: a send with room (claim + publish, plus one load of `rx_waiting_`), a receive
// with a value (take, plus one load of the waiting-senders count), try_send, try_recv, reserving
// and using permits. No system call and no allocation on them. Locking paths: a sender suspending
// on a full channel and the hand-off of capacity to it (SenderWaitList explains why), and
// Sender::closed() waiters. Teardown (dropping the receiver, close, the last sender) allocates
// nothing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <weft/runtime/waker.hpp>
#include <weft/runtime/detail/atomic_waker.hpp>
#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/inline.hpp>
#include "once_waiters.hpp"
#include "recv_status.hpp"
#include "sender_wait_list.hpp"
#include "slot_ring.hpp"

namespace weft::detail {

// kClaimed: a slot position to publish into (the fast path of send). kPermits: the permits asked
// for are reserved (reserve, or a hand-off after waiting). kSent: a waiting send's offered value
// was delivered for it (sender_wait_list.hpp, direct hand-off).
enum class AcquireStatus { kClaimed, kPermits, kSent, kClosed, kWait };

template <class T>
class BoundedChannel {
    using Ring = SlotRing<T>;

public:
    explicit BoundedChannel(std::size_t capacity) : ring_(checked(capacity)) {}

    static std::size_t checked(std::size_t capacity) {
        if (capacity == 0) throw std::invalid_argument("weft: mpsc::channel capacity must be at least 1");
        if (capacity > Ring::kMaxCapacity)
            throw std::invalid_argument("weft: mpsc::channel capacity " + std::to_string(capacity) +
                                        " is too large (at most 2^24; use unbounded_channel for more)");
        return capacity;
    }

    // ---- handles ----------------------------------------------------------------------------
    // `refs_` counts every handle (senders, weak senders, permits, the receiver) and frees the
    // state; `senders_` counts what can still send (senders and permit holders) and closes the
    // channel at zero; `sender_handles_` and `weak_senders_` count Sender and WeakSender objects,
    // for the strong and weak counts Tokio reports.

    void add_sender() noexcept {
        senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_sender() noexcept {
        // acq_rel: the last sender's publishes happen before the close the receiver observes.
        if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            ring_.close(Ring::kTxClosed);
            rx_waker_.wake();
        }
        drop_ref();
    }
    void add_sender_handle() noexcept {
        add_sender();
        sender_handles_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_sender_handle() noexcept {
        sender_handles_.fetch_sub(1, std::memory_order_relaxed);
        drop_sender();
    }
    // WeakSender::upgrade: a new sender, unless every sender and permit is already gone (the
    // channel closed for good then).
    bool try_upgrade() noexcept {
        std::size_t n = senders_.load(std::memory_order_relaxed);
        do {
            if (n == 0) return false;
        } while (!senders_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel, std::memory_order_relaxed));
        refs_.fetch_add(1, std::memory_order_relaxed);
        sender_handles_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    void add_weak() noexcept {
        weak_senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_weak() noexcept {
        weak_senders_.fetch_sub(1, std::memory_order_relaxed);
        drop_ref();
    }
    std::size_t sender_strong_count() const noexcept { return sender_handles_.load(std::memory_order_relaxed); }
    std::size_t sender_weak_count() const noexcept { return weak_senders_.load(std::memory_order_relaxed); }

    void drop_receiver() noexcept {
        close_receiver();
        // Destroy what is buffered now, in place (no move, so nothing can throw); values published
        // later go with the ring.
        while (ring_.peek() == Ring::Take::kValue) ring_.pop_front();
        drop_ref();
    }
    void drop_ref() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // ---- sending ----------------------------------------------------------------------------

    // Claims a slot without waiting. Waiting senders are served first, so a newcomer gets kWait
    // while any sender is queued.
    WEFT_INLINE AcquireStatus try_claim(std::uint64_t& pos) noexcept {
        if (waiting_senders_.has_waiters()) return ring_.is_rx_closed() ? AcquireStatus::kClosed : AcquireStatus::kWait;
        return from_claim(ring_.try_claim(pos), AcquireStatus::kClaimed);
    }
    // Reserves n permits without waiting (1 <= n <= capacity), behind any waiting sender.
    AcquireStatus try_reserve(std::size_t n) noexcept {
        if (waiting_senders_.has_waiters()) return ring_.is_rx_closed() ? AcquireStatus::kClosed : AcquireStatus::kWait;
        return from_claim(ring_.try_reserve(n), AcquireStatus::kPermits);
    }

    template <class U>
    void publish(std::uint64_t pos, U&& value) {
        try {
            ring_.publish(pos, std::forward<U>(value));
        } catch (...) {
            wake_receiver_if_waiting();  // it may wait at the skipped slot
            throw;
        }
        wake_receiver_if_waiting();
    }
    // Gives up a claimed slot without a value (a send abandoned between claim and publish).
    void abandon_claim(std::uint64_t pos) noexcept {
        ring_.publish_skip(pos);
        wake_receiver_if_waiting();
    }
    // Sends `value` with one reserved permit (the permit is used even if the move throws: its
    // slot is then skipped and the capacity comes back when the receiver passes it).
    template <class U>
    void send_with_permit(U&& value) {
        publish(ring_.claim_with_permit(), std::forward<U>(value));
    }
    // Gives n unused permits back: to the first waiting senders, or to the channel.
    void release_permits(std::size_t n) noexcept {
        give_back(n);
        if (waiting_senders_.has_waiters()) hand_off();
    }

    // Whether a waiting send may offer its value for direct hand-off: moving it from the freer's
    // thread, under the wait list's lock, must not throw.
    static constexpr bool kDeliverable = std::is_nothrow_move_constructible_v<T>;

    // A sender's turn in line for n permits (send, reserve, reserve_many, blocking_send). Not
    // thread-safe: one operation drives it. Destroyed in line, it leaves; destroyed holding a
    // hand-off it did not take, it gives the permits back.
    class Acquirer {
    public:
        Acquirer(BoundedChannel& ch, std::size_t n) noexcept : ch_(ch) { node_.wanted = n; }
        Acquirer(const Acquirer&) = delete;
        Acquirer& operator=(const Acquirer&) = delete;
        ~Acquirer() { cancel(); }

        // Offers `value` for direct hand-off while in line (one message; kDeliverable only): a
        // freer may then send it and report kSent. Null withdraws the offer. Only while not in line.
        void offer(T* value) noexcept {
            static_assert(kDeliverable);
            node_.offered = value;
        }

        // Queues behind earlier waiters, then retries once (the retry closes the race with
        // capacity freed before the freer could see us). kPermits: the permits are ours.
        AcquireStatus wait_in_line(const Waker& waker) {
            node_.delivered = false;
            if (!ch_.waiting_senders_.enqueue(node_, waker)) return AcquireStatus::kClosed;
            const AcquireStatus status = ch_.from_claim(ch_.ring_.try_reserve(node_.wanted), AcquireStatus::kPermits);
            if (status == AcquireStatus::kWait) return status;
            if (cancel()) {  // left the line, but our value was delivered meanwhile
                if (status == AcquireStatus::kPermits) ch_.release_permits(node_.wanted);
                return AcquireStatus::kSent;
            }
            return status;
        }

        // After a wake: kPermits once capacity was handed to us (kSent if our offered value was
        // sent), kClosed once the receiver closed, kWait after a spurious wake (still in line).
        AcquireStatus poll() noexcept {
            switch (SenderWaitList::state_of(node_)) {
                case Waiter::State::kNotified:
                    SenderWaitList::accept(node_);
                    return node_.delivered ? AcquireStatus::kSent : AcquireStatus::kPermits;
                case Waiter::State::kClosed:
                    cancel();
                    return AcquireStatus::kClosed;
                default:
                    return AcquireStatus::kWait;
            }
        }

        // Leaves the line (returning a hand-off of permits not taken). True if our offered value
        // was delivered before we left: that send happened.
        bool cancel() noexcept {
            // Most sends never queued: only they pay for leaving the line.
            if (node_.state.load(std::memory_order_relaxed) == Waiter::State::kIdle) [[likely]]
                return false;
            return leave_line();
        }

    private:
        WEFT_OUTLINE bool leave_line() noexcept {
            bool published = false;
            const bool delivered = ch_.waiting_senders_.leave(
                node_, [this](std::size_t n) noexcept { ch_.give_back(n); }, ch_.server(published));
            if (published) ch_.wake_receiver_if_waiting();
            return delivered;
        }

        BoundedChannel& ch_;
        SenderWaiter node_;
    };

    // ---- receiving (one receiver) --------------------------------------------------------------

    // The front contract (recv_port.hpp): look at the next message, move it out, then pop it, so
    // a move that throws leaves it in the channel.
    WEFT_INLINE RecvStatus poll_front() noexcept {
        if (ring_.peek() == Ring::Take::kValue) [[likely]] return RecvStatus::kValue;
        return poll_front_slow();
    }
    WEFT_OUTLINE RecvStatus poll_front_slow() noexcept {
        switch (ring_.peek_slow()) {
            case Ring::Take::kValue: return RecvStatus::kValue;
            case Ring::Take::kPending: return RecvStatus::kEmpty;  // a sender is mid-publish; its publish wakes us
            case Ring::Take::kEmpty: break;
        }
        if (!ring_.no_more_claims()) return RecvStatus::kEmpty;
        // Closed: but a value may have been published between our look and the flag load.
        switch (ring_.peek_slow()) {
            case Ring::Take::kValue: return RecvStatus::kValue;
            case Ring::Take::kPending: return RecvStatus::kEmpty;
            case Ring::Take::kEmpty: break;
        }
        return RecvStatus::kClosed;
    }
    T& front() noexcept { return ring_.front(); }
    void pop_front() noexcept {
        ring_.pop_front();
        after_take();
    }

    // Registers `waker` to be woken by the next publish or close, then re-checks (Dekker pair
    // with wake_receiver_if_waiting). Returns the re-check's result.
    RecvStatus register_receiver(const Waker& waker) noexcept {
        rx_waker_.register_waker(waker);
        rx_waiting_.store(true, std::memory_order_seq_cst);
        const RecvStatus status = poll_front();
        // Found something after all: withdraw the flag so no sender wakes us for nothing. A sender
        // that already saw it wakes us spuriously, which the Pollable re-check absorbs.
        if (status != RecvStatus::kEmpty) rx_waiting_.store(false, std::memory_order_relaxed);
        return status;
    }

    void close_receiver() noexcept {
        if (ring_.close(Ring::kRxClosed) & Ring::kRxClosed) return;
        waiting_senders_.close();
        closed_waiters_.fire();
    }

    // ---- state ----------------------------------------------------------------------------
    std::size_t capacity() const noexcept { return ring_.capacity(); }
    std::size_t len() const noexcept { return ring_.len(); }
    // Capacity free to claim now: neither buffered nor reserved (approximate under traffic).
    std::size_t available() const noexcept {
        const std::size_t used = ring_.len() + ring_.permits();
        return used >= ring_.capacity() ? 0 : ring_.capacity() - used;
    }
    bool is_rx_closed() const noexcept { return ring_.is_rx_closed(); }
    // Closed either way: the receiver closed, or every sender (and permit) is gone.
    bool is_closed() const noexcept { return ring_.is_rx_closed() || ring_.is_tx_closed(); }
    OnceWaiters& closed_waiters() noexcept { return closed_waiters_; }

private:
    ~BoundedChannel() = default;

    AcquireStatus from_claim(typename Ring::Claim claim, AcquireStatus claimed) const noexcept {
        switch (claim) {
            case Ring::Claim::kClaimed: return claimed;
            case Ring::Claim::kClosed: return AcquireStatus::kClosed;
            case Ring::Claim::kFull: break;
        }
        return AcquireStatus::kWait;
    }

    // Returns n permits to the ring. A receiver closed with permits outstanding waits for them;
    // the last one given back ends its wait.
    void give_back(std::size_t n) noexcept {
        const std::uint64_t tail = ring_.release(n);
        if (Ring::rx_closed_in(tail) && Ring::permits_in(tail) == 0) wake_receiver_if_waiting();
    }
    // Serves one waiter from freed capacity: delivers its offered value into a slot of its own,
    // or reserves the permits it wants. `published` records a delivery, whose receiver wake the
    // caller does once the wait list's lock is released.
    auto server(bool& published) noexcept {
        return [this, &published](SenderWaiter& w) noexcept {
            if constexpr (kDeliverable) {
                if (w.offered) {
                    std::uint64_t pos = 0;
                    if (ring_.try_claim(pos) != Ring::Claim::kClaimed) return false;
                    ring_.publish(pos, std::move(*static_cast<T*>(w.offered)));
                    w.delivered = true;
                    published = true;
                    return true;
                }
            }
            return ring_.try_reserve(w.wanted) == Ring::Claim::kClaimed;
        };
    }
    void hand_off() noexcept {
        bool published = false;
        waiting_senders_.hand_off(server(published));
        if (published) wake_receiver_if_waiting();
    }

    void after_take() noexcept {
        if (waiting_senders_.has_waiters()) hand_off();
    }

    void wake_receiver_if_waiting() noexcept {
        // seq_cst load: the other half of register_receiver's Dekker pair.
        if (rx_waiting_.load(std::memory_order_seq_cst)) wake_receiver();
    }
    WEFT_OUTLINE void wake_receiver() noexcept {
        // The exchange makes one sender, not every sender, pay for the wake.
        if (rx_waiting_.exchange(false, std::memory_order_acq_rel)) rx_waker_.wake();
    }

    Ring ring_;
    SenderWaitList waiting_senders_;
    OnceWaiters closed_waiters_;
    AtomicWaker rx_waker_;
    alignas(64) std::atomic<bool> rx_waiting_{false};
    alignas(64) std::atomic<std::size_t> senders_{1};
    std::atomic<std::size_t> refs_{2};  // the first sender and the receiver
    std::atomic<std::size_t> sender_handles_{1};
    std::atomic<std::size_t> weak_senders_{0};
};

}  // namespace weft::detail
