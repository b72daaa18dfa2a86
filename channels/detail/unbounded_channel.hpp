// The state an unbounded mpsc channel's handles share.
//
// The queue is moodycamel's ConcurrentQueue (lock-free, allocation amortised over blocks). Each
// Sender owns a ProducerToken: moodycamel keeps FIFO order per producer, and a token (unlike its
// implicit per-thread producers) follows the Sender when its task moves between worker threads, so
// per-sender order holds.
//
// Throwing moves: moodycamel leaves the queue unchanged when constructing an element throws (the
// element is not enqueued), but destroys an element whose move-assignment throws while it is
// dequeued. So a T whose moves cannot throw is stored in place, and any other T in a box (one
// allocation per message) whose moves cannot throw. The receiver dequeues into `front_`, which it
// alone touches, and pops it only after the message was moved to its destination (recv_port.hpp):
// a move out that throws leaves it there for the next receive.
//
// Receiver wakeups: the receiver sets `rx_waiting_` (seq_cst) and re-checks the queue; a sender
// enqueues, then (seq_cst fence) reads the flag. One of them sees the other.
//
// Counts: `senders_` counts Senders (the channel closes for the receiver when it reaches 0, and an
// upgrade can never raise it from 0 again), `weak_senders_` the WeakUnboundedSenders, and `refs_`
// every handle (senders, weak senders, the receiver): the last one deletes the channel.
//
// Closing: `flags_` holds kTxClosed (last sender gone) and kRxClosed (receiver closed or gone).
// A send that checks the flag just before the receiver closes may still enqueue; that value is
// destroyed with the channel, as for a value sent just before a close. Closing and dropping the
// receiver never allocate: the closed() waiters are woken through a fixed-size batch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <concurrentqueue/concurrentqueue.h>

#include <weft/runtime/detail/atomic_waker.hpp>
#include <weft/runtime/detail/waiter_list.hpp>
#include "event_waiters.hpp"
#include "recv_status.hpp"

namespace weft::detail {

template <class T>
class UnboundedChannel {
    static_assert(std::is_move_constructible_v<T>, "weft: mpsc::unbounded_channel<T> needs a move-constructible T");

    // moodycamel moves elements in by construction and out by assignment into a default-
    // constructed object; none of it may throw for T to be stored in place.
    static constexpr bool kInPlace = std::is_nothrow_default_constructible_v<T> &&
                                     std::is_nothrow_move_constructible_v<T> &&
                                     std::is_nothrow_move_assignable_v<T>;
    using Stored = std::conditional_t<kInPlace, T, std::unique_ptr<T>>;

public:
    static constexpr std::uint32_t kTxClosed = 1;
    static constexpr std::uint32_t kRxClosed = 2;

    using Token = moodycamel::ProducerToken;
    // @throws std::bad_alloc if moodycamel cannot allocate the producer (it reports that as an
    // invalid token, which would crash the first enqueue).
    std::unique_ptr<Token> make_token() {
        auto token = std::make_unique<Token>(queue_);
        if (!token->valid()) throw std::bad_alloc();
        return token;
    }

