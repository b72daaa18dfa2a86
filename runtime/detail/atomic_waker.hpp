// AtomicWaker: one waker slot that a single waiter registers in and any thread wakes.
//
// State: kWaiting (idle; the slot may hold a waker), kRegistering (the waiter is writing the slot),
// kWaking (a waker is taking the slot). register_waker and wake can race freely: a wake that
// arrives during a registration is noticed by the registering side (its final CAS fails because
// kWaking is set), which then wakes the new waker itself. So a wake after a registration started
// is never lost.
//
// Orders: the final CAS of a registration is release (publishes the slot); wake's fetch_or is
// acquire (sees it). A wake is an RMW, so it costs a cache-line transfer: callers guard it with a
// cheaper "is anyone waiting" check where they can.
#pragma once

#include <atomic>
#include <cstdint>

#include "../waker.hpp"
#include "sync.hpp"

namespace weft::detail {

class AtomicWaker {
public:
    // Stores `waker` (replacing any earlier one). Only one thread may register at a time.
    void register_waker(const Waker& waker) noexcept {
        std::uint32_t expected = kWaiting;
        if (!state_.compare_exchange_strong(expected, kRegistering, std::memory_order_acquire,
                                            std::memory_order_acquire)) {
            // A wake is in progress: it may have missed our new waker, so wake it ourselves.
            waker.wake_by_ref();
            return;
        }
        if (!waker_.will_wake(waker)) waker_ = waker;
        expected = kRegistering;
        if (!state_.compare_exchange_strong(expected, kWaiting, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
            // kWaking was set while we wrote the slot: the waker saw kRegistering and left the
            // slot to us. Take it and wake it.
            Waker taken = std::move(waker_);
            // An RMW, not a store: acquire makes the events of every waker that set kWaking
            // meanwhile visible to the caller's re-check (a second waker's release would not be
            // read by a plain store). Found by tests/model/atomic_waker_model.cpp.
            state_.exchange(kWaiting, std::memory_order_acq_rel);
            taken.wake();
        }
    }

    // Wakes the registered waker, if any, and empties the slot.
    void wake() noexcept {
        if (Waker w = take()) w.wake();
    }

    Waker take() noexcept {
        // acq_rel: acquire pairs with the registration's release.
        if (state_.fetch_or(kWaking, std::memory_order_acq_rel) == kWaiting) {
            Waker taken = std::move(waker_);
            state_.fetch_and(~kWaking, std::memory_order_release);
            return taken;
        }
        return {};
    }

private:
    static constexpr std::uint32_t kWaiting = 0;
    static constexpr std::uint32_t kRegistering = 1;
    static constexpr std::uint32_t kWaking = 2;

    atomic<std::uint32_t> state_{kWaiting};
    Waker waker_;
};

}  // namespace weft::detail
