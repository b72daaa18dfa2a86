// The scheduler: workers, their queues, the injector, and the shared state. Private to the
// runtime's .cpp files (it pulls in moodycamel's ConcurrentQueue).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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
#include "thread_waker.hpp"

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
    Worker(Scheduler& scheduler, std::uint32_t index, std::uint32_t num_workers);

    // Multi-thread flavor: the worker thread's loop, until shutdown.
    void run();
    // Current-thread flavor: runs tasks on the calling thread until `task` completes or shutdown.
    // The caller holds the core (Scheduler::block_on_current_thread).
    void run_until(const TaskHeader& task);

    // From this worker's own thread only.
    void schedule_local(TaskHeader* task, ScheduleKind kind) noexcept;
    // block_in_place, from this worker's thread inside a poll: every queued task goes to the
    // injector, and a parked worker is woken to take them.
    void hand_off_queued() noexcept;

    // Shutdown, after the worker's thread stopped: hands back every queued task.
    template <class F>
    void drain(F&& release) {
        if (TaskHeader* t = std::exchange(lifo_slot_, nullptr)) release(t);
        while (TaskHeader* t = queue_.pop()) release(t);
        while (deferred_count_ > 0) release(deferred_[--deferred_count_]);
    }

    Parker& parker() noexcept { return parker_; }
    RunQueue& queue() noexcept { return queue_; }
    const RunQueue& queue() const noexcept { return queue_; }
    const WorkerCounters& counters() const noexcept { return counters_; }
    void count_spawn() noexcept { WorkerCounters::bump(counters_.spawned); }

private:
    bool run_one_round();  // one tick of the loop: returns false when it found nothing to run
    bool has_deferred() const noexcept { return deferred_count_ > 0; }
    void defer(TaskHeader* task) noexcept;
    void park_yield();  // polls the driver without waiting, then queues the deferred tasks
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
    void poll_driver_if_free();  // without waiting, unless another worker holds the driver
    void wake_deferred() noexcept;

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
    // Per victim: the mark of its queue when this worker first saw tasks there, and when; and
    // when to read that queue again (the stealing rule in worker.cpp's header).
    struct StealLook {
        std::uint32_t mark = 0;
        std::int64_t at_ns = 0;
        std::int64_t next_look_ns = 0;
        bool valid = false;
    };
    std::vector<StealLook> looks_;
    bool saw_young_work_ = false;
    // Tasks that yielded (yield_now, a spent budget): they run again only after the driver was
    // polled (Tokio's defer list), so a task yielding in a loop lets timers and I/O through. Bounded;
    // a yield that finds it full goes to the back of the queue, as every yield once did.
    static constexpr std::size_t kMaxDeferred = 64;
    std::size_t deferred_count_ = 0;
    TaskHeader* deferred_[kMaxDeferred];
};

// Owned by a shared_ptr (the Runtime's and every Handle's, and each blocking thread's): a Handle
// that outlives its Runtime still points at a live, shut-down Scheduler, and a blocking thread that
// shutdown_timeout left behind still has its pool to return to.
class Scheduler : public std::enable_shared_from_this<Scheduler> {
public:
    struct Options {
        std::uint32_t workers;
        bool current_thread;
        bool lifo_enabled;
        std::size_t max_blocking_threads;
        std::chrono::milliseconds blocking_keep_alive;
        std::function<void(std::exception_ptr)> on_unhandled_exception;
        std::function<void()> on_thread_start;
        std::function<void()> on_thread_stop;
        std::string thread_name;
    };

    explicit Scheduler(Options options);
    ~Scheduler();

    void start_threads();          // multi-thread flavor
    bool is_current_thread() const noexcept { return options_.current_thread; }
    // On every thread the runtime starts (workers, blocking threads): first thing and last thing.
    void thread_started() const;
    void thread_stopping() const;
    Worker& worker(std::uint32_t i) { return *workers_[i]; }
    std::uint32_t num_workers() const noexcept { return static_cast<std::uint32_t>(workers_.size()); }

    // Queues a newly spawned task. Throws RuntimeShutdownError once shutdown has begun.
    void spawn(TaskHeader* task);
    // At the end of a task's first poll that did not finish it: into the owned list, so shutdown
    // can find it wherever it waits. False when shutdown has closed the list.
    bool adopt(TaskHeader* task) noexcept { return owned_.insert(task); }
    // Queues a woken task in the injector from a thread that is not one of this runtime's workers,
    // or drops the queue's reference once shutdown has closed the injector. Only inside the
    // foreign-wake protocol (task_waker.cpp), which keeps this Scheduler alive meanwhile.
    void schedule_remote(TaskHeader* task) noexcept;
    void notify_parked() noexcept;
    // Work another worker could take: the injector or a run queue is not empty (approximate).
    bool has_visible_work() const noexcept;
    // Finishes a task: output, frame, owned list, joiner; then drops the reference of the worker
    // that polled it (or of the queue it was drained from).
    void complete(TaskHeader* task, bool cancelled) noexcept;

    // block_on's wait, once its task is spawned. Never throws: the task may refer to the caller's
    // stack, so the caller must not leave before it completed. Current-thread flavor: drives the
    // one worker (the core) while no other thread does, and otherwise waits until either the task
    // completes or the core is free; multi-thread: waits for the task. `notifier` is the caller's.
    void block_on_current_thread(TaskHeader* task, ThreadNotifier& notifier) noexcept;
    static void wait_until_complete(TaskHeader* task, ThreadNotifier& notifier) noexcept;

    // `blocking_timeout`: how long to wait for running blocking calls before leaving their threads
    // behind (shutdown_timeout); none waits for them all.
    void shutdown(std::optional<std::chrono::nanoseconds> blocking_timeout = std::nullopt);
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
    // Set by shutdown once every task is complete: a foreign wake then drops its task (task_waker.cpp).
    std::atomic<bool> injector_closed_{false};

    // Current-thread flavor: the core (worker 0) is driven by one block_on caller at a time; the
    // others wait in `core_waiters_` (their own stack nodes) and are all unparked when it is
    // released. Shutdown takes it for good, so it never drains a queue someone is running.
    struct CoreWaiter {
        Waker waker;  // unparks the waiting thread
        CoreWaiter* next;
    };
    bool try_take_core(CoreWaiter& me) noexcept;
    void release_core() noexcept;
    std::mutex core_mutex_;
    std::condition_variable core_released_;  // for shutdown
    bool core_taken_ = false;
    CoreWaiter* core_waiters_ = nullptr;
    BlockingPool blocking_;
};

// Returns once every wake that was in progress, on a thread that is not the woken task's worker,
// when it was called has finished (task_waker.cpp): shutdown calls it before it drains the queues.
void wait_for_foreign_wakes() noexcept;

// The registry of schedulers alive now, with their on_unhandled_exception handlers
// (unhandled_exceptions.cpp): an exception report from a JoinHandle dropped after its runtime is
// gone, or while it is being destroyed, goes to a handler that is still alive or to stderr.
void register_live_scheduler(const Scheduler* scheduler, std::function<void(std::exception_ptr)> handler);
void unregister_live_scheduler(const Scheduler* scheduler);

}  // namespace weft::detail
