// The figures weft-bench reports from repeated measurements: median with min and max, and
// percentiles of latency samples.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace weft::bench {

struct Summary {
    double median = 0;
    double min = 0;
    double max = 0;
};

// Median (the mean of the middle two for an even count), min and max. Throws on no values.
inline Summary summarize(std::vector<double> values) {
    if (values.empty()) throw std::invalid_argument("weft-bench: summarize of no values");
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    return {median, values.front(), values.back()};
}

// The nearest-rank percentile `p` (0 < p <= 100) of `values`, which it sorts. Throws on no values.
template <class T>
T percentile(std::vector<T>& values, double p) {
    if (values.empty()) throw std::invalid_argument("weft-bench: percentile of no values");
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace weft::bench
