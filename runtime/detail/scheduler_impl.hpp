// The scheduler: workers, their queues, the injector, and the shared state. Private to the
// runtime's .cpp files (it pulls in moodycamel's ConcurrentQueue).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "../metrics.hpp"
#include "blocking_pool.hpp"
#include "context.hpp"
#include "driver.hpp"
#include "idle.hpp"
#include "owned_tasks.hpp"
#include "parker.hpp"
#include "run_queue.hpp"
#include "scheduler.hpp"
#include "task_header.hpp"

namespace weft::detail {

// The current thread's context, for the runtime's own (non-coroutine) code. Code that may be
// inlined into a coroutine uses this_thread_context() instead (see context.hpp).
extern constinit thread_local ThreadContext tls_context;

// How a task is being queued: a task woken by the running task goes to the LIFO slot; a yielded or
// re-notified task goes to the back of the queue, so it cannot monopolise the worker; a new one too.
enum class ScheduleKind { kWake, kYield, kSpawn };

class Scheduler;

// Counters owned by one worker: written only by it (plain load + store), read by anyone.
struct WorkerCounters {
    std::atomic<std::uint64_t> polls{0}, steal_operations{0}, stolen_tasks{0}, parks{0}, overflows{0}, spawned{0};
    static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

class Worker {
public:
    Worker(Scheduler& scheduler, std::uint32_t index);

    // Multi-thread flavor: the worker thread's loop, until shutdown.
    void run();
    // Current-thread flavor: runs tasks on the calling thread until `done()` or shutdown.
    void run_until(const std::function<bool()>& done);

    // From this worker's own thread only.
    void schedule_local(TaskHeader* task, ScheduleKind kind) noexcept;

    // Shutdown, after the worker's thread stopped: hands back every queued task.
    template <class F>
    void drain(F&& release) {
        if (TaskHeader* t = std::exchange(lifo_slot_, nullptr)) release(t);
        while (TaskHeader* t = queue_.pop()) release(t);
    }

    Parker& parker() noexcept { return parker_; }
    RunQueue& queue() noexcept { return queue_; }
    const RunQueue& queue() const noexcept { return queue_; }
    const WorkerCounters& counters() const noexcept { return counters_; }
    void count_spawn() noexcept { WorkerCounters::bump(counters_.spawned); }

private:
    bool run_one_round();  // one tick of the loop: returns false when it found nothing to run
    TaskHeader* next_task();
    TaskHeader* next_from_injector(bool fill_local);
    TaskHeader* steal_work();
    bool search_before_parking();
    void run_task(TaskHeader* task);
    void poll(TaskHeader* task);
    void park();
    void push_back(TaskHeader* task) noexcept;
    void notify_others() noexcept;
    void maintenance();

    Scheduler& scheduler_;
    const std::uint32_t index_;
    RunQueue queue_;
    Parker parker_;
    WorkerCounters counters_;
    moodycamel::ConsumerToken injector_consumer_;
    moodycamel::ProducerToken injector_producer_;

    // Touched only by the thread running this worker.
    TaskHeader* lifo_slot_ = nullptr;
    std::uint32_t tick_ = 0;
    bool is_searching_ = false;
    bool is_parked_ = false;  // in park(): tasks the driver wakes go to the queue, not the LIFO slot
    std::uint32_t rng_;
};

class Scheduler {
public:
    struct Options {
        std::uint32_t workers;
        bool lifo_enabled;
        std::size_t max_blocking_threads;
        std::chrono::milliseconds blocking_keep_alive;
        std::function<void(std::exception_ptr)> on_unhandled_exception;
    };

    explicit Scheduler(Options options);
    ~Scheduler();

    void start_threads();          // multi-thread flavor
    Worker& worker(std::uint32_t i) { return *workers_[i]; }
    std::uint32_t num_workers() const noexcept { return static_cast<std::uint32_t>(workers_.size()); }

    // Queues a newly spawned task. Throws RuntimeShutdownError once shutdown has begun.
    void spawn(TaskHeader* task);
    // At the end of a task's first poll that did not finish it: into the owned list, so shutdown
    // can find it wherever it waits. False when shutdown has closed the list.
    bool adopt(TaskHeader* task) noexcept { return owned_.insert(task); }
    void schedule(TaskHeader* task, ScheduleKind kind) noexcept;
    void schedule_remote(TaskHeader* task) noexcept;
    void notify_parked() noexcept;
    // Work another worker could take: the injector or a run queue is not empty (approximate).
    bool has_visible_work() const noexcept;
    // Finishes a task: output, frame, owned list, joiner; then drops the reference of the worker
    // that polled it (or of the queue it was drained from).
    void complete(TaskHeader* task, bool cancelled) noexcept;

    void shutdown();
    bool is_shutdown() const noexcept { return shutdown_.load(std::memory_order_acquire); }
    bool lifo_enabled() const noexcept { return options_.lifo_enabled; }
    void count_remote_spawn() noexcept { remote_spawns_.fetch_add(1, std::memory_order_relaxed); }
    BlockingPool& blocking() noexcept { return blocking_; }
    RuntimeMetrics metrics() const;

    // Shared with workers.
    moodycamel::ConcurrentQueue<TaskHeader*> injector;
    Driver driver;  // before the workers: their parkers point at it
    Idle idle;

private:
    Options options_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    OwnedTasks owned_;
    bool has_worker_threads_ = false;  // set before the threads start; shutdown joins them
    // Read by every worker on every tick: alone on its line, so writes nearby don't evict it.
    alignas(64) std::atomic<bool> shutdown_{false};
    // Spawns in progress from threads shutdown does not join (see spawn()).
    alignas(64) std::atomic<std::uint32_t> unjoined_spawns_{0};
    alignas(64) std::atomic<std::uint64_t> remote_spawns_{0};
    std::mutex shutdown_mutex_;  // serialises concurrent shutdown() calls
    bool shutdown_done_ = false;
    BlockingPool blocking_;
};

// The registry of schedulers alive now, with their on_unhandled_exception handlers
// (unhandled_exceptions.cpp): an exception report from a JoinHandle dropped after its runtime is
// gone, or while it is being destroyed, goes to a handler that is still alive or to stderr.
void register_live_scheduler(const Scheduler* scheduler, std::function<void(std::exception_ptr)> handler);
void unregister_live_scheduler(const Scheduler* scheduler);

}  // namespace weft::detail
