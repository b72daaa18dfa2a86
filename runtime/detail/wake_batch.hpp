// Wakers collected under a waiter-list lock, to be woken after it is released.
//
// A waiter's node may be destroyed as soon as the lock is released and it can see it was notified,
// so its Waker must be moved out under the lock; waking (which may unpark a worker, a system call)
// is better done after. Up to kInline wakers are kept without allocating; beyond that a waker is
// woken on the spot, still under the caller's lock: correct (a wake never re-enters a waiter list)
// and allocation-free, only slower, and only with more than kInline waiters at once.
//
// The slots are raw storage, constructed on push and destroyed on wake: a batch is made for every
// hand-off of capacity to a waiting sender (one per message when a bounded mpsc is full), and an
// array of kInline Wakers zeroed on construction and checked one by one on destruction was most of
// that hand-off's cost (W1 P=16 C=1024, callgrind).
#pragma once

#include <array>
#include <cstddef>
#include <new>
#include <utility>

#include "../waker.hpp"

namespace weft::detail {

class WakeBatch {
public:
    static constexpr std::size_t kInline = 32;

    WakeBatch() noexcept {}
    WakeBatch(const WakeBatch&) = delete;
    WakeBatch& operator=(const WakeBatch&) = delete;
    ~WakeBatch() { wake_all(); }

    void push(Waker&& waker) noexcept {
        if (count_ < kInline) ::new (static_cast<void*>(&slots_[count_++])) Waker(std::move(waker));
        else waker.wake();
    }
    // Wakes what was collected. Call after releasing the lock.
    void wake_all() noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            Waker& w = *std::launder(reinterpret_cast<Waker*>(&slots_[i]));
            w.wake();
            w.~Waker();
        }
        count_ = 0;
    }

private:
    struct Slot {
        alignas(Waker) std::byte bytes[sizeof(Waker)];
    };
    std::array<Slot, kInline> slots_;  // [0, count_) hold constructed Wakers
    std::size_t count_ = 0;
};

}  // namespace weft::detail
