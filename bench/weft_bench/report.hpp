// The capacity comparison's outputs: a table for the terminal (and capacities.txt), CSV, and
// JSON, each carrying the recommendation and saying what was measured.
#pragma once

#include <string>
#include <vector>

#include "capacity_result.hpp"
#include "recommendation.hpp"

namespace weft::bench {

// The table, then one recommendation line per producer count, then what each column measures.
std::string format_table(const CapacityReport& report, const std::vector<Recommendation>& recommendations);

// Header `capacity,producers,throughput_median,...`, then one row per configuration; empty
// latency cells when no message was sampled.
std::string format_csv(const CapacityReport& report, const std::vector<Recommendation>& recommendations);

// One object: the options, the baseline, `results` and `recommendations` (see README's
// Benchmarks section); missing latencies are null.
std::string format_json(const CapacityReport& report, const std::vector<Recommendation>& recommendations);

// A rate as a short human figure: 12.3 M, 950 k.
std::string human_rate(double per_second);
// A duration in nanoseconds as 850 ns, 12.5 us, 3.1 ms.
std::string human_duration(double ns);

}  // namespace weft::bench
