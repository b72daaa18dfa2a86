// time::pause, resume and advance (test_clock.hpp), and weft::Clock::now()'s lookup of the
// runtime's clock once some runtime's clock was paused (detail/clock.hpp).
#include "test_clock.hpp"

#include <stdexcept>
#include <string>

#include "detail/scheduler_impl.hpp"

namespace weft::detail {

std::atomic<std::size_t> virtual_clocks{0};

std::chrono::steady_clock::time_point runtime_clock_now() noexcept {
    const ThreadContext& ctx = this_thread_context();
    const Scheduler* scheduler = ctx.scheduler ? ctx.scheduler : ctx.entered;
    if (!scheduler) return std::chrono::steady_clock::now();
    return scheduler->driver.time().clock().now();
}

namespace {
// The clock of the runtime whose task runs on this thread.
TimeDriver& current_time_driver(const char* what) {
    const ThreadContext& ctx = this_thread_context();
    if (!ctx.task || !ctx.scheduler) throw std::logic_error(std::string(what) + " must be called inside a task of a weft runtime");
    return ctx.scheduler->driver.time();
}
}  // namespace

Clock::time_point time_advance_begin(Clock::duration d) {
    if (d < Clock::duration::zero()) throw std::invalid_argument("weft::time::advance: negative duration");
    RuntimeClock& clock = current_time_driver("weft::time::advance").clock();
    if (!clock.is_paused()) throw std::logic_error("weft::time::advance: the clock is not paused");
    return clock.now() + d;
}

bool time_advance_step(Clock::time_point target) {
    return current_time_driver("weft::time::advance").advance_step(target);
}

}  // namespace weft::detail

namespace weft::time {

void pause() {
    detail::TimeDriver& time = detail::current_time_driver("weft::time::pause");
    if (!detail::this_thread_context().scheduler->is_current_thread())
        throw std::logic_error("weft::time::pause needs a current_thread runtime (as Tokio's pause does)");
    time.pause_clock();
}

void resume() { detail::current_time_driver("weft::time::resume").clock().resume(); }

}  // namespace weft::time
