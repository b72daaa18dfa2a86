// Time: sleep, sleep_until and interval, on the runtime's timer wheel (1 ms resolution).
//
//   co_await weft::sleep(50ms);
//   weft::Interval tick = weft::interval(1s);
//   for (;;) { co_await tick.tick(); ... }
//
// A timer never fires early: a sleep completes no earlier than its deadline (rounded up to the
// next millisecond), and as soon after as a worker gets to it. Timers cost memory, not CPU: a
// pending sleep is an entry in the awaiting frame, filed in the wheel in O(1); a million of them
// cost no work until they come due. Destroying a pending sleep (its task aborted, or a timeout or
// select that another branch won) takes it off the wheel.
//
// Use inside tasks of a weft runtime; awaiting a timer elsewhere throws std::logic_error, and
// after the runtime shut down, RuntimeShutdownError.
#pragma once

#include "detail/language_check.hpp"

#include <atomic>
#include <chrono>
#include <coroutine>
#include <stdexcept>
#include <utility>

#include "detail/clock.hpp"
#include "detail/context.hpp"
#include "detail/scheduler.hpp"
#include "detail/driver.hpp"
#include "detail/time_driver.hpp"

namespace weft {

/// The clock of every weft deadline: monotonic, unaffected by changes to the wall clock; its
/// time points are std::chrono::steady_clock's. now() reads steady_clock, except on the threads of
/// a runtime whose clock a test paused (time::pause, test_clock.hpp): there it reads that
/// runtime's clock, which moves only when the test or the idle runtime moves it.
struct Clock {
    /// steady_clock's duration.
    using duration = std::chrono::steady_clock::duration;
    /// The duration's tick count type.
    using rep = duration::rep;
    /// The duration's tick length.
    using period = duration::period;
    /// steady_clock's time point, so deadlines mix freely with steady_clock::now().
    using time_point = std::chrono::steady_clock::time_point;
    /// Monotonic (a paused clock stands still, it never goes back).
    static constexpr bool is_steady = true;

    /// The current time. Never throws.
    static time_point now() noexcept {
        // relaxed: a counter of paused runtimes; a thread that paused one sees its own write.
        if (detail::virtual_clocks.load(std::memory_order_relaxed) == 0) [[likely]]
            return std::chrono::steady_clock::now();
        return detail::runtime_clock_now();
    }
};

/// `co_await sleep_until(t)` / `co_await sleep(d)`: completes at (or just after) the deadline.
///
/// Await only inside a task run by a weft runtime (a deadline already past completes at once,
/// anywhere). Cancellation-safe: destroying a pending Sleep takes it off the wheel and loses
/// nothing. Not movable: build it in the co_await expression or as a local. Owned by one task:
/// not for concurrent use.
class WEFT_MUST_AWAIT Sleep final : public detail::Pollable {
public:
    /// A timer for `deadline`; nothing is registered until it is awaited.
    explicit Sleep(Clock::time_point deadline) noexcept : deadline_(deadline) {}
    Sleep(const Sleep&) = delete;
    Sleep& operator=(const Sleep&) = delete;
    /// Takes the timer off the wheel if it is there.
    ~Sleep() { cancel(); }

    /// When the sleep completes.
    Clock::time_point deadline() const noexcept { return deadline_; }
    /// True once the timer fired or the deadline passed.
    bool is_elapsed() const noexcept {
        return entry_.fired.load(std::memory_order_acquire) || Clock::now() >= deadline_;
    }
    /// Moves the deadline; a pending await then completes at the new one (if the task awaits again).
    void reset(Clock::time_point deadline) noexcept {
        cancel();
        deadline_ = deadline;
    }

    /// True if the deadline already passed (no runtime needed then).
    bool await_ready() const noexcept { return Clock::now() >= deadline_; }
    /// Files the timer on the wheel to wake this task; false (resume at once) if the deadline
    /// passed meanwhile.
    /// @throws std::logic_error outside a task run by a weft runtime.
    /// @throws RuntimeShutdownError after the runtime shut down.
    bool await_suspend(std::coroutine_handle<>) {
        if (!arm()) return false;
        detail::set_pending_poll(this);
        return true;
    }
    /// True once the timer fired (for the runtime and combinators).
    bool poll_ready() noexcept override { return has_fired(); }
    /// Takes the timer off the wheel, if still there.
    void await_resume() noexcept { cancel(); }

