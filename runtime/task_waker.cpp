// The Waker of a spawned task: its vtable (clone, wake, wake by reference, drop) over the task's
// reference count and wake transitions, and the entry points that hand one out. Separate from
// scheduler.cpp: it is the bridge from TaskHeader's state machine to the scheduler's queues, which
// every leaf awaitable and channel reaches through a Waker.
//
// A wake racing shutdown. A wake on one of the task's own workers needs nothing more: shutdown
// joins those threads (or, for a current-thread runtime, waits for the thread driving it) before it
// touches a task. Any other thread may wake a task at any moment, even while its Runtime is being
// destroyed, and a wake that moved the task from idle to NOTIFIED must then queue it through the
// Scheduler, which shutdown may free. So such a wake marks its thread's WakeSlot busy (odd
// sequence number) before its transition and idle after its last use of the Scheduler; shutdown,
// once every task is complete, closes the injector and waits for every slot it finds busy to move
// on before it drains the queues (Scheduler::shutdown). Both sides write, issue a seq_cst fence,
// then read the other's variable, as in Dekker's algorithm, so at least one sees the other:
//   - the wake's transition sees the task COMPLETE: nothing to queue, the Scheduler is not touched;
//   - or shutdown sees the slot busy and waits for it: the Scheduler is alive for the whole wake,
//     which queues the task in time for the drain, or, finding the injector closed, drops the
//     queue's reference (the task is complete by then, so that may free it).
// Per-thread slots rather than one shared count: shutdown waits only for the wakes that were in
// progress when it looked, so a storm of new wakes from other threads cannot starve it.
// Tokio closes its injection queue the same way (`Inject::close`, checked under the queue's lock)
// and keeps its scheduler alive with a reference per task; weft's tasks hold a plain pointer, so
// the slots are what keep the Scheduler alive through a wake. Only wakes from outside a runtime's
// workers use them, and those already pay for a queue push and an unpark.
#include <atomic>
#include <mutex>
#include <thread>
#include <stdexcept>

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

namespace {

// One per thread that ever woke a task from outside its workers, in a registry shutdown scans.
struct WakeSlot {
    std::atomic<std::uint64_t> seq{0};  // odd while this thread is inside a foreign wake
    std::uint32_t depth = 0;            // nested wakes (a wake's drop_ref may run destructors that wake)
    WakeSlot* prev = nullptr;
    WakeSlot* next = nullptr;
    WakeSlot() noexcept;
    ~WakeSlot();
};

std::mutex g_slots_mutex;
WakeSlot* g_slots = nullptr;
thread_local WakeSlot t_slot;

WakeSlot::WakeSlot() noexcept {
    std::lock_guard lock(g_slots_mutex);
    next = g_slots;
    if (next) next->prev = this;
    g_slots = this;
}

WakeSlot::~WakeSlot() {
    std::lock_guard lock(g_slots_mutex);
    if (prev) prev->next = next;
    else g_slots = next;
    if (next) next->prev = prev;
}

class ForeignWakeScope {
public:
    ForeignWakeScope() noexcept : slot_(t_slot) {
        if (slot_.depth++ == 0) {
            // Only this thread writes seq: a plain store, then the fence (pairs with shutdown's).
            slot_.seq.store(slot_.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_seq_cst);
        }
    }
    ~ForeignWakeScope() {
        // release: our last use of the Scheduler happens-before shutdown sees the slot move on.
        if (--slot_.depth == 0)
            slot_.seq.store(slot_.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    ForeignWakeScope(const ForeignWakeScope&) = delete;
    ForeignWakeScope& operator=(const ForeignWakeScope&) = delete;

private:
    WakeSlot& slot_;
};

// Runs `transition` (a TaskHeader wake transition) and queues the task if it says so.
template <class Transition>
void wake_task(TaskHeader* task, Transition transition) noexcept {
    ThreadContext& ctx = tls_context;
    if (ctx.worker && ctx.scheduler == task->scheduler()) {
        if (transition() == TaskHeader::WakeResult::kSchedule) ctx.worker->schedule_local(task, ScheduleKind::kWake);
        return;
    }
    ForeignWakeScope scope;
    if (transition() == TaskHeader::WakeResult::kSchedule) task->scheduler()->schedule_remote(task);
}

void task_waker_clone(void* p) noexcept { static_cast<TaskHeader*>(p)->add_ref(); }
void task_waker_wake(void* p) noexcept {
    auto* task = static_cast<TaskHeader*>(p);
    wake_task(task, [task] { return task->transition_to_notified_by_val(); });
}
void task_waker_wake_by_ref(void* p) noexcept {
    auto* task = static_cast<TaskHeader*>(p);
    wake_task(task, [task] { return task->transition_to_notified_by_ref(); });
}
void task_waker_drop(void* p) noexcept { static_cast<TaskHeader*>(p)->drop_ref(); }
constexpr Waker::Vtable kTaskWakerVtable{&task_waker_clone, &task_waker_wake, &task_waker_wake_by_ref,
                                         &task_waker_drop};

}  // namespace

void wait_for_foreign_wakes() noexcept {
    std::lock_guard lock(g_slots_mutex);  // slots stay alive while we look; their wakes need no lock
    for (WakeSlot* slot = g_slots; slot; slot = slot->next) {
        const std::uint64_t seen = slot->seq.load(std::memory_order_acquire);
        if (seen % 2 == 0) continue;
        while (slot->seq.load(std::memory_order_acquire) == seen) std::this_thread::yield();
    }
}

void wake_task_by_ref(TaskHeader* task, std::uint64_t extra) noexcept {
    wake_task(task, [task, extra] { return task->transition_to_notified_by_ref(extra); });
}

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
