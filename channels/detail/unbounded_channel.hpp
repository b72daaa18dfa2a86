// The state an unbounded mpsc channel's handles share.
//
// The queue is moodycamel's ConcurrentQueue (lock-free, allocation amortised over blocks). Each
// Sender owns a ProducerToken: moodycamel keeps FIFO order per producer, and a token (unlike its
// implicit per-thread producers) follows the Sender when its task moves between worker threads, so
// per-sender order holds.
//
// Receiver wakeups: the receiver sets `rx_waiting_` (seq_cst) and re-checks the queue; a sender
// enqueues, then (seq_cst fence) reads the flag. One of them sees the other.
//
// Closing: `flags_` holds kTxClosed (last sender gone) and kRxClosed (receiver closed or gone).
// A send that checks the flag just before the receiver closes may still enqueue; that value is
// destroyed with the channel, as for a value sent just before a close.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

#include <concurrentqueue/concurrentqueue.h>

#include <weft/runtime/detail/atomic_waker.hpp>
#include "recv_status.hpp"

namespace weft::detail {

template <class T>
class UnboundedChannel {
    // moodycamel dequeues by move-assignment into an existing object.
    static_assert(std::is_default_constructible_v<T> && std::is_move_assignable_v<T>,
                  "weft: mpsc::unbounded_channel<T> needs a default-constructible, move-assignable T");

public:
    static constexpr std::uint32_t kTxClosed = 1;
    static constexpr std::uint32_t kRxClosed = 2;

    using Token = moodycamel::ProducerToken;
    std::unique_ptr<Token> make_token() { return std::make_unique<Token>(queue_); }

    void add_sender() noexcept {
        senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_sender() noexcept {
        // acq_rel: the last sender's enqueues happen before the close the receiver observes.
        if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            flags_.fetch_or(kTxClosed, std::memory_order_acq_rel);
            rx_waker_.wake();
        }
        drop_ref();
    }
    void drop_receiver() noexcept {
        close_receiver();
        T discard;
        while (queue_.try_dequeue(discard)) {
        }
        drop_ref();
    }

    // Returns false if the receiver is gone or closed (the value is left untouched).
    bool send(Token& token, T& value) {
        if (flags_.load(std::memory_order_acquire) & kRxClosed) return false;
        if (!queue_.enqueue(token, std::move(value))) throw std::bad_alloc();
        std::atomic_thread_fence(std::memory_order_seq_cst);  // Dekker pair with register_receiver
        if (rx_waiting_.load(std::memory_order_relaxed) && rx_waiting_.exchange(false, std::memory_order_acq_rel))
            rx_waker_.wake();
        return true;
    }

    RecvStatus try_recv(std::optional<T>& out) {
        if (dequeue(out)) return RecvStatus::kValue;
        if (!(flags_.load(std::memory_order_acquire) & (kTxClosed | kRxClosed))) return RecvStatus::kEmpty;
        // Closed: a value enqueued before the close must still be received.
        return dequeue(out) ? RecvStatus::kValue : RecvStatus::kClosed;
    }

    RecvStatus register_receiver(const Waker& waker, std::optional<T>& out) {
        rx_waker_.register_waker(waker);
        rx_waiting_.store(true, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const RecvStatus status = try_recv(out);
        if (status != RecvStatus::kEmpty) rx_waiting_.store(false, std::memory_order_relaxed);
        return status;
    }

    void close_receiver() noexcept { flags_.fetch_or(kRxClosed, std::memory_order_acq_rel); }
    bool is_rx_closed() const noexcept { return flags_.load(std::memory_order_acquire) & kRxClosed; }
    // Closed either way: the receiver closed, or every sender is gone.
    bool is_closed() const noexcept { return flags_.load(std::memory_order_acquire) & (kRxClosed | kTxClosed); }
    std::size_t len() const noexcept { return queue_.size_approx(); }

    void drop_ref() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

private:
    bool dequeue(std::optional<T>& out) {
        T value;
        if (!queue_.try_dequeue(value)) return false;
        out.emplace(std::move(value));
        return true;
    }

    moodycamel::ConcurrentQueue<T> queue_;
    AtomicWaker rx_waker_;
    alignas(64) std::atomic<bool> rx_waiting_{false};
    alignas(64) std::atomic<std::uint32_t> flags_{0};
    std::atomic<std::size_t> senders_{1};
    std::atomic<std::size_t> refs_{2};
};

}  // namespace weft::detail
