// W1 mpsc_throughput (BENCHMARKS.md): one consumer task receives N u64 in total from P producer
// tasks, each sending N/P through ONE bounded mpsc channel of capacity C. The caller times the
// whole `block_on`, which is dominated by the span from spawning the producers until the
// consumer has every message.
#pragma once

#include <cstddef>
#include <cstdint>

#include <weft/channels/mpsc.hpp>
#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

// The number of messages W1 delivers: N/P from each of P producers.
inline std::uint64_t mpsc_throughput_delivered(std::uint64_t total, int producers) {
    return total - total % static_cast<std::uint64_t>(producers);
}

inline Task<void> mpsc_throughput_producer(mpsc::Sender<std::uint64_t> tx, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) (void)co_await tx.send(i);
}

// Runs W1 once; yields the number of messages received (mpsc_throughput_delivered on success).
inline Task<std::uint64_t> mpsc_throughput(std::size_t capacity, int producers, std::uint64_t total) {
    auto [tx, rx] = mpsc::channel<std::uint64_t>(capacity);
    for (int p = 0; p < producers; ++p)
        spawn(mpsc_throughput_producer(tx, total / static_cast<std::uint64_t>(producers))).detach();
    { auto ours = std::move(tx); }  // the channel closes once the producers are done
    std::uint64_t received = 0;
    while (auto v = co_await rx.recv()) received += 1;
    co_return received;
}

}  // namespace weft::bench::workloads
