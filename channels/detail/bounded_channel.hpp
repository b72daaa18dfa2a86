// The state a bounded mpsc channel's handles share: the ring, the receiver's waker, the waiting
// senders, and the handle counts.
//
// Lock-free paths: a send with room (claim + publish, plus one load of `rx_waiting_`), a receive
// with a value (take, plus one load of the waiting-senders count), try_send, try_recv. No system
// call and no allocation on them. Locking paths: a sender suspending on a full channel and the
// receiver waking it (SenderWaitList explains why), and Sender::closed() waiters.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <weft/runtime/waker.hpp>
#include <weft/runtime/detail/atomic_waker.hpp>
#include <weft/runtime/detail/context.hpp>
#include "once_waiters.hpp"
#include "recv_status.hpp"
#include "sender_wait_list.hpp"
#include "slot_ring.hpp"

namespace weft::detail {

enum class AcquireStatus { kClaimed, kClosed, kWait };

template <class T>
class BoundedChannel {
public:
    explicit BoundedChannel(std::size_t capacity) : ring_(checked(capacity)) {}

    static std::size_t checked(std::size_t capacity) {
        if (capacity == 0) throw std::invalid_argument("weft: mpsc::channel capacity must be at least 1");
        if (capacity > (std::size_t{1} << 40))
            throw std::invalid_argument("weft: mpsc::channel capacity " + std::to_string(capacity) + " is too large");
        return capacity;
    }

    // ---- handles ----------------------------------------------------------------------------
    // `refs_` counts every handle (senders, permits, the receiver) and frees the state;
    // `senders_` counts what can still send (senders and permits) and closes the channel at zero.

    void add_sender() noexcept {
        senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_sender() noexcept {
        // acq_rel: the last sender's publishes happen before the close the receiver observes.
        if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            ring_.close(SlotRing<T>::kTxClosed);
            rx_waker_.wake();
        }
        drop_ref();
    }
    void drop_receiver() noexcept {
        close_receiver();
        // Destroy what is buffered now; values published later go with the ring.
        std::optional<T> discard;
        while (ring_.try_take(discard) == SlotRing<T>::Take::kValue) discard.reset();
        drop_ref();
    }
    void drop_ref() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // ---- sending ----------------------------------------------------------------------------

    // Claims a slot without waiting. Waiting senders are served first, so a newcomer gets kWait
    // while any sender is queued.
    AcquireStatus try_acquire(std::uint64_t& pos) noexcept {
        if (waiting_senders_.has_waiters()) return ring_.is_rx_closed() ? AcquireStatus::kClosed : AcquireStatus::kWait;
        return from_claim(ring_.try_claim(pos));
    }

    template <class U>
    void publish(std::uint64_t pos, U&& value) {
        ring_.publish(pos, std::forward<U>(value));
        wake_receiver_if_waiting();
    }
    void publish_skip(std::uint64_t pos) noexcept {
        ring_.publish_skip(pos);
        wake_receiver_if_waiting();
    }

    // A sender's turn in line for a slot (send, reserve, blocking_send). Not thread-safe: one
    // operation drives it.
    class Acquirer {
    public:
        explicit Acquirer(BoundedChannel& ch) noexcept : ch_(ch) {}
        Acquirer(const Acquirer&) = delete;
        Acquirer& operator=(const Acquirer&) = delete;
        ~Acquirer() { cancel(); }

        // Queues behind earlier waiters, then retries once (the retry closes the race with a
        // receiver that freed a slot before it could see us).
        AcquireStatus wait_in_line(const Waker& waker, bool at_front = false) {
            if (!ch_.waiting_senders_.enqueue(node_, waker, at_front)) return AcquireStatus::kClosed;
            const AcquireStatus status = ch_.from_claim(ch_.ring_.try_claim(pos_));
            if (status != AcquireStatus::kWait) leave(/*used_notification=*/true);
            return status;
        }

        // After a wake: kWait if it was spurious or the slot went to a newcomer (we are back at
        // the front of the line then).
        AcquireStatus poll(const Waker& waker) {
            switch (ch_.waiting_senders_.state_of(node_)) {
                case Waiter::State::kQueued:
                    return AcquireStatus::kWait;
                case Waiter::State::kClosed:
                    leave(true);
                    return AcquireStatus::kClosed;
                default:
                    break;
            }
            const AcquireStatus status = ch_.from_claim(ch_.ring_.try_claim(pos_));
            if (status != AcquireStatus::kWait) {
                leave(true);
                return status;
            }
            return wait_in_line(waker, /*at_front=*/true);
        }

