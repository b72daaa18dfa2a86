// Bounded multi-producer single-consumer ring used by mpsc::channel. Its slots are the channel's
// capacity: a sender that claims a slot holds a permit.
//
// Layout: `capacity` slots, each a value and a `stamp`. A position is lap * one_lap + index, where
// one_lap is the power of two above the capacity (so advancing needs no division). `head_` is
// written only by the consumer and `tail_` by producers (and the close bits); each sits on its own
// cache line. Slot i is free for the producer at position p when stamp == p, holds p's value when
// stamp == p + 1 (with kSkip set: a permit dropped unused, nothing to read).
//
// `tail_` also carries the close bits: kRxClosed (the receiver closed: claims fail) and kTxClosed
// (every sender is gone). Setting a bit and claiming are both RMWs on `tail_`, so a claim either
// happens before the close or fails: no value slips in after it.
//
// Invariant: tail - head <= capacity (positions compared as lap/index pairs), at every
// linearisation point. A slot is full for a producer while it holds the previous lap's value or
// the previous lap's claim (a Permit not used yet).
//
// Orders:
//  - claim: the stamp load is acquire (pairs with the consumer's store that freed the slot, so the
//    old value is gone before we write); the CAS on tail_ is relaxed: it decides ownership of the
//    slot, nothing else.
//  - publish: the stamp store is seq_cst: release publishes the value to the consumer, and seq_cst
//    orders it before the caller's load of "is the receiver waiting" (a Dekker pair with the
//    receiver's seq_cst store of that flag followed by its seq_cst stamp load).
//  - take: the stamp load is seq_cst (acquire for the value; seq_cst for that Dekker pair); the
//    store that frees the slot is seq_cst for the mirror pair with waiting senders.
//
// Races worth knowing: a producer preempted between claiming a slot and publishing it stalls the
// consumer at that slot (it may not skip it, or FIFO breaks); the consumer then waits as on an
// empty channel and the publish wakes it. The same holds for a reserved permit not yet used.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#include <weft/runtime/detail/backoff.hpp>

namespace weft::detail {

template <class T>
class SlotRing {
public:
    static constexpr std::uint64_t kRxClosed = std::uint64_t{1} << 63;
    static constexpr std::uint64_t kTxClosed = std::uint64_t{1} << 62;
    static constexpr std::uint64_t kFlags = kRxClosed | kTxClosed;
    static constexpr std::uint64_t kSkip = std::uint64_t{1} << 63;  // in a stamp

    explicit SlotRing(std::size_t capacity)
        : capacity_(capacity), one_lap_(std::bit_ceil(std::uint64_t{capacity} + 1)),
          slots_(std::make_unique<Slot[]>(capacity)) {
        for (std::size_t i = 0; i < capacity; ++i) slots_[i].stamp.store(i, std::memory_order_relaxed);
    }

    ~SlotRing() {
        // Destroy values still in the ring (the consumer is gone; no producer is mid-write, since
        // each holds a reference to the channel).
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed) & ~kFlags;
        while (head != tail) {
            Slot& s = slot(head);
            if (s.stamp.load(std::memory_order_relaxed) == head + 1) s.value()->~T();
            head = advance(head);
        }
    }

    SlotRing(const SlotRing&) = delete;
    SlotRing& operator=(const SlotRing&) = delete;

    std::size_t capacity() const noexcept { return capacity_; }

    enum class Claim { kClaimed, kFull, kClosed };

