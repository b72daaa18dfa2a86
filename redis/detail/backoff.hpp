// Reconnect backoff shared by the manager and the subscriber: exponential, with jitter.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace weft::redis::detail {

// The waits between reconnect attempts: `min` first, doubled after each failure up to `max`,
// each drawn uniformly from [half, whole] so that many clients cut off together do not come
// back in step. reset() after a success starts again from `min`.
class Backoff {
public:
    Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
        : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), next_(min_),
          rng_(std::random_device{}()) {}

    std::chrono::milliseconds next() {
        std::uniform_int_distribution<std::int64_t> jitter(next_.count() / 2, next_.count());
        const std::chrono::milliseconds wait(jitter(rng_));
        next_ = std::min(next_ * 2, max_);
        return wait;
    }
    void reset() noexcept { next_ = min_; }

private:
    std::chrono::milliseconds min_, max_, next_;
    std::minstd_rand rng_;
};

}  // namespace weft::redis::detail
