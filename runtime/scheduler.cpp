// The scheduler's shared state: spawning, scheduling, completion, shutdown.
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"
#include "errors.hpp"

namespace weft::detail {

namespace {

// Schedulers alive now. An exception report may come from a JoinHandle dropped after its runtime
// is gone; it then goes to the default reporter instead of a destroyed handler.
std::mutex live_mutex;
std::unordered_set<const Scheduler*> live_schedulers;

void default_report(std::exception_ptr error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft: a task nobody joined ended with an exception: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "weft: a task nobody joined ended with a non-standard exception\n");
    }
}

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

// ---- entry points used by public templates ----------------------------------------------------

void bind_and_schedule(Scheduler& scheduler, TaskHeader* task) { scheduler.spawn(task); }

void report_unhandled_exception(Scheduler* scheduler, std::exception_ptr error) noexcept {
    {
        std::lock_guard lock(live_mutex);
        if (!live_schedulers.count(scheduler)) scheduler = nullptr;
    }
    if (scheduler) scheduler->report_unhandled(std::move(error));
    else default_report(std::move(error));
}

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

Scheduler* current_scheduler() noexcept { return tls_context.scheduler; }

Driver& current_driver() {
    Scheduler* scheduler = tls_context.scheduler;
    if (!scheduler) throw std::logic_error("weft: timers and I/O need a runtime: use them inside a task");
    if (scheduler->is_shutdown()) throw RuntimeShutdownError();
    return scheduler->driver;
}

bool is_worker_thread() noexcept { return tls_context.worker != nullptr; }

void submit_blocking(Scheduler& scheduler, std::function<void()> job) {
    if (!scheduler.blocking().submit(std::move(job))) throw RuntimeShutdownError();
}

// ---- Scheduler ------------------------------------------------------------------------------

