// Parker: puts one thread to sleep until another unparks it.
//
// State: kEmpty, kParked (the owner sleeps, or is about to), kNotified (an unpark arrived; the next
// park returns at once). An unpark is an exchange, so one that comes before the park is not lost:
// park consumes kNotified instead of sleeping. The mutex orders the owner's "check then wait" with
// the unparker's notify, so the condition variable's wakeup cannot slip between them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace weft::detail {

class Parker {
public:
    // Sleeps until unpark() (or a spurious wakeup, which callers must tolerate).
    void park() { park_until(nullptr); }

    // Like park(), but returns by `deadline` at the latest.
    void park_until(const std::chrono::steady_clock::time_point* deadline) {
        int expected = kNotified;
        // acquire: pairs with unpark's release so the unparker's writes are visible.
        if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acquire)) return;
        std::unique_lock lock(mutex_);
        expected = kEmpty;
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
        if (state_.exchange(kNotified, std::memory_order_release) == kParked) {
            // Taking the lock ensures the parker is inside cv_.wait (or has not checked yet).
            { std::lock_guard lock(mutex_); }
            cv_.notify_one();
        }
    }

private:
    static constexpr int kEmpty = 0;
    static constexpr int kParked = 1;
    static constexpr int kNotified = 2;

    std::atomic<int> state_{kEmpty};
    std::mutex mutex_;
    std::condition_variable cv_;
};

}  // namespace weft::detail
