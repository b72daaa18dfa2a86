// W1's reference limit (BENCHMARKS.md): the W1 traffic through a moodycamel::ConcurrentQueue
// between plain threads: P producer threads enqueue N/P u64 each, the calling thread spins on
// try_dequeue until it has them all. No bound and no suspension, so it measures the queue alone;
// a bounded channel that suspends cannot beat it by much.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace weft::bench::workloads {

// Runs the baseline once; returns the number of values dequeued (N - N % P).
inline std::uint64_t moodycamel_threads(int producers, std::uint64_t total) {
    moodycamel::ConcurrentQueue<std::uint64_t> queue;
    const std::uint64_t each = total / static_cast<std::uint64_t>(producers);
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(producers));
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&queue, each] {
            moodycamel::ProducerToken token(queue);
            for (std::uint64_t i = 0; i < each; ++i) queue.enqueue(token, i);
        });
    std::uint64_t received = 0, v = 0;
    const std::uint64_t expected = each * static_cast<std::uint64_t>(producers);
    while (received < expected)
        if (queue.try_dequeue(v)) ++received;
    for (auto& t : threads) t.join();
    return received;
}

}  // namespace weft::bench::workloads
