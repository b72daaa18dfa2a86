// The await_ready / await_suspend / poll_ready skeleton of an awaiter whose operation can often
// complete at once, and so must spend the task's cooperative budget (runtime/detail/coop.hpp):
// mpsc send and reserve, broadcast recv, watch changed(), Semaphore acquire (and Mutex lock),
// Notify's notified().
//
//   await_ready    spends one unit of budget and tries to complete now (Derived::try_now). With
//                  the budget spent it does not try: it marks the wait as a yield, so a task
//                  cancelled during the yield has taken nothing.
//   await_suspend  requests that yield; or registers the task (Derived::wait), which may complete
//                  the operation instead (the state changed since try_now): then it does not
//                  suspend.
//   poll_ready     after a yield, does what was skipped: try_now, then wait. After a wake, asks
//                  Derived::poll_woken. The default retries the same way (a wake is only a hint);
//                  an awaiter handed its outcome through its waiter node reads the node instead.
//
// Derived provides, privately (it befriends BudgetedWait<Derived>):
//   bool try_now();               // true if the operation completed now (outcome recorded)
//   bool wait(const Waker&);      // registers the waker: true if the task must suspend, false if
//                                 // the operation completed instead
// and, where the default does not fit:
//   bool poll_woken();            // after a wake: true if the operation completed
//   bool poll_failed() noexcept;  // an operation threw inside poll_ready (which is noexcept):
//                                 // true to resume (await_resume reports it), false to keep
//                                 // waiting. Default: std::terminate, as for any exception
//                                 // leaving a noexcept function.
// Its destructor is the cancellation path (leave the wait list, pass on what it was granted).
//
// Not copyable or movable: a waiting awaiter's node sits in a wait list.
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/coop.hpp>
#include <weft/runtime/detail/inline.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include <weft/runtime/waker.hpp>

namespace weft::detail {

template <class Derived>
class BudgetedWait : public Pollable {
public:
    BudgetedWait(const BudgetedWait&) = delete;
    BudgetedWait& operator=(const BudgetedWait&) = delete;

    WEFT_INLINE bool await_ready() noexcept(noexcept(std::declval<Derived&>().try_now())) {
        if (!coop::try_consume()) {
            must_yield_ = true;
            return false;
        }
        return self().try_now();
    }
    bool await_suspend(std::coroutine_handle<>) {
        if (must_yield_) coop::request_yield();
        else if (!self().wait(current_task_waker())) return false;
        set_pending_poll(this);
        return true;
    }
    bool poll_ready() noexcept final {
        try {
            if (std::exchange(must_yield_, false)) return retry();
            return self().poll_woken();
        } catch (...) {
            return self().poll_failed();
        }
    }

protected:
    BudgetedWait() = default;
    ~BudgetedWait() = default;

    // The defaults described above; Derived hides them with its own.
    bool poll_woken() { return retry(); }
    [[noreturn]] bool poll_failed() noexcept { std::terminate(); }

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    bool retry() { return self().try_now() || !self().wait(current_task_waker()); }

    bool must_yield_ = false;  // await_ready found the budget spent: suspend as a yield
};

}  // namespace weft::detail
