// What the capacity comparison measured for one (capacity, producers) configuration, and for
// the whole run. Plain data: the report and the recommendation rule read it, tests build it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "cli.hpp"
#include "stats.hpp"

namespace weft::bench {

struct CapacityResult {
    std::size_t capacity = 0;
    std::size_t producers = 0;
    Summary throughput;                      // messages per second over the measured runs
    std::optional<double> latency_p50_ns;    // send-to-receive, over every sample of every run
    std::optional<double> latency_p99_ns;    // (empty when no message was sampled)
    std::uint64_t latency_samples = 0;
    double full_send_share = 0;              // sends whose try_send found no room, over all sends
    std::int64_t peak_rss_kib = 0;           // ru_maxrss of the child process that ran it
};

struct CapacityReport {
    CapacitiesOptions options;
    std::int64_t baseline_rss_kib = 0;       // ru_maxrss of a child that only starts the runtime
    std::vector<CapacityResult> results;     // by producers, then capacity, ascending
};

}  // namespace weft::bench
