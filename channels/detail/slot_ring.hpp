// Bounded multi-producer single-consumer ring used by mpsc::channel. It counts the channel's
// capacity two ways: slots holding (or being written with) a message, and permits reserved but not
// used yet. A permit is capacity, not a place: it holds no slot, so messages sent while it is held
// keep their order and the receiver never waits on it (Tokio's semantics).
//
// Layout: `capacity` slots, each a value and a `stamp`. A position is lap * one_lap + index, where
// one_lap is the power of two above the capacity (so advancing needs no division), kept modulo
// 2^kPosBits. `head_` is written only by the consumer, which reads its own plain copy,
// `rx_head_`. `tail_` is one word: the tail position, the number of reserved permits, and the
// close bits kRxClosed (the receiver closed: claims and reservations fail) and kTxClosed (every
// sender and permit is gone). Claiming, reserving, using a permit and closing are all RMWs on
// that one word, so none can slip past another: a claim either happens before the close or
// fails, and the capacity check below sees the permit count and the tail together. `head_` and
// `tail_` sit on their own cache lines.
//
// Slot i is free for the producer at position p when stamp == p, holds p's value when
// stamp == p + 1 (with kSkip set: nothing to read, a send whose value's move threw).
//
// Invariant: (tail - head) + permits <= capacity, at every linearisation point. A claim or a
// reservation of n checks it by looking at one slot: the last one it would need, at position
// tail + permits + n - 1. The consumer frees slots in order, so if that one is free for its lap,
// every slot before it is too.
//
// Orders:
//  - claim/reserve: the tail word and the stamp are loaded seq_cst (the stamp load pairs with the
//    consumer's store that freed the slot, so the old value is gone before we write; seq_cst for
//    the Dekker pairs with waiting senders, see sender_wait_list.hpp). Every CAS on the tail word
//    (a claim, a reservation, a permit used) is seq_cst too: a waiter's seq_cst re-read of the word
//    may otherwise return a value that a relaxed CAS already replaced (relaxed writes are outside
//    the seq_cst order) and report full while the freer saw no waiter: a lost wake-up that the
//    Relacy model (tests/model/sender_hand_off_model.cpp) found. On x86 a CAS is a locked
//    instruction whatever its order, so this costs nothing there.
//  - publish: the stamp store is seq_cst: release publishes the value to the consumer, and seq_cst
//    orders it before the caller's load of "is the receiver waiting" (a Dekker pair with the
//    receiver's seq_cst store of that flag followed by its seq_cst stamp load).
//  - take: the stamp load is seq_cst (acquire for the value; seq_cst for that Dekker pair); the
//    store that frees the slot is seq_cst for the mirror pair with waiting senders.
//  - release of permits: a seq_cst RMW on the tail word, then the caller loads the waiting count.
//
// Races worth knowing: a producer preempted between claiming a slot and publishing it stalls the
// consumer at that slot (it may not skip it, or FIFO breaks); the consumer then waits as on an
// empty channel and the publish wakes it. Permits never stall it.
//
// Wrap-around: positions are kept modulo 2^37 and the capacity is at most 2^24, so a position is
// reused only after 2^12 laps; a claim preempted between its load and its CAS for that long (2^37
// messages) is the only way to confuse one for another.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include <weft/runtime/detail/backoff.hpp>
#include <weft/runtime/detail/inline.hpp>
#include <weft/runtime/detail/sync.hpp>

namespace weft::detail {

template <class T>
class SlotRing {
public:
    static constexpr unsigned kPosBits = 37;
    static constexpr std::uint64_t kPosMask = (std::uint64_t{1} << kPosBits) - 1;
    static constexpr std::uint64_t kPermitOne = std::uint64_t{1} << kPosBits;
    static constexpr std::uint64_t kPermitMask = ((std::uint64_t{1} << 25) - 1) << kPosBits;
    static constexpr std::uint64_t kRxClosed = std::uint64_t{1} << 63;
    static constexpr std::uint64_t kTxClosed = std::uint64_t{1} << 62;
    static constexpr std::uint64_t kFlags = kRxClosed | kTxClosed;
    static constexpr std::uint64_t kSkip = std::uint64_t{1} << 63;  // in a stamp
    static constexpr std::size_t kMaxCapacity = std::size_t{1} << 24;