    // Producer: claims the slot at the tail. On kClaimed, `pos` is the position to write.
    Claim try_claim(std::uint64_t& pos) noexcept {
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        for (unsigned spins = 0;; ++spins) {
            if (tail & kRxClosed) return Claim::kClosed;
            const std::uint64_t p = tail & ~kFlags;
            const std::uint64_t stamp = slot(p).stamp.load(std::memory_order_seq_cst);
            if (stamp == p) {
                if (tail_.compare_exchange_weak(tail, advance(p) | (tail & kFlags), std::memory_order_relaxed,
                                                std::memory_order_relaxed)) {
                    pos = p;
                    return Claim::kClaimed;
                }
                continue;  // tail_ moved; `tail` holds the new value
            }
            const std::uint64_t previous_lap = (stamp & ~kSkip) + one_lap_;
            if (previous_lap == p + 1 || previous_lap == p) {
                // The slot still belongs to the previous lap: its value is published but not yet
                // taken, or its position is claimed but not yet published (a permit can hold a
                // claim indefinitely, so this must not be mistaken for a passing state and spun
                // on). Full, unless the consumer is freeing it right now.
                const std::uint64_t head = head_.load(std::memory_order_seq_cst);
                if (head + one_lap_ == p) return Claim::kFull;
            }
            backoff(spins);
            tail = tail_.load(std::memory_order_relaxed);
        }
    }

    // Producer: writes the value for a claimed position and publishes it.
    template <class U>
    void publish(std::uint64_t pos, U&& value) {
        Slot& s = slot(pos);
        ::new (s.storage) T(std::forward<U>(value));
        s.stamp.store(pos + 1, std::memory_order_seq_cst);
    }

    // Producer: gives up a claimed position without a value; the consumer skips it.
    void publish_skip(std::uint64_t pos) noexcept { slot(pos).stamp.store((pos + 1) | kSkip, std::memory_order_seq_cst); }

    enum class Take { kValue, kEmpty, kPending };

    // Consumer: takes the value at the head. kEmpty: nothing claimed; kPending: a producer claimed
    // the head slot but has not published yet (wait as if empty; its publish wakes us).
    Take try_take(std::optional<T>& out) {
        for (;;) {
            const std::uint64_t head = head_.load(std::memory_order_relaxed);  // only we write it
            Slot& s = slot(head);
            const std::uint64_t stamp = s.stamp.load(std::memory_order_seq_cst);
            if ((stamp & ~kSkip) == head + 1) {
                if (!(stamp & kSkip)) {
                    T* v = s.value();
                    out.emplace(std::move(*v));
                    v->~T();
                }
                s.stamp.store(head + one_lap_, std::memory_order_seq_cst);  // free for the next lap
                head_.store(advance(head), std::memory_order_release);   // for producers' full check
                if (stamp & kSkip) continue;
                return Take::kValue;
            }
            return (tail_.load(std::memory_order_acquire) & ~kFlags) == head ? Take::kEmpty : Take::kPending;
        }
    }

    // Sets a close bit; returns the tail word before.
    std::uint64_t close(std::uint64_t bit) noexcept { return tail_.fetch_or(bit, std::memory_order_acq_rel); }
    bool is_rx_closed() const noexcept { return tail_.load(std::memory_order_acquire) & kRxClosed; }
    bool is_tx_closed() const noexcept { return tail_.load(std::memory_order_acquire) & kTxClosed; }

    // Messages buffered or being written, approximately (exact when nobody is mid-operation).
    std::size_t len() const noexcept {
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire) & ~kFlags;
        return distance(head, tail);
    }

private:
    struct alignas(64) Slot {
        std::atomic<std::uint64_t> stamp;
        alignas(T) std::byte storage[sizeof(T)];
        T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    };

    std::uint64_t index_of(std::uint64_t pos) const noexcept { return pos & (one_lap_ - 1); }
    Slot& slot(std::uint64_t pos) const noexcept { return slots_[index_of(pos)]; }
    std::uint64_t advance(std::uint64_t pos) const noexcept {
        return index_of(pos) + 1 < capacity_ ? pos + 1 : (pos & ~(one_lap_ - 1)) + one_lap_;
    }
    std::size_t distance(std::uint64_t from, std::uint64_t to) const noexcept {
        const std::uint64_t laps = (to & ~(one_lap_ - 1)) - (from & ~(one_lap_ - 1));
        return static_cast<std::size_t>(laps / one_lap_ * capacity_ + index_of(to) - index_of(from));
    }

    const std::size_t capacity_;
    const std::uint64_t one_lap_;
    std::unique_ptr<Slot[]> slots_;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::atomic<std::uint64_t> tail_{0};
};

}  // namespace weft::detail