Scheduler::Scheduler(Options options)
    : idle(options.workers),
      options_(std::move(options)),
      blocking_(*this, options_.max_blocking_threads, options_.blocking_keep_alive) {
    workers_.reserve(options_.workers);
    for (std::uint32_t i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
    std::lock_guard lock(live_mutex);
    live_schedulers.insert(this);
}

Scheduler::~Scheduler() {
    shutdown();
    std::lock_guard lock(live_mutex);
    live_schedulers.erase(this);
}

void Scheduler::start_threads() {
    has_worker_threads_ = true;
    threads_.reserve(workers_.size());
    for (auto& worker : workers_) threads_.emplace_back([w = worker.get()] { w->run(); });
}

// A spawn must either be refused or land where shutdown will find the task (a queue it drains).
// On one of our worker threads that is simple: shutdown joins those threads before it drains, so
// a spawn that saw no shutdown flag is queued in time. Any other thread (block_on's caller, the
// blocking pool, a plain thread) announces itself in `unjoined_spawns_` first; shutdown sets the
// flag, then waits for the count to reach zero before it drains. Both sides write one atomic and
// then read the other, all seq_cst, so at least one of them sees the other (as in Dekker's
// algorithm): the spawn sees the flag and backs out, or shutdown sees the spawn and waits for it.
void Scheduler::spawn(TaskHeader* task) {
    ThreadContext& ctx = tls_context;
    const bool on_own_worker = ctx.worker && ctx.scheduler == this;
    const bool fenced = !(on_own_worker && has_worker_threads_);  // a thread shutdown does not join
    if (fenced) unjoined_spawns_.fetch_add(1, std::memory_order_seq_cst);
    if (shutdown_.load(std::memory_order_seq_cst)) {
        if (fenced) unjoined_spawns_.fetch_sub(1, std::memory_order_release);
        throw RuntimeShutdownError();
    }
    if (on_own_worker) {
        ctx.worker->count_spawn();
        ctx.worker->schedule_local(task, ScheduleKind::kSpawn);
    } else {
        count_remote_spawn();
        schedule_remote(task);
    }
    // release: the queued task is visible to shutdown once it reads the count back at 0.
    if (fenced) unjoined_spawns_.fetch_sub(1, std::memory_order_release);
}

void Scheduler::schedule(TaskHeader* task, ScheduleKind kind) noexcept {
    ThreadContext& ctx = tls_context;
    if (ctx.worker && ctx.scheduler == this) ctx.worker->schedule_local(task, kind);
    else schedule_remote(task);
}

void Scheduler::schedule_remote(TaskHeader* task) noexcept {
    if (!injector.enqueue(task)) {
        std::fputs("weft: out of memory in the injection queue\n", stderr);
        std::abort();
    }
    notify_parked();
}

void Scheduler::notify_parked() noexcept {
    const int worker = idle.worker_to_notify();
    if (worker >= 0) workers_[static_cast<std::size_t>(worker)]->parker().unpark();
}

bool Scheduler::has_visible_work() const noexcept {
    if (injector.size_approx() > 0) return true;
    for (const auto& worker : workers_)
        if (worker->queue().has_stealable_tasks()) return true;
    return false;
}

void Scheduler::complete(TaskHeader* task, bool cancelled) noexcept {
    // The frame goes first, so a joiner that wakes finds everything the task held released.
    task->vtable()->finish(task, cancelled);
    if (task->is_owned) owned_.remove(task);
    const std::uint64_t prev = task->transition_to_complete();
    if (!(prev & TaskHeader::kJoinInterest)) {
        task->vtable()->drop_output(task);
    } else if (prev & TaskHeader::kJoinWaker) {
        task->take_join_waker().wake();
    }
    task->drop_ref();
}

void Scheduler::report_unhandled(std::exception_ptr error) noexcept {
    if (!options_.on_unhandled_exception) return default_report(std::move(error));
    try {
        options_.on_unhandled_exception(std::move(error));
    } catch (...) {
        std::fputs("weft: on_unhandled_exception threw; ignored\n", stderr);
    }
}

void Scheduler::shutdown() {
    ThreadContext& ctx = tls_context;
    if (ctx.worker && ctx.scheduler == this)
        throw std::logic_error("weft: a runtime cannot be shut down from one of its own tasks");
    std::lock_guard lock(shutdown_mutex_);
    if (shutdown_done_) return;
    shutdown_.store(true, std::memory_order_seq_cst);  // seq_cst: see spawn()

    std::vector<std::uint32_t> sleepers;
    idle.unpark_all_for_shutdown(sleepers);
    for (auto& worker : workers_) worker->parker().unpark();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    blocking_.shutdown();

    // Spawns from other threads that got past the flag are queued by the time this count is 0.
    while (unjoined_spawns_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();

    // No worker runs now. Destroy every unfinished task; its destructors may wake others (they
    // land in the injector) or drop handles. First the suspended ones, in the owned list: each is
    // pinned by a reference while it goes (complete() drops one).
    owned_.close();
    while (TaskHeader* task = owned_.pop_any()) {
        task->add_ref();
        complete(task, /*cancelled=*/true);
    }
    // Then the queued ones: those never polled were never in the list. Each queue entry holds a
    // reference, which complete() (or drop_ref for a task already complete) releases.
    const auto finish_queued = [this](TaskHeader* t) {
        if (t->is_complete()) t->drop_ref();
        else complete(t, /*cancelled=*/true);
    };
    for (auto& worker : workers_) worker->drain(finish_queued);
    TaskHeader* task = nullptr;
    while (injector.try_dequeue(task)) finish_queued(task);
    // Sockets that outlive their tasks (held by plain threads) are shut down: their peers see the
    // connection close, and their next operation fails with RuntimeShutdownError.
    driver.io().shutdown();
    shutdown_done_ = true;
}

RuntimeMetrics Scheduler::metrics() const {
    RuntimeMetrics m;
    m.workers = workers_.size();
    m.tasks_spawned = remote_spawns_.load(std::memory_order_relaxed);
    for (const auto& worker : workers_) {
        const WorkerCounters& c = worker->counters();
        WorkerMetrics w;
        w.polls = c.polls.load(std::memory_order_relaxed);
        w.steal_operations = c.steal_operations.load(std::memory_order_relaxed);
        w.stolen_tasks = c.stolen_tasks.load(std::memory_order_relaxed);
        w.parks = c.parks.load(std::memory_order_relaxed);
        w.overflows = c.overflows.load(std::memory_order_relaxed);
        w.local_queue_depth = worker->queue().len();
        m.tasks_spawned += c.spawned.load(std::memory_order_relaxed);
        m.polls += w.polls;
        m.steal_operations += w.steal_operations;
        m.stolen_tasks += w.stolen_tasks;
        m.parks += w.parks;
        m.overflows += w.overflows;
        m.per_worker.push_back(w);
    }
    m.injection_queue_depth = injector.size_approx();
    m.blocking_threads = blocking_.num_threads();
    m.timers_pending = driver.time().pending();
    m.io_sources = driver.io().registered();
    return m;
}

}  // namespace weft::detail
