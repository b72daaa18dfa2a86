// Deterministic time for tests: pause the current runtime's clock, move it by hand, resume it.
// Tokio's tokio::time::pause / advance / resume and Builder::start_paused (RuntimeOptions::start_paused).
//
//   weft::time::pause();
//   co_await weft::sleep(1h);                      // returns at once in real time
//   co_await weft::time::advance(10s);             // fires the timers due within 10 s, in order
//
// In namespace weft::time, unlike sleep and timeout (namespace weft): `advance` and `resume` alone
// would read as something else at the top level.
//
// While paused, weft::Clock::now() on the runtime's threads reads the frozen clock, and so do
// sleep, sleep_until, interval, timeout and every deadline built from now(). The clock moves only
// by advance() and by auto-advance: when the runtime has nothing to run and no I/O or wake from
// another thread is pending (it would park), the clock jumps to the earliest timer's deadline
// instead of sleeping. So a paused test runs its timers in deadline order, at once, whatever the
// machine's load. With no timer pending the runtime waits for I/O or a wake in real time.
//
// Differs from Tokio: a running spawn_blocking call does not hold auto-advance back (Tokio's
// does): a timeout around one in a paused test fires as soon as the runtime is idle. And
// advance() steps from deadline to deadline, letting the woken tasks run at each, where Tokio's
// jumps once and then yields.
#pragma once

#include "detail/language_check.hpp"

#include "task.hpp"
#include "time.hpp"
#include "yield.hpp"

namespace weft::detail {
// advance()'s steps (test_clock.cpp): checks the clock is paused and returns now + d; then moves
// the clock to the next deadline up to `target` and fires what is due: true while more may follow.
Clock::time_point time_advance_begin(Clock::duration d);
bool time_advance_step(Clock::time_point target);
}  // namespace weft::detail

namespace weft::time {

/// Freezes the clock of the current runtime at its current time. Call inside a task of a
/// current_thread runtime, as Tokio requires (a multi-thread runtime's workers would each need
/// to agree on when the runtime is idle).
/// @throws std::logic_error outside a task, on a multi_thread runtime, or if already paused.
void pause();

/// Lets the paused clock run again, in real time, from where it stands (time never goes back:
/// what advance() added stays). Call inside a task of the runtime that was paused.
/// @throws std::logic_error outside a task, or if the clock is not paused.
void resume();


/// `co_await time::advance(d)`: moves the paused clock forward by `d`, firing the timers that
/// come due on the way in deadline order: at each deadline the clock stops and the tasks woken
/// there run (it yields) before it goes on, so each sees now() at its own deadline. Returns once
/// the clock reached now + d and the tasks woken last had their turn.
/// @throws std::logic_error outside a task, or if the clock is not paused.
/// @throws std::invalid_argument if `d` is negative.
inline Task<void> advance(Clock::duration d) {
    const Clock::time_point target = weft::detail::time_advance_begin(d);
    while (weft::detail::time_advance_step(target)) co_await yield_now();
    co_await yield_now();
}

}  // namespace weft::time
