#include "detail/time_driver.hpp"

namespace weft::detail {

bool TimeDriver::register_timer(TimerEntry& e, Clock::time_point deadline, Waker waker) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (e.is_registered) wheel_.remove(e);
        e.fired.store(false, std::memory_order_relaxed);  // only the owner reads it, after this
        e.when = tick_at_or_after(deadline);
        if (!wheel_.insert(e)) return false;
        e.waker = std::move(waker);
        pending_.store(wheel_.size(), std::memory_order_relaxed);
        // The parked driver sleeps past this deadline: wake it to sleep less.
        wake = parked_until_ != kNotParked && e.when < parked_until_;
        if (wake) parked_until_ = e.when;
    }
    if (wake) wake_driver_();
    return true;
}

void TimeDriver::update_waker(TimerEntry& e, const Waker& waker) {
    std::lock_guard lock(mutex_);
    if (e.is_registered && !e.waker.will_wake(waker)) e.waker = waker;
}

void TimeDriver::cancel(TimerEntry& e) noexcept {
    Waker dropped;  // released outside the lock: dropping the last reference frees a task
    std::lock_guard lock(mutex_);
    if (!e.is_registered) return;
    wheel_.remove(e);
    dropped = std::move(e.waker);
    pending_.store(wheel_.size(), std::memory_order_relaxed);
}

std::size_t TimeDriver::process() { return process_at(now_tick()); }

std::size_t TimeDriver::process_at(std::uint64_t now) {
    std::array<Waker, 32> batch;
    std::size_t total = 0;
    for (;;) {
        std::size_t n = 0;
        bool done;
        {
            std::lock_guard lock(mutex_);
            done = wheel_.poll(now, [&](TimerEntry& e) {
                batch[n++] = std::move(e.waker);
                // release: pairs with the owner's acquire load in has_fired().
                e.fired.store(true, std::memory_order_release);
                return n < batch.size();
            });
            pending_.store(wheel_.size(), std::memory_order_relaxed);
        }
        for (std::size_t i = 0; i < n; ++i) batch[i].wake();
        total += n;
        if (done) return total;
    }
}

std::optional<std::chrono::milliseconds> TimeDriver::prepare_park(std::size_t& fired) {
    fired = process();
    std::lock_guard lock(mutex_);
    const std::optional<std::uint64_t> next = wheel_.next_expiration();
    if (!next) {
        parked_until_ = kNotParked - 1;  // any registration wakes the driver to look again
        return std::nullopt;
    }
    parked_until_ = *next;
    const std::uint64_t now = now_tick();
    return std::chrono::milliseconds(*next > now ? *next - now : 0);
}

bool TimeDriver::advance_step(std::optional<Clock::time_point> limit) {
    if (!clock_.is_paused()) return false;  // a woken task resumed the clock: stop stepping
    process();  // what is due already fires at the current time
    std::optional<Clock::time_point> next;
    {
        std::lock_guard lock(mutex_);
        // A lower bound for a slot above level 0: advancing to it re-files the slot's entries
        // (nothing fires), and the caller steps again.
        if (const std::optional<std::uint64_t> tick = wheel_.next_expiration()) next = time_of_tick(*tick);
    }
    const bool stopped_early = next && (!limit || *next < *limit);
    if (stopped_early) clock_.advance_to(*next);
    else if (limit) clock_.advance_to(*limit);
    process();
    return stopped_early;
}

void TimeDriver::end_park() noexcept {
    std::lock_guard lock(mutex_);
    parked_until_ = kNotParked;
}

}  // namespace weft::detail
