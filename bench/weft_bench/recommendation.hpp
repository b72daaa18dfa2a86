// The capacity recommendation: per producer count, the smallest capacity whose median throughput
// is within 5% of the best median throughput measured for that producer count. Smaller buffers
// mean less memory and less queueing latency, so past that point a larger capacity buys little.
#pragma once

#include <cstddef>
#include <vector>

#include "capacity_result.hpp"

namespace weft::bench {

inline constexpr double kRecommendationTolerance = 0.05;

struct Recommendation {
    std::size_t producers = 0;
    std::size_t capacity = 0;          // the recommended capacity
    double throughput = 0;             // its median throughput
    std::size_t best_capacity = 0;     // the capacity with the best median (the smallest, on a tie)
    double best_throughput = 0;
};

// One recommendation per producer count present in `results`, in ascending producer order.
// "Within 5%" is inclusive: best - throughput <= tolerance * best. Results need not be sorted.
std::vector<Recommendation> recommend(const std::vector<CapacityResult>& results,
                                      double tolerance = kRecommendationTolerance);

}  // namespace weft::bench
