// The scheduler's shared state: spawning, scheduling and completion, and the entry points public
// templates call. Shutdown (scheduler_shutdown.cpp), metrics (scheduler_metrics.cpp), the task
// waker (task_waker.cpp) and unhandled-exception reports (unhandled_exceptions.cpp) live apart.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"
#include "errors.hpp"

namespace weft::detail {

// ---- entry points used by public templates ----------------------------------------------------

void bind_and_schedule(Scheduler& scheduler, TaskHeader* task) { scheduler.spawn(task); }

Scheduler* current_scheduler() noexcept {
    const ThreadContext& ctx = tls_context;
    return ctx.entered ? ctx.entered : ctx.scheduler;
}

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
    for (std::uint32_t i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>(*this, i, options_.workers));
    register_live_scheduler(this, options_.on_unhandled_exception);
}

Scheduler::~Scheduler() {
    shutdown();
    unregister_live_scheduler(this);
}

void Scheduler::start_threads() {
    has_worker_threads_ = true;
    threads_.reserve(workers_.size());
    for (auto& worker : workers_)
        threads_.emplace_back([this, w = worker.get()] {
            thread_started();
            w->run();
            thread_stopping();
        });
}

void Scheduler::thread_started() const {
    if (!options_.thread_name.empty()) {
        // Linux allows 15 characters and the terminator; a longer name would fail to set at all.
        const std::string name = options_.thread_name.substr(0, 15);
        pthread_setname_np(pthread_self(), name.c_str());
    }
    if (options_.on_thread_start) options_.on_thread_start();
}

void Scheduler::thread_stopping() const {
    if (options_.on_thread_stop) options_.on_thread_stop();
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
        // Out of memory here is the spawner's error (the task is not queued), not an abort.
        if (!injector.enqueue(task)) {
            unjoined_spawns_.fetch_sub(1, std::memory_order_release);
            throw std::bad_alloc();
        }
        count_remote_spawn();
        notify_parked();
    }
    // release: the queued task is visible to shutdown once it reads the count back at 0.
    if (fenced) unjoined_spawns_.fetch_sub(1, std::memory_order_release);
}

void Scheduler::schedule_remote(TaskHeader* task) noexcept {
    if (injector_closed_.load(std::memory_order_acquire)) {
        // Shutdown completed every task and will not drain again: the queue's reference is ours
        // to drop (the last one frees the task).
        task->drop_ref();
        return;
    }
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

}  // namespace weft::detail
