// Scheduler::metrics: a snapshot of the runtime's counters (RuntimeMetrics, metrics.hpp). Separate
// from scheduler.cpp because it only reads what the workers, the blocking pool and the drivers
// count, and takes no part in the scheduling protocols.
#include "metrics.hpp"
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

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