    /// For combinators (timeout, select): registers the timer to wake the current task. Returns
    /// false if the deadline already passed (nothing registered).
    /// @throws std::logic_error outside a task run by a weft runtime.
    /// @throws RuntimeShutdownError after the runtime shut down.
    bool arm() {
        driver_ = &detail::current_driver();
        return driver_->time().register_timer(entry_, deadline_, detail::current_task_waker());
    }
    /// For combinators: true once the armed timer fired.
    // acquire: pairs with the driver's release when it fires the entry.
    bool has_fired() const noexcept { return entry_.fired.load(std::memory_order_acquire); }
    /// For combinators: takes the timer off the wheel if it is there.
    void cancel() noexcept {
        if (driver_) std::exchange(driver_, nullptr)->time().cancel(entry_);
    }

private:
    Clock::time_point deadline_;
    detail::Driver* driver_ = nullptr;  // set while the entry may be on the wheel
    detail::TimerEntry entry_;
};

/// `co_await sleep_until(t)`: completes at (or just after) `t`. See Sleep.
inline Sleep sleep_until(Clock::time_point deadline) noexcept { return Sleep(deadline); }
/// `co_await sleep(d)`: completes `d` from now (or just after). See Sleep.
template <class Rep, class Period>
Sleep sleep(std::chrono::duration<Rep, Period> d) noexcept {
    return Sleep(Clock::now() + std::chrono::duration_cast<Clock::duration>(d));
}

/// What an Interval does when ticks were missed (the task was busy past one or more deadlines).
/// A tick taken within 5 ms of its time counts as on time.
enum class MissedTickBehavior {
    burst,  ///< Fire the missed ticks back to back until caught up (keeps the count of ticks).
    delay,  ///< The next tick is one period after the late one (keeps the spacing).
    skip,   ///< Drop the missed ticks; the next is the next multiple of the period (keeps the phase).
};

/// Ticks every `period`: `co_await iv.tick()` completes at each deadline and yields it.
///
/// Owned by one task: not for concurrent use. Awaiting a tick needs a runtime, as for Sleep.
class Interval {
public:
    /// First tick at `start`, then every `period`.
    /// @throws std::invalid_argument if `period` is not positive.
    Interval(Clock::time_point start, Clock::duration period, MissedTickBehavior behavior = MissedTickBehavior::burst)
        : next_(start), period_(period), behavior_(behavior) {
        if (period <= Clock::duration::zero()) throw std::invalid_argument("weft: interval period must be positive");
    }

    class WEFT_MUST_AWAIT TickAwaiter;
    /// `co_await iv.tick()`: waits for the next tick and yields its scheduled time. The first
    /// tick is at the start time (at once for `interval(period)`). Cancellation-safe: a tick
    /// abandoned before it completes is not consumed; the next tick() waits for it again.
    TickAwaiter tick();

    /// Restarts the schedule: the next tick is one period from now. Does not throw.
    void reset() { next_ = Clock::now() + period_; }
    /// Sets what later missed ticks do.
    void set_missed_tick_behavior(MissedTickBehavior b) noexcept { behavior_ = b; }
    /// What missed ticks do.
    MissedTickBehavior missed_tick_behavior() const noexcept { return behavior_; }
    /// The time between ticks.
    Clock::duration period() const noexcept { return period_; }

private:
    // A tick taken within 5 ms of its time is on time (as in Tokio): only a later one is "missed".
    Clock::time_point advance(Clock::time_point now) {
        const Clock::time_point fired = next_;
        if (now <= next_ + std::chrono::milliseconds(5)) {
            next_ += period_;
            return fired;
        }
        switch (behavior_) {
            case MissedTickBehavior::burst: next_ += period_; break;
            case MissedTickBehavior::delay: next_ = now + period_; break;
            case MissedTickBehavior::skip: {
                const auto behind = now - next_;
                next_ += period_ * (behind / period_ + 1);
                break;
            }
        }
        return fired;
    }

    Clock::time_point next_;
    Clock::duration period_;
    MissedTickBehavior behavior_;
};

/// What Interval::tick() returns: a Sleep until the next tick that, once it completes, advances
/// the Interval. The Interval must outlive it. A leaf for select() and timeout().
class WEFT_MUST_AWAIT Interval::TickAwaiter final : public detail::Pollable {
public:
    /// Waits for `iv`'s next tick.
    explicit TickAwaiter(Interval& iv) noexcept : interval_(iv), sleep_(iv.next_) {}
    /// True if the tick is already due.
    bool await_ready() const noexcept { return sleep_.await_ready(); }
    /// Arms the timer, as Sleep::await_suspend (and throws as it does).
    bool await_suspend(std::coroutine_handle<> h) {
        if (!sleep_.await_suspend(h)) return false;
        detail::set_pending_poll(this);
        return true;
    }
    /// True once the timer fired (for the runtime and combinators).
    bool poll_ready() noexcept override { return sleep_.poll_ready(); }
    /// Consumes the tick and yields its scheduled time. Does not throw.
    Clock::time_point await_resume() {
        sleep_.await_resume();
        return interval_.advance(Clock::now());
    }

private:
    Interval& interval_;
    Sleep sleep_;
};

inline Interval::TickAwaiter Interval::tick() { return TickAwaiter(*this); }

/// Ticks at once, then every `period`.
/// @throws std::invalid_argument if `period` is not positive.
inline Interval interval(Clock::duration period, MissedTickBehavior b = MissedTickBehavior::burst) {
    return Interval(Clock::now(), period, b);
}
/// Ticks first at `start`, then every `period`.
/// @throws std::invalid_argument if `period` is not positive.
inline Interval interval_at(Clock::time_point start, Clock::duration period,
                            MissedTickBehavior b = MissedTickBehavior::burst) {
    return Interval(start, period, b);
}

}  // namespace weft
