// Wakers collected under a waiter-list lock, to be woken after it is released.
//
// A waiter's node may be destroyed as soon as the lock is released and it can see it was notified,
// so its Waker must be moved out under the lock; waking (which may unpark a worker, a system call)
// is better done after. Up to kInline wakers are kept without allocating; beyond that a waker is
// woken on the spot, still under the caller's lock: correct (a wake never re-enters a waiter list)
// and allocation-free, only slower, and only with more than kInline waiters at once.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "../waker.hpp"

namespace weft::detail {

class WakeBatch {
public:
    static constexpr std::size_t kInline = 32;

    WakeBatch() = default;
    WakeBatch(const WakeBatch&) = delete;
    WakeBatch& operator=(const WakeBatch&) = delete;
    ~WakeBatch() { wake_all(); }

    void push(Waker&& waker) noexcept {
        if (count_ < kInline) wakers_[count_++] = std::move(waker);
        else waker.wake();
    }
    // Wakes what was collected. Call after releasing the lock.
    void wake_all() noexcept {
        for (std::size_t i = 0; i < count_; ++i) wakers_[i].wake();
        count_ = 0;
    }

private:
    std::array<Waker, kInline> wakers_;
    std::size_t count_ = 0;
};

}  // namespace weft::detail
