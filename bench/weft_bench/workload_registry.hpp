// The workloads `weft-bench run` knows, by BENCHMARKS.md's ids and names. A workload whose code
// is not built yet (W6 needs the Redis client) is listed with the reason instead of a runner:
// making it runnable is one registration, its runner in workload_registry.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "stats.hpp"

namespace weft::bench {

// One CSV row of `weft-bench run`: `workload,params,runtime,median,min,max` (ops/s).
struct ResultRow {
    std::string workload;  // e.g. "W1_mpsc_throughput"
    std::string params;    // e.g. "P=1;C=128"
    std::string runtime;   // "weft", or a reference measured in the same run ("moodycamel_threads")
    Summary ops_per_second;
};

// Runs every parameter combination the options name; one row each. May print progress to stderr.
using WorkloadRunner = std::vector<ResultRow> (*)(const RunOptions&);

struct Workload {
    std::string_view id;       // "W1"
    std::string_view name;     // "mpsc_throughput"
    std::string_view summary;  // one line, for --help
    WorkloadRunner runner;     // null while the workload cannot be built
    std::string_view missing;  // why, when runner is null
};

const std::vector<Workload>& all_workloads();

// By id or name, case-insensitively ("W1", "w1", "mpsc_throughput"); null if unknown.
const Workload* find_workload(std::string_view id_or_name);

}  // namespace weft::bench
