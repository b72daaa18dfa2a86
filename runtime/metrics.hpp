// Counters a user can read from a running Runtime.
#pragma once

#include "detail/language_check.hpp"

#include <cstdint>
#include <vector>

namespace weft {

struct WorkerMetrics {
    std::uint64_t polls = 0;         // task polls run by this worker
    std::uint64_t steal_operations = 0;  // successful steals from other workers
    std::uint64_t stolen_tasks = 0;  // tasks moved here by those steals
    std::uint64_t parks = 0;         // times the worker went to sleep
    std::uint64_t overflows = 0;     // times a full local queue moved half its tasks to the injector
    std::uint64_t local_queue_depth = 0;
};

struct RuntimeMetrics {
    std::uint64_t workers = 0;
    std::uint64_t tasks_spawned = 0;
    std::uint64_t polls = 0;
    std::uint64_t steal_operations = 0;
    std::uint64_t stolen_tasks = 0;
    std::uint64_t parks = 0;
    std::uint64_t overflows = 0;
    std::uint64_t injection_queue_depth = 0;  // approximate
    std::uint64_t blocking_threads = 0;
    std::uint64_t timers_pending = 0;     // sleeps, intervals and timeouts on the timer wheel
    std::uint64_t io_sources = 0;         // sockets registered with the reactor
    std::vector<WorkerMetrics> per_worker;
};

}  // namespace weft
