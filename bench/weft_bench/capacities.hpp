// `weft-bench capacities`: runs the instrumented W1 (workloads/mpsc_throughput_probe.hpp) for
// every (capacity, producers) pair and collects what a user choosing a capacity needs to see.
//
// Each configuration runs in its own forked child process: a runtime with --workers workers, one
// warm-up run at a tenth of --messages, then --reps measured runs. The child sends its figures
// back over a pipe; the parent takes the child's peak resident set (ru_maxrss from wait4), so each
// configuration's memory is measured alone, not as the high-water mark of everything before it.
// A child that only starts the runtime gives the baseline that every figure includes.
//
// The parent starts no threads, so forking it is safe.
#pragma once

#include "capacity_result.hpp"
#include "cli.hpp"

namespace weft::bench {

// Runs the comparison, printing a progress line to stderr. Throws std::runtime_error if a
// configuration's child fails (crashes, loses messages).
CapacityReport run_capacities(const CapacitiesOptions& options);

}  // namespace weft::bench
