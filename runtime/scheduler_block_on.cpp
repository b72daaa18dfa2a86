// block_on's wait for its task, once spawned, and the current-thread flavor's core.
//
// A current-thread runtime has one worker, which runs only on a thread inside block_on: that
// thread "holds the core". Several threads may call block_on at once (Tokio allows it): one holds
// the core and drives every task, its own and the others'; each other one waits until its own task
// completes (the driver's polls finish it; its join waker unparks the waiter) or the core is free
// (the holder's task completed, so it lets go), and then takes the core to drive on. Without this
// both threads would run the one worker's single-producer queue at once.
//
// No lost wakeup: a waiter lists itself under `core_mutex_` when it finds the core taken, and the
// holder, under the same mutex, clears `core_taken_` and unparks every listed waiter; a Parker keeps
// an unpark that comes before its park. The join waker is set before the first check of the task.
//
// Shutdown sets its flag, unparks the worker (the holder then leaves run_until), waits for the
// core and keeps it: waiters then wait only for their tasks, which shutdown completes.
//
// Never throws: from the spawn on, the task may refer to the caller's stack, so block_on must not
// leave before the task completed (Runtime::block_on allocates everything it needs before).
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

bool Scheduler::try_take_core(CoreWaiter& me) noexcept {
    std::lock_guard lock(core_mutex_);
    if (!core_taken_ && !is_shutdown()) {
        core_taken_ = true;
        return true;
    }
    for (CoreWaiter* w = core_waiters_; w; w = w->next)
        if (w == &me) return false;
    me.next = core_waiters_;
    core_waiters_ = &me;
    return false;
}

void Scheduler::release_core() noexcept {
    {
        std::lock_guard lock(core_mutex_);
        core_taken_ = false;
        // Every waiter looks again; the first to lock takes the core, the others re-list.
        for (CoreWaiter* w = std::exchange(core_waiters_, nullptr); w; w = w->next) w->waker.wake_by_ref();
    }
    core_released_.notify_all();
}

void Scheduler::block_on_current_thread(TaskHeader* task, ThreadNotifier& notifier) noexcept {
    // So that a thread waiting for the core learns that another's driving finished its task.
    (void)task->try_set_join_waker(notifier.waker());
    CoreWaiter me{notifier.waker(), nullptr};
    while (!task->is_complete()) {
        if (try_take_core(me)) {
            worker(0).run_until(*task);
            release_core();
        } else {
            notifier.park();
        }
    }
    std::lock_guard lock(core_mutex_);
    for (CoreWaiter** link = &core_waiters_; *link; link = &(*link)->next) {
        if (*link == &me) {
            *link = me.next;
            break;
        }
    }
}

void Scheduler::wait_until_complete(TaskHeader* task, ThreadNotifier& notifier) noexcept {
    if (task->try_set_join_waker(notifier.waker())) {
        while (!task->is_complete()) notifier.park();
    }
}

}  // namespace weft::detail