    explicit SlotRing(std::size_t capacity)
        : capacity_(capacity), one_lap_(std::bit_ceil(std::uint64_t{capacity} + 1)),
          lap_shift_(static_cast<unsigned>(std::countr_zero(one_lap_))),
          slots_(std::make_unique<Slot[]>(capacity)) {
        for (std::size_t i = 0; i < capacity; ++i) slots_[i].stamp.store(i, std::memory_order_relaxed);
    }

    ~SlotRing() {
        // Destroy values still in the ring (the consumer is gone; no producer is mid-write, since
        // each holds a reference to the channel).
        std::uint64_t head = rx_head_;
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed) & kPosMask;
        while (head != tail) {
            Slot& s = slot(head);
            if (s.stamp.load(std::memory_order_relaxed) == ((head + 1) & kPosMask)) s.value()->~T();
            head = advance(head);
        }
    }

    SlotRing(const SlotRing&) = delete;
    SlotRing& operator=(const SlotRing&) = delete;

    std::size_t capacity() const noexcept { return capacity_; }

    enum class Claim { kClaimed, kFull, kClosed };

    // Producer: claims the slot at the tail for a message. On kClaimed, `pos` is the position to
    // write (then publish or publish_skip it).
    WEFT_INLINE Claim try_claim(std::uint64_t& pos) noexcept {
        // The common case, small enough to inline into send: no permits held, no close bit, and
        // the tail's own slot free. The same loads and CAS as acquire(1, false) takes for it.
        std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        if ((tail & (kFlags | kPermitMask)) == 0 && slot(tail).stamp.load(std::memory_order_seq_cst) == tail &&
            tail_.compare_exchange_strong(tail, advance(tail), std::memory_order_seq_cst, std::memory_order_relaxed)) {
            pos = tail;
            return Claim::kClaimed;
        }
        return acquire(1, /*reserve=*/false, pos);
    }

    // Reserves `n` permits (1 <= n <= capacity): capacity to send n messages later.
    Claim try_reserve(std::size_t n) noexcept {
        std::uint64_t unused = 0;
        return acquire(n, /*reserve=*/true, unused);
    }

    // Uses one reserved permit: claims the slot at the tail for its message. Never fails (the
    // permit is capacity, so the slot is free or being freed by the consumer right now), even
    // after the receiver closed: as in Tokio, a permit can still send.
    std::uint64_t claim_with_permit() noexcept {
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        for (;;) {
            const std::uint64_t p = tail & kPosMask;
            const std::uint64_t next = ((tail - kPermitOne) & ~kPosMask) | advance(p);
            if (tail_.compare_exchange_weak(tail, next, std::memory_order_seq_cst, std::memory_order_relaxed)) {
                // The consumer has taken the slot's previous value (the invariant says so); wait
                // until its store freeing the slot is visible here.
                for (unsigned spins = 0; slot(p).stamp.load(std::memory_order_acquire) != p; ++spins) backoff(spins);
                return p;
            }
        }
    }

    // Gives `n` unused permits back. Returns the tail word after (the caller checks the close bit).
    std::uint64_t release(std::size_t n) noexcept {
        return tail_.fetch_sub(n * kPermitOne, std::memory_order_seq_cst) - n * kPermitOne;
    }

    // Producer: writes the value for a claimed position and publishes it. If the value's
    // construction throws, the position is published as skipped (the consumer passes it and its
    // capacity comes back) and the exception propagates.
    template <class U>
    void publish(std::uint64_t pos, U&& value) {
        Slot& s = slot(pos);
        try {
            ::new (s.storage) T(std::forward<U>(value));
        } catch (...) {
            publish_skip(pos);
            throw;
        }
        s.stamp.store((pos + 1) & kPosMask, std::memory_order_seq_cst);
    }

