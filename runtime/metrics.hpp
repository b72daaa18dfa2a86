// Counters a user can read from a running Runtime.
#pragma once

#include "detail/language_check.hpp"

#include <cstdint>
#include <vector>

namespace weft {

/// One worker's counters, a snapshot taken by Runtime::metrics(). Counters count since the
/// runtime started; they are read without stopping the workers, so they may be slightly stale.
struct WorkerMetrics {
    std::uint64_t polls = 0;             ///< Task polls run by this worker.
    std::uint64_t steal_operations = 0;  ///< Successful steals from other workers.
    std::uint64_t stolen_tasks = 0;      ///< Tasks moved here by those steals.
    std::uint64_t parks = 0;             ///< Times the worker went to sleep.
    std::uint64_t overflows = 0;         ///< Times a full local queue moved half its tasks to the injector.
    std::uint64_t local_queue_depth = 0; ///< Tasks in this worker's local queue when sampled.
};

/// The whole runtime's counters, from Runtime::metrics(): the per-worker counters summed, plus
/// the shared queues, the blocking pool, the timer wheel and the reactor.
struct RuntimeMetrics {
    std::uint64_t workers = 0;                ///< Worker count (1 for a current_thread runtime).
    std::uint64_t tasks_spawned = 0;          ///< Tasks spawned, from workers and from other threads.
    std::uint64_t polls = 0;                  ///< Sum of WorkerMetrics::polls.
    std::uint64_t steal_operations = 0;       ///< Sum of WorkerMetrics::steal_operations.
    std::uint64_t stolen_tasks = 0;           ///< Sum of WorkerMetrics::stolen_tasks.
    std::uint64_t parks = 0;                  ///< Sum of WorkerMetrics::parks.
    std::uint64_t overflows = 0;              ///< Sum of WorkerMetrics::overflows.
    std::uint64_t injection_queue_depth = 0;  ///< Tasks in the shared injection queue (approximate).
    std::uint64_t blocking_threads = 0;       ///< Threads now in the spawn_blocking pool.
    std::uint64_t timers_pending = 0;         ///< Sleeps, intervals and timeouts on the timer wheel.
    std::uint64_t io_sources = 0;             ///< Sockets registered with the reactor.
    std::vector<WorkerMetrics> per_worker;    ///< One entry per worker, by index.
};

}  // namespace weft