        std::uint64_t position() const noexcept { return pos_; }
        void cancel() noexcept {
            if (node_.state != Waiter::State::kIdle) leave(false);
        }

    private:
        void leave(bool used_notification) { ch_.waiting_senders_.leave(node_, used_notification); }

        BoundedChannel& ch_;
        Waiter node_;
        std::uint64_t pos_ = 0;
    };

    // ---- receiving (one receiver) --------------------------------------------------------------

    RecvStatus try_recv(std::optional<T>& out) {
        switch (ring_.try_take(out)) {
            case SlotRing<T>::Take::kValue:
                after_take();
                return RecvStatus::kValue;
            case SlotRing<T>::Take::kPending:
                return RecvStatus::kEmpty;  // a sender is mid-publish; its publish wakes us
            case SlotRing<T>::Take::kEmpty:
                break;
        }
        if (!ring_.is_tx_closed() && !ring_.is_rx_closed()) return RecvStatus::kEmpty;
        // Closed: but a value may have been published between our take and the flag load.
        switch (ring_.try_take(out)) {
            case SlotRing<T>::Take::kValue:
                after_take();
                return RecvStatus::kValue;
            case SlotRing<T>::Take::kPending:
                return RecvStatus::kEmpty;
            case SlotRing<T>::Take::kEmpty:
                return RecvStatus::kClosed;
        }
        return RecvStatus::kClosed;
    }

    // Registers `waker` to be woken by the next publish or close, then re-checks (Dekker pair
    // with wake_receiver_if_waiting). Returns the re-check's result.
    RecvStatus register_receiver(const Waker& waker, std::optional<T>& out) {
        rx_waker_.register_waker(waker);
        rx_waiting_.store(true, std::memory_order_seq_cst);
        const RecvStatus status = try_recv(out);
        // Found something after all: withdraw the flag so no sender wakes us for nothing. A sender
        // that already saw it wakes us spuriously, which the Pollable re-check absorbs.
        if (status != RecvStatus::kEmpty) rx_waiting_.store(false, std::memory_order_relaxed);
        return status;
    }

    void close_receiver() {
        if (ring_.close(SlotRing<T>::kRxClosed) & SlotRing<T>::kRxClosed) return;
        waiting_senders_.close();
        closed_waiters_.fire();
    }

    // ---- state ----------------------------------------------------------------------------
    std::size_t capacity() const noexcept { return ring_.capacity(); }
    std::size_t len() const noexcept { return ring_.len(); }
    bool is_rx_closed() const noexcept { return ring_.is_rx_closed(); }
    // Closed either way: the receiver closed, or every sender (and permit) is gone.
    bool is_closed() const noexcept { return ring_.is_rx_closed() || ring_.is_tx_closed(); }
    OnceWaiters& closed_waiters() noexcept { return closed_waiters_; }

private:
    ~BoundedChannel() = default;

    AcquireStatus from_claim(typename SlotRing<T>::Claim claim) const noexcept {
        switch (claim) {
            case SlotRing<T>::Claim::kClaimed: return AcquireStatus::kClaimed;
            case SlotRing<T>::Claim::kClosed: return AcquireStatus::kClosed;
            case SlotRing<T>::Claim::kFull: break;
        }
        return AcquireStatus::kWait;
    }

    void after_take() {
        if (waiting_senders_.has_waiters()) waiting_senders_.notify_one();
    }

    void wake_receiver_if_waiting() noexcept {
        // seq_cst load: the other half of register_receiver's Dekker pair. The exchange makes one
        // sender, not every sender, pay for the wake.
        if (rx_waiting_.load(std::memory_order_seq_cst) && rx_waiting_.exchange(false, std::memory_order_acq_rel))
            rx_waker_.wake();
    }

    SlotRing<T> ring_;
    SenderWaitList waiting_senders_;
    OnceWaiters closed_waiters_;
    AtomicWaker rx_waker_;
    alignas(64) std::atomic<bool> rx_waiting_{false};
    alignas(64) std::atomic<std::size_t> senders_{1};
    std::atomic<std::size_t> refs_{2};  // the first sender and the receiver
};

}  // namespace weft::detail
