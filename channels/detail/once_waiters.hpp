// The once-waiters list: tasks waiting for an event that happens once (a bounded channel's
// receiver closing, which Sender::closed() awaits). Separate from sender_wait_list.hpp: it has no
// order or hand-off protocol, only "wake everyone when it fires".
#pragma once

#include <mutex>
#include <utility>

#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/wake_batch.hpp>
#include <weft/runtime/detail/waiter_list.hpp>

namespace weft::detail {

// Tasks waiting for an event that happens once (the receiver closing): wake them all then.
// Each waiter unlinks itself if it stops waiting first, so cancelled waits leave nothing behind.
class OnceWaiters {
public:
    // Returns false if the event already happened (nothing registered).
    bool add(Waiter& w, Waker waker) {
        std::lock_guard lock(mutex_);
        if (fired_) return false;
        if (w.state == Waiter::State::kQueued) {
            w.waker = std::move(waker);  // re-registration after a spurious wake
            return true;
        }
        w.waker = std::move(waker);
        w.state.store(Waiter::State::kQueued, std::memory_order_release);
        list_.push_back(w);
        return true;
    }
    void remove(Waiter& w) {
        std::lock_guard lock(mutex_);
        if (w.state == Waiter::State::kQueued) list_.remove(w);
        w.state.store(Waiter::State::kIdle, std::memory_order_release);
        w.waker.reset();
    }
    // Wakes every waiter; later adds fail. Allocates nothing (teardown must not fail).
    void fire() noexcept {
        WakeBatch to_wake;
        std::lock_guard lock(mutex_);
        fired_ = true;
        for (Waiter* w = list_.take_all(Waiter::State::kClosed); w; w = w->next) to_wake.push(std::move(w->waker));
    }

private:
    SpinLock mutex_;
    WaiterList list_;
    bool fired_ = false;
};

}  // namespace weft::detail
