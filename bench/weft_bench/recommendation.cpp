#include "recommendation.hpp"

#include <algorithm>
#include <set>

namespace weft::bench {

std::vector<Recommendation> recommend(const std::vector<CapacityResult>& results, double tolerance) {
    std::set<std::size_t> producer_counts;
    for (const CapacityResult& r : results) producer_counts.insert(r.producers);

    std::vector<Recommendation> out;
    for (const std::size_t producers : producer_counts) {
        std::vector<const CapacityResult*> rows;
        for (const CapacityResult& r : results)
            if (r.producers == producers) rows.push_back(&r);
        std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->capacity < b->capacity; });

        const CapacityResult* best = rows.front();
        for (const CapacityResult* r : rows)
            if (r->throughput.median > best->throughput.median) best = r;  // strict: the smallest wins a tie
        const double best_rate = best->throughput.median;
        const auto within = [&](const CapacityResult* r) {
            return best_rate - r->throughput.median <= tolerance * best_rate;
        };
        const CapacityResult* chosen = *std::find_if(rows.begin(), rows.end(), within);  // best itself qualifies
        out.push_back({producers, chosen->capacity, chosen->throughput.median, best->capacity, best_rate});
    }
    return out;
}

}  // namespace weft::bench
