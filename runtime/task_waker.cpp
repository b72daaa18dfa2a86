// The Waker of a spawned task: its vtable (clone, wake, wake by reference, drop) over the task's
// reference count and wake transitions, and the entry points that hand one out. Separate from
// scheduler.cpp: it is the bridge from TaskHeader's state machine to Scheduler::schedule, which
// every leaf awaitable and channel reaches through a Waker.
#include <stdexcept>

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

namespace {

void task_waker_clone(void* p) noexcept { static_cast<TaskHeader*>(p)->add_ref(); }
void task_waker_wake(void* p) noexcept {
    auto* task = static_cast<TaskHeader*>(p);
    if (task->transition_to_notified_by_val() == TaskHeader::WakeResult::kSchedule)
        task->scheduler()->schedule(task, ScheduleKind::kWake);
}
void task_waker_wake_by_ref(void* p) noexcept {
    auto* task = static_cast<TaskHeader*>(p);
    if (task->transition_to_notified_by_ref() == TaskHeader::WakeResult::kSchedule)
        task->scheduler()->schedule(task, ScheduleKind::kWake);
}
void task_waker_drop(void* p) noexcept { static_cast<TaskHeader*>(p)->drop_ref(); }
constexpr Waker::Vtable kTaskWakerVtable{&task_waker_clone, &task_waker_wake, &task_waker_wake_by_ref,
                                         &task_waker_drop};

}  // namespace

void schedule_woken(TaskHeader* task) noexcept { task->scheduler()->schedule(task, ScheduleKind::kWake); }

Waker task_waker(TaskHeader* task) noexcept {
    task->add_ref();
    return Waker(&kTaskWakerVtable, task);
}

Waker current_task_waker() {
    TaskHeader* task = tls_context.task;
    if (!task) throw std::logic_error("weft: this operation must be awaited inside a task run by a weft runtime");
    return task_waker(task);
}

}  // namespace weft::detail