    // Producer: gives up a claimed position without a value; the consumer skips it.
    void publish_skip(std::uint64_t pos) noexcept {
        slot(pos).stamp.store(((pos + 1) & kPosMask) | kSkip, std::memory_order_seq_cst);
    }

    enum class Take { kValue, kEmpty, kPending };

    // Consumer: takes the value at the head. kEmpty: nothing claimed; kPending: a producer claimed
    // the head slot but has not published yet (wait as if empty; its publish wakes us). If T's
    // move constructor throws, the value stays where it is and the exception propagates.
    Take try_take(std::optional<T>& out) {
        for (;;) {
            const std::uint64_t head = rx_head_;
            Slot& s = slot(head);
            const std::uint64_t stamp = s.stamp.load(std::memory_order_seq_cst);
            if ((stamp & ~kSkip) == ((head + 1) & kPosMask)) {
                if (!(stamp & kSkip)) {
                    T* v = s.value();
                    out.emplace(std::move(*v));
                    v->~T();
                }
                free_head(head);
                if (stamp & kSkip) continue;
                return Take::kValue;
            }
            return (tail_.load(std::memory_order_acquire) & kPosMask) == head ? Take::kEmpty : Take::kPending;
        }
    }

    // Consumer: looks at the head without taking it (skipped slots are freed on the way). kValue:
    // front() is the message until pop_front(); kEmpty and kPending as for try_take. Never throws.
    WEFT_INLINE Take peek() noexcept {
        const std::uint64_t head = rx_head_;
        if (slot(head).stamp.load(std::memory_order_seq_cst) == ((head + 1) & kPosMask)) [[likely]]
            return Take::kValue;
        return peek_slow();
    }
    // The rest of peek: skipped slots, an empty ring, a publish in progress.
    WEFT_OUTLINE Take peek_slow() noexcept {
        for (;;) {
            const std::uint64_t head = rx_head_;
            Slot& s = slot(head);
            const std::uint64_t stamp = s.stamp.load(std::memory_order_seq_cst);
            if ((stamp & ~kSkip) == ((head + 1) & kPosMask)) {
                if (!(stamp & kSkip)) return Take::kValue;
                free_head(head);
                continue;
            }
            return (tail_.load(std::memory_order_acquire) & kPosMask) == head ? Take::kEmpty : Take::kPending;
        }
    }
    // Consumer: the message peek() found.
    T& front() noexcept { return *slot(rx_head_).value(); }
    // Consumer: destroys the message peek() found (moved from by now) and frees its slot.
    void pop_front() noexcept {
        const std::uint64_t head = rx_head_;
        slot(head).value()->~T();
        free_head(head);
    }

    // Sets a close bit; returns the tail word before.
    std::uint64_t close(std::uint64_t bit) noexcept { return tail_.fetch_or(bit, std::memory_order_acq_rel); }
    bool is_rx_closed() const noexcept { return tail_.load(std::memory_order_acquire) & kRxClosed; }
    bool is_tx_closed() const noexcept { return tail_.load(std::memory_order_acquire) & kTxClosed; }
    // Nothing more can arrive: every sender is gone, or the receiver closed and no permit is left
    // (a held permit can still send after a close). Claimed positions may still be publishing.
    bool no_more_claims() const noexcept {
        const std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        return (tail & kTxClosed) || ((tail & kRxClosed) && (tail & kPermitMask) == 0);
    }
    static bool rx_closed_in(std::uint64_t tail) noexcept { return tail & kRxClosed; }
    static std::size_t permits_in(std::uint64_t tail) noexcept { return (tail & kPermitMask) >> kPosBits; }

    // Messages buffered or being written, approximately (exact when nobody is mid-operation).
    std::size_t len() const noexcept {
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire) & kPosMask;
        return distance(head, tail);
    }
    // Permits reserved and not used yet.
    std::size_t permits() const noexcept { return permits_in(tail_.load(std::memory_order_acquire)); }

