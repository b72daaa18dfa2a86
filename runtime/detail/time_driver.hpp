// The runtime's timers: a TimerWheel under a mutex, driven by whichever worker holds the Driver.
//
// Entries live in the awaiting coroutine frames (Sleep, Interval, timeout): registering a timer
// allocates nothing. The mutex is held for a few pointer writes per operation; a timer is not a
// per-message path, so a lock is the simple, correct choice (Tokio's timer wheel sits behind a
// mutex too).
//
// No lost wakeups for the parked driver: the parking worker computes its sleep from the earliest
// deadline and records it in `parked_until_` under the mutex; a registration reads `parked_until_`
// under the same mutex and wakes the driver if its deadline is earlier. Either the registration
// came first (the parker saw it) or the registration sees the parker.
//
// Firing: due entries are unlinked under the mutex, their `fired` flag set (release) and their
// wakers moved out; the wakers are woken after the mutex is released, so a woken task that cancels
// or re-registers never deadlocks, and an entry may be destroyed by its owner as soon as it is
// off the wheel.
//
// Time comes from `clock_`, the runtime's clock: real time unless a test paused it. Paused, the
// driver moves it: Driver::park jumps it to the next deadline when the runtime is idle
// (auto_advance), and time::advance steps it deadline by deadline (advance_step).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "../waker.hpp"
#include "clock.hpp"
#include "timer_wheel.hpp"

namespace weft::detail {

class TimeDriver {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::uint64_t kNotParked = ~std::uint64_t{0};

    // `wake_driver` interrupts a worker parked in the driver (called without the mutex held).
    explicit TimeDriver(std::function<void()> wake_driver)
        : start_(clock_.now()), wake_driver_(std::move(wake_driver)) {}

    // The first tick at or after `deadline`, so a timer never fires early.
    std::uint64_t tick_at_or_after(Clock::time_point deadline) const noexcept {
        if (deadline <= start_) return 0;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - start_).count();
        return (static_cast<std::uint64_t>(ns) + 999'999) / 1'000'000;
    }
    std::uint64_t now_tick() const noexcept {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.now() - start_).count();
        return static_cast<std::uint64_t>(ns) / 1'000'000;
    }
    Clock::time_point time_of_tick(std::uint64_t tick) const noexcept {
        return start_ + std::chrono::milliseconds(tick);
    }

    // Files `e` to wake `waker` at `deadline`. Returns false (filing nothing) if the deadline is
    // already past by the wheel's clock: the caller does not wait.
    bool register_timer(TimerEntry& e, Clock::time_point deadline, Waker waker);

    // Replaces the waker of a registered entry (a task polled again). No-op once it fired.
    void update_waker(TimerEntry& e, const Waker& waker);

    // Takes `e` off the wheel if it is still there. After this returns, the driver no longer
    // touches `e` and it may be destroyed.
    void cancel(TimerEntry& e) noexcept;

    // Fires every entry due by now. Returns how many fired.
    std::size_t process();

    // For the worker about to park in the driver: fires what is due, then returns how long it may
    // sleep (nullopt: no timer pending) and records the wake-up tick for registrations to compare.
    std::optional<std::chrono::milliseconds> prepare_park(std::size_t& fired);
    void end_park() noexcept;

    // Paused clock only (the caller checked): moves the clock to the earliest deadline, or to
    // `limit` if that comes first (nullopt: no limit), and fires what is then due. Returns true if
    // it stopped at a deadline before `limit` (more may follow), false once at the limit or with
    // no timer pending.
    bool advance_step(std::optional<Clock::time_point> limit);

    // Pauses the clock (throws std::logic_error if paused already) and moves it, by less than a
    // tick, to the next tick's start: then a deadline a whole number of milliseconds away falls
    // on a tick, and a timer fires when the clock reaches its deadline, not a fraction later.
    void pause_clock() {
        clock_.pause();
        clock_.advance_to(time_of_tick(tick_at_or_after(clock_.now())));
    }

    RuntimeClock& clock() noexcept { return clock_; }
    const RuntimeClock& clock() const noexcept { return clock_; }

    // Timers on the wheel now (cheap, approximate): lets busy workers skip polling an idle driver.
    std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }

private:
    std::size_t process_at(std::uint64_t now);

    RuntimeClock clock_;  // before start_, which reads it
    const Clock::time_point start_;
    std::function<void()> wake_driver_;
    std::mutex mutex_;
    TimerWheel wheel_;                         // guarded by mutex_
    std::uint64_t parked_until_ = kNotParked;  // guarded by mutex_
    std::atomic<std::size_t> pending_{0};      // mirrors wheel_.size(), read without the mutex
};

}  // namespace weft::detail
