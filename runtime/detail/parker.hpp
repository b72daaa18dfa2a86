// Parker: puts one thread to sleep until another unparks it.
//
// State: kEmpty, kParked (the owner sleeps on the condition variable, or is about to),
// kParkedDriver (the owner sleeps in the Driver: epoll_wait), kNotified (an unpark arrived; the
// next park returns at once). An unpark is an exchange, so one that comes before the park is not
// lost: park consumes kNotified instead of sleeping. The mutex orders the owner's "check then wait"
// with the unparker's notify, so the condition variable's wakeup cannot slip between them; the
// driver's interrupt is an eventfd write, which a later epoll_wait still sees.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "sync.hpp"

namespace weft::detail {

class Driver;
// Out of line (driver.cpp), so this header does not pull in the reactor.
void interrupt_driver(Driver& driver) noexcept;

class Parker {
public:
    Parker() = default;
    // A worker's parker: park() sleeps in `driver` when it can take it.
    explicit Parker(Driver* driver) noexcept : driver_(driver) {}

    // Sleeps until unpark() (or a spurious wakeup, which callers must tolerate). A worker's
    // parker serves timers and I/O meanwhile if it holds the driver.
    void park() {
        if (consume_notification()) return;
        if (driver_ && park_in_driver()) return;
        park_until(nullptr);
    }

    // Sleeps on the condition variable until unpark() or `deadline` (if given).
    void park_until(const std::chrono::steady_clock::time_point* deadline) {
        if (consume_notification()) return;
        std::unique_lock lock(mutex_);
        int expected = kEmpty;
        if (!state_.compare_exchange_strong(expected, kParked, std::memory_order_acq_rel)) {
            // It was kNotified (the failed CAS read it with acquire): consume it.
            state_.store(kEmpty, std::memory_order_relaxed);
            return;
        }
        for (;;) {
            if (deadline) {
                if (cv_.wait_until(lock, *deadline) == std::cv_status::timeout) break;
            } else {
                cv_.wait(lock);
            }
            if (state_.load(std::memory_order_acquire) == kNotified) break;
        }
        // Either notified or timed out: back to empty, consuming a notification if there was one.
        state_.exchange(kEmpty, std::memory_order_acq_rel);
    }

    void unpark() {
        // release: pairs with park's acquire.
        switch (state_.exchange(kNotified, std::memory_order_release)) {
            case kParked:
                // Taking the lock ensures the parker is inside cv_.wait (or has not checked yet).
                { std::lock_guard lock(mutex_); }
                cv_.notify_one();
                break;
            case kParkedDriver:
                interrupt_driver(*driver_);
                break;
            default:
                break;
        }
    }

    // For the driver path (driver.cpp): kEmpty -> kParkedDriver; false if a notification came.
    bool enter_driver_park() noexcept {
        int expected = kEmpty;
        if (state_.compare_exchange_strong(expected, kParkedDriver, std::memory_order_acq_rel)) return true;
        state_.store(kEmpty, std::memory_order_relaxed);  // consume the notification
        return false;
    }
    void leave_driver_park() noexcept { state_.exchange(kEmpty, std::memory_order_acq_rel); }

private:
    static constexpr int kEmpty = 0;
    static constexpr int kParked = 1;
    static constexpr int kNotified = 2;
    static constexpr int kParkedDriver = 3;

    bool consume_notification() noexcept {
        int expected = kNotified;
        // acquire: pairs with unpark's release so the unparker's writes are visible.
        return state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acquire);
    }
    bool park_in_driver();  // driver.cpp: false if the driver is taken

    Driver* driver_ = nullptr;
    atomic<int> state_{kEmpty};
    mutex mutex_;
    condition_variable cv_;
};

}  // namespace weft::detail
