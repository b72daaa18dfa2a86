// Shared by the benchmark suites: 5 repetitions, with median, min and max reported, in real time.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

namespace weft::bench {

inline double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
inline double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// Every workload runs once per iteration; items/s is the figure to read.
inline void configure(benchmark::internal::Benchmark* b) {
    b->Repetitions(5)
        ->ReportAggregatesOnly(true)
        ->ComputeStatistics("min", min_of)
        ->ComputeStatistics("max", max_of)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
}

}  // namespace weft::bench
