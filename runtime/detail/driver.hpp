// The Driver: timers and the I/O reactor, waited on by one parked worker at a time.
//
// A worker with nothing to run tries to take the driver (an atomic flag). The one that gets it
// fires due timers, then sleeps in epoll_wait until the next timer is due, an I/O event arrives,
// or someone interrupts it (unpark, or a new timer earlier than its sleep), and dispatches what
// happened before letting go. The other idle workers sleep on their condition variables. Busy
// workers poll the driver without waiting every few dozen ticks (maintenance), so timers and I/O
// are served even when no worker is idle. With a paused clock (time::pause) the holder does not
// sleep until a timer: it moves the clock to it (auto_advance).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "io_driver.hpp"
#include "time_driver.hpp"

namespace weft::detail {

class Driver {
public:
    Driver() : io_(std::make_shared<IoDriver>()), time_([io = io_.get()] { io->interrupt(); }) {}

    bool try_lock() noexcept {
        // acquire: the previous holder's dispatching happens-before ours.
        return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { held_.store(false, std::memory_order_release); }  // pairs with try_lock

    // Holder only. Fires due timers and dispatches I/O, sleeping first unless something fired or
    // `may_sleep` is false.
    void park(bool may_sleep) {
        std::size_t fired = 0;
        std::optional<std::chrono::milliseconds> timeout = time_.prepare_park(fired);
        if (fired > 0 || !may_sleep) timeout = std::chrono::milliseconds(0);
        if (timeout && *timeout > std::chrono::milliseconds(0) && time_.clock().is_paused()) [[unlikely]]
            auto_advance();
        else
            io_->turn(timeout);
        time_.end_park();
        time_.process();
    }

    // Holder only, paused clock, nothing to run and a timer pending: rather than sleep until the
    // timer, look for I/O and wakes without waiting, and only if there are none jump the clock to
    // the timer's deadline (Tokio's auto-advance: time moves only while the runtime is idle).
    void auto_advance() {
        bool interrupted = false;
        if (io_->turn(std::chrono::milliseconds(0), &interrupted) == 0 && !interrupted) time_.advance_step(std::nullopt);
    }

    // Holder only: a busy worker's non-blocking poll. Skips the system call when nothing is
    // registered.
    void poll_without_waiting() {
        if (time_.pending() > 0) time_.process();
        if (io_->registered() > 0) io_->turn(std::chrono::milliseconds(0));
    }

    // Anything a poll could fire or dispatch (cheap, approximate: two relaxed loads of counters
    // that change only when a timer or a registration comes or goes). Lets a busy or yielding
    // worker skip try_lock on an idle driver: that flag is the one cache line every worker would
    // otherwise write on each round (W5 spent 40% of its time bouncing it between two workers).
    bool has_work() const noexcept { return time_.pending() > 0 || io_->registered() > 0; }

    // Interrupts the holder's sleep (from any thread).
    void unpark() noexcept { io_->interrupt(); }

    TimeDriver& time() noexcept { return time_; }
    const TimeDriver& time() const noexcept { return time_; }
    IoDriver& io() noexcept { return *io_; }
    const IoDriver& io() const noexcept { return *io_; }
    const std::shared_ptr<IoDriver>& io_shared() const noexcept { return io_; }

private:
    std::shared_ptr<IoDriver> io_;
    TimeDriver time_;
    alignas(64) std::atomic<bool> held_{false};  // its own line: has_work reads the counters beside it
};

}  // namespace weft::detail