    // Another Sender, copied from a live one (so the count is not 0).
    void add_sender() noexcept {
        senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);  // the caller holds a reference
    }
    // A Sender from a weak one: false once every sender is gone (the channel stays closed).
    bool try_add_sender() noexcept {
        std::size_t n = senders_.load(std::memory_order_relaxed);
        do {
            if (n == 0) return false;
        } while (!senders_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
        refs_.fetch_add(1, std::memory_order_relaxed);  // the caller holds a (weak) reference
        return true;
    }
    void drop_sender() noexcept {
        // acq_rel: the last sender's enqueues happen before the close the receiver observes.
        if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            flags_.fetch_or(kTxClosed, std::memory_order_acq_rel);
            rx_waker_.wake();
        }
        drop_ref();
    }
    void add_weak_sender() noexcept {
        weak_senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);  // the caller holds a reference
    }
    void drop_weak_sender() noexcept {
        weak_senders_.fetch_sub(1, std::memory_order_relaxed);
        drop_ref();
    }
    std::size_t sender_strong_count() const noexcept { return senders_.load(std::memory_order_acquire); }
    std::size_t sender_weak_count() const noexcept { return weak_senders_.load(std::memory_order_acquire); }

    // Closes, then destroys what is buffered. Allocates nothing.
    void drop_receiver() noexcept {
        close_receiver();
        front_ = Stored{};
        has_front_ = false;
        Stored discard;
        while (queue_.try_dequeue(discard)) {
        }
        drop_ref();
    }

    // Returns false if the receiver is gone or closed (the value is left untouched).
    // @throws std::bad_alloc if the queue (or a box) cannot be allocated: `value` is left intact,
    // unless restoring it from its box throws too (then that exception propagates) or T cannot be
    // move-assigned (then it is lost).
    // Throws what T's move constructor throws; nothing is enqueued then.
    bool send(Token& token, T& value) {
        if (flags_.load(std::memory_order_acquire) & kRxClosed) return false;
        if constexpr (kInPlace) {
            if (!queue_.enqueue(token, std::move(value))) throw std::bad_alloc();  // value untouched
        } else {
            auto box = std::make_unique<T>(std::move(value));
            if (!queue_.enqueue(token, std::move(box))) {
                if constexpr (std::is_move_assignable_v<T>) value = std::move(*box);
                throw std::bad_alloc();
            }
        }
        std::atomic_thread_fence(std::memory_order_seq_cst);  // Dekker pair with register_receiver
        if (rx_waiting_.load(std::memory_order_relaxed) && rx_waiting_.exchange(false, std::memory_order_acq_rel))
            rx_waker_.wake();
        return true;
    }

    // The front contract (recv_port.hpp). Receiver only.
    RecvStatus poll_front() noexcept {
        if (has_front_ || dequeue_front()) return RecvStatus::kValue;
        if (!(flags_.load(std::memory_order_acquire) & (kTxClosed | kRxClosed))) return RecvStatus::kEmpty;
        // Closed: a value enqueued before the close must still be received.
        return dequeue_front() ? RecvStatus::kValue : RecvStatus::kClosed;
    }
    RecvStatus register_receiver(const Waker& waker) noexcept {
        rx_waker_.register_waker(waker);
        rx_waiting_.store(true, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const RecvStatus status = poll_front();
        if (status != RecvStatus::kEmpty) rx_waiting_.store(false, std::memory_order_relaxed);
        return status;
    }
    T& front() noexcept {
        if constexpr (kInPlace) return front_;
        else return *front_;
    }
    void pop_front() noexcept {
        if constexpr (!kInPlace) front_.reset();  // the moved-from value goes now, not at the next receive
        has_front_ = false;
    }

    // seq_cst: the store half of EventWaiters' protocol (closed() waiters).
    void close_receiver() noexcept {
        if (!(flags_.fetch_or(kRxClosed, std::memory_order_seq_cst) & kRxClosed)) closed_waiters_.wake_all();
    }
    // seq_cst: read as the condition of a closed() wait (EventWaiters).
    bool is_rx_closed() const noexcept { return flags_.load(std::memory_order_seq_cst) & kRxClosed; }
    // Closed either way: the receiver closed, or every sender is gone.
    bool is_closed() const noexcept { return flags_.load(std::memory_order_acquire) & (kRxClosed | kTxClosed); }
    // Receiver only (it reads the front).
    std::size_t len() const noexcept { return queue_.size_approx() + (has_front_ ? 1 : 0); }
    EventWaiters& closed_waiters() noexcept { return closed_waiters_; }

    void drop_ref() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

private:
    bool dequeue_front() noexcept {
        if (!queue_.try_dequeue(front_)) return false;
        has_front_ = true;
        return true;
    }

    moodycamel::ConcurrentQueue<Stored> queue_;
    AtomicWaker rx_waker_;
    EventWaiters closed_waiters_;  // tasks in UnboundedSender::closed()
    Stored front_{};               // receiver only: the next message once dequeued
    bool has_front_ = false;
    alignas(64) std::atomic<bool> rx_waiting_{false};
    alignas(64) std::atomic<std::uint32_t> flags_{0};
    std::atomic<std::size_t> senders_{1};
    std::atomic<std::size_t> weak_senders_{0};
    std::atomic<std::size_t> refs_{2};
};

}  // namespace weft::detail