private:
    struct alignas(64) Slot {
        atomic<std::uint64_t> stamp;
        alignas(T) std::byte storage[sizeof(T)];
        T* value() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    };

    WEFT_INLINE void free_head(std::uint64_t head) noexcept {
        slot(head).stamp.store((head + one_lap_) & kPosMask, std::memory_order_seq_cst);  // free for the next lap
        rx_head_ = advance(head);
        head_.store(rx_head_, std::memory_order_release);  // for producers' full check
    }

    // Claims one slot (reserve false) or reserves n permits (reserve true). Out of line: try_claim
    // inlines only its common case.
    WEFT_OUTLINE Claim acquire(std::size_t n, bool reserve, std::uint64_t& pos) noexcept {
        std::uint64_t tail = tail_.load(std::memory_order_seq_cst);
        for (unsigned spins = 0;; ++spins) {
            if (tail & kRxClosed) return Claim::kClosed;
            const std::uint64_t p = tail & kPosMask;
            const std::size_t held = permits_in(tail);
            if (held + n > capacity_) return Claim::kFull;
            const std::uint64_t last = advance_by(p, held + n - 1);  // the last slot we need
            const std::uint64_t stamp = slot(last).stamp.load(std::memory_order_seq_cst);
            if (stamp == last) {
                const std::uint64_t next = reserve ? tail + n * kPermitOne : (tail & ~kPosMask) | advance(p);
                if (tail_.compare_exchange_weak(tail, next, std::memory_order_seq_cst, std::memory_order_relaxed)) {
                    pos = p;
                    return Claim::kClaimed;
                }
                continue;  // tail_ moved; `tail` holds the new value
            }
            // The slot still holds the previous lap's value (or claim), unless the consumer is
            // freeing it right now (then its stamp store is about to show).
            const std::uint64_t head = head_.load(std::memory_order_seq_cst);
            if (distance(head, last) >= capacity_) return Claim::kFull;
            backoff(spins);
            tail = tail_.load(std::memory_order_seq_cst);
        }
    }

    std::uint64_t index_of(std::uint64_t pos) const noexcept { return pos & (one_lap_ - 1); }
    std::uint64_t lap_of(std::uint64_t pos) const noexcept { return pos & ~(one_lap_ - 1); }
    Slot& slot(std::uint64_t pos) const noexcept { return slots_[index_of(pos)]; }
    std::uint64_t advance(std::uint64_t pos) const noexcept {
        return (index_of(pos) + 1 < capacity_ ? pos + 1 : lap_of(pos) + one_lap_) & kPosMask;
    }
    // The position `n` after `pos` (n <= capacity).
    std::uint64_t advance_by(std::uint64_t pos, std::uint64_t n) const noexcept {
        if (n == 0) return pos;
        const std::uint64_t index = index_of(pos) + n;
        if (index < capacity_) return pos + n;
        return (lap_of(pos) + (index / capacity_) * one_lap_ + index % capacity_) & kPosMask;
    }
    // Slots from `from` to `to` (to is not before from).
    std::size_t distance(std::uint64_t from, std::uint64_t to) const noexcept {
        const std::uint64_t laps = ((lap_of(to) - lap_of(from)) & kPosMask) >> lap_shift_;
        return static_cast<std::size_t>(laps * capacity_ + index_of(to) - index_of(from));
    }

    const std::size_t capacity_;
    const std::uint64_t one_lap_;
    const unsigned lap_shift_;  // log2(one_lap_): distance() runs on every full-channel check
    std::unique_ptr<Slot[]> slots_;
    alignas(64) atomic<std::uint64_t> head_{0};
    // The consumer's own copy of head_, which only it writes: its reads need no atomic load, so
    // peek, front and pop_front inlined into one receive compute the head slot once.
    std::uint64_t rx_head_ = 0;
    alignas(64) atomic<std::uint64_t> tail_{0};
};

}  // namespace weft::detail
