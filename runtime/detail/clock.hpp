// A runtime's clock: real time, or a paused one for tests (time::pause, Tokio's test-util clock).
//
// Tokio's model: the clock reads real time plus an offset; paused, it reads a frozen instant that
// only advance() and the driver's auto-advance move. resume() lets it run again from the frozen
// instant, so time never goes backwards (the offset keeps what was advanced).
//
// Cost when never paused: now() is one relaxed load and a predictable branch before
// steady_clock::now(). The state behind it (paused, frozen instant, offset) sits under a mutex:
// only a paused runtime reads it, and a blocking thread may read the clock while a task moves it.
//
// `virtual_clocks` counts the runtimes in the process whose clock was ever paused, so
// weft::Clock::now() takes the runtime lookup only while such a runtime exists.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <stdexcept>

namespace weft::detail {

extern std::atomic<std::size_t> virtual_clocks;
// The clock of the runtime this thread works for (real time on other threads): test_clock.cpp.
std::chrono::steady_clock::time_point runtime_clock_now() noexcept;

class RuntimeClock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    RuntimeClock() = default;
    RuntimeClock(const RuntimeClock&) = delete;
    RuntimeClock& operator=(const RuntimeClock&) = delete;
    ~RuntimeClock() {
        if (is_virtual_.load(std::memory_order_relaxed)) virtual_clocks.fetch_sub(1, std::memory_order_relaxed);
    }

    time_point now() const noexcept {
        // relaxed: the flag only ever goes false -> true, set by the thread that pauses, which is
        // the thread that reads a paused clock (a current-thread runtime's core holder).
        if (!is_virtual_.load(std::memory_order_relaxed)) [[likely]] return std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        return now_locked();
    }

    bool is_paused() const noexcept {
        if (!is_virtual_.load(std::memory_order_relaxed)) [[likely]] return false;
        std::lock_guard lock(mutex_);
        return paused_;
    }

    // Freezes the clock at now(). Throws std::logic_error if it is already paused.
    void pause() {
        std::lock_guard lock(mutex_);
        if (paused_) throw std::logic_error("weft::time::pause: the clock is already paused");
        frozen_ = now_locked();
        paused_ = true;
        if (!is_virtual_.exchange(true, std::memory_order_relaxed)) virtual_clocks.fetch_add(1, std::memory_order_relaxed);
    }

    // Lets the clock run again from the frozen instant. Throws std::logic_error if not paused.
    void resume() {
        std::lock_guard lock(mutex_);
        if (!paused_) throw std::logic_error("weft::time::resume: the clock is not paused");
        offset_ = frozen_ - std::chrono::steady_clock::now();
        paused_ = false;
    }

    // Paused only: moves the frozen instant forward to `t` (never back). False if not paused.
    bool advance_to(time_point t) noexcept {
        std::lock_guard lock(mutex_);
        if (!paused_) return false;
        if (t > frozen_) frozen_ = t;
        return true;
    }

private:
    time_point now_locked() const noexcept {
        return paused_ ? frozen_ : std::chrono::steady_clock::now() + offset_;
    }

    std::atomic<bool> is_virtual_{false};  // ever paused: now() must look at the state below
    mutable std::mutex mutex_;
    bool paused_ = false;   // guarded by mutex_
    time_point frozen_{};   // guarded by mutex_: the time while paused
    duration offset_{};     // guarded by mutex_: added to real time after a resume
};

}  // namespace weft::detail
