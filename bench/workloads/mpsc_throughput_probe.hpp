// W1 instrumented, for the capacity comparison: the same shape as mpsc_throughput.hpp (P producer
// tasks, one bounded channel of capacity C, one consumer, u64 messages), plus two measurements.
//
// Latency: every `sample_every`-th message of each producer carries its steady-clock send time
// instead of a counter (bit 63 set marks it; a counter never reaches 2^63); the consumer reads the
// clock when it receives one and keeps the difference. So the latency is send-to-receive: the time
// the message waited in the channel plus the time until the consumer ran. A producer that found
// the channel full stamps the message before it waits, so its wait is part of the figure.
//
// Suspended sends: each producer first tries `try_send`; when that reports full it counts one and
// falls back to `co_await send`, which waits for room. So the count is "sends that found no free
// slot" (including a free slot kept for senders already waiting in line). This changes the
// producer's loop slightly against plain W1: a send that finds room never spends the cooperative
// budget, so producers yield only when the channel is full.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

struct ProbeOutcome {
    std::uint64_t received = 0;
    std::uint64_t sends = 0;
    std::uint64_t full_sends = 0;              // try_send found no room; the send waited
    std::vector<std::int64_t> latency_ns;      // one per sampled message
};

namespace detail {

inline constexpr std::uint64_t kStamped = std::uint64_t{1} << 63;

inline std::uint64_t nanos_since(std::chrono::steady_clock::time_point origin) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin).count());
}

// Yields how many of its sends found the channel full.
inline Task<std::uint64_t> probe_producer(mpsc::Sender<std::uint64_t> tx, std::uint64_t n,
                                          std::uint64_t sample_every, std::chrono::steady_clock::time_point origin) {
    std::uint64_t full = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::uint64_t message = i % sample_every == 0 ? kStamped | nanos_since(origin) : i;
        auto attempt = tx.try_send(message);
        if (attempt) continue;
        if (attempt.is_closed()) break;
        ++full;
        (void)co_await tx.send(attempt.take_value());
    }
    co_return full;
}

}  // namespace detail

inline Task<ProbeOutcome> mpsc_throughput_probe(std::size_t capacity, int producers, std::uint64_t total,
                                                std::uint64_t sample_every) {
    const auto origin = std::chrono::steady_clock::now();
    const std::uint64_t each = total / static_cast<std::uint64_t>(producers);
    auto [tx, rx] = mpsc::channel<std::uint64_t>(capacity);
    std::vector<JoinHandle<std::uint64_t>> handles;
    handles.reserve(static_cast<std::size_t>(producers));
    for (int p = 0; p < producers; ++p) handles.push_back(spawn(detail::probe_producer(tx, each, sample_every, origin)));
    { auto ours = std::move(tx); }

    ProbeOutcome outcome;
    outcome.latency_ns.reserve(static_cast<std::size_t>(each / sample_every + 1) * static_cast<std::size_t>(producers));
    while (auto v = co_await rx.recv()) {
        ++outcome.received;
        if (*v & detail::kStamped) {
            const auto now = static_cast<std::int64_t>(detail::nanos_since(origin));
            outcome.latency_ns.push_back(now - static_cast<std::int64_t>(*v & ~detail::kStamped));
        }
    }
    for (auto& h : handles) outcome.full_sends += co_await h;
    outcome.sends = each * static_cast<std::uint64_t>(producers);
    co_return outcome;
}

}  // namespace weft::bench::workloads
