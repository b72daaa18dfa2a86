// W2 oneshot_roundtrip (BENCHMARKS.md): the actor pattern without Redis. One manager task owns a
// counter; M client tasks each send a request over an mpsc channel (capacity 32) carrying a
// oneshot sender, the manager answers with the incremented counter, and the client awaits the
// answer before its next request.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

inline constexpr std::size_t kOneshotRoundtripQueue = 32;

// A constructor rather than an aggregate: g++ 12 miscompiles aggregate temporaries in a co_await
// operand (see the README).
class CounterRequest {
public:
    explicit CounterRequest(oneshot::Sender<std::uint64_t> reply) : reply(std::move(reply)) {}
    oneshot::Sender<std::uint64_t> reply;
};

inline Task<void> oneshot_roundtrip_manager(mpsc::Receiver<CounterRequest> rx) {
    std::uint64_t counter = 0;
    while (auto r = co_await rx.recv()) (void)r->reply.send(++counter);
}

// Yields the sum of the answers it got, so the compiler cannot drop the replies.
inline Task<std::uint64_t> oneshot_roundtrip_client(mpsc::Sender<CounterRequest> tx, std::uint64_t requests) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < requests; ++i) {
        auto [reply_tx, reply_rx] = oneshot::channel<std::uint64_t>();
        CounterRequest request(std::move(reply_tx));
        (void)co_await tx.send(std::move(request));
        sum += co_await reply_rx;
    }
    co_return sum;
}

// Runs W2 once: `total` requests split evenly over `clients`. Yields the number of requests
// answered (total - total % clients).
inline Task<std::uint64_t> oneshot_roundtrip(int clients, std::uint64_t total) {
    auto [tx, rx] = mpsc::channel<CounterRequest>(kOneshotRoundtripQueue);
    JoinHandle<void> manager = spawn(oneshot_roundtrip_manager(std::move(rx)));
    const std::uint64_t each = total / static_cast<std::uint64_t>(clients);
    std::vector<JoinHandle<std::uint64_t>> handles;
    handles.reserve(static_cast<std::size_t>(clients));
    for (int c = 0; c < clients; ++c) handles.push_back(spawn(oneshot_roundtrip_client(tx, each)));
    { auto ours = std::move(tx); }
    std::uint64_t answered_sum = 0;
    for (auto& h : handles) answered_sum += co_await h;
    co_await manager;
    // The manager hands out 1..n exactly once each: their sum says every request was answered.
    const std::uint64_t n = each * static_cast<std::uint64_t>(clients);
    co_return answered_sum == n * (n + 1) / 2 ? n : 0;
}

}  // namespace weft::bench::workloads
