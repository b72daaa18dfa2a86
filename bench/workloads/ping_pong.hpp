// W4 ping_pong (BENCHMARKS.md): two tasks bounce a token through two capacity-1 mpsc channels.
#pragma once

#include <cstdint>
#include <utility>

#include <weft/channels/mpsc.hpp>
#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

inline Task<void> ping_pong_echo(mpsc::Receiver<std::uint64_t> in, mpsc::Sender<std::uint64_t> out) {
    while (auto v = co_await in.recv()) (void)co_await out.send(*v + 1);
}

// Runs W4 once; yields the token, which the echo task increments once per round trip.
inline Task<std::uint64_t> ping_pong(std::uint64_t round_trips) {
    auto [a_tx, a_rx] = mpsc::channel<std::uint64_t>(1);
    auto [b_tx, b_rx] = mpsc::channel<std::uint64_t>(1);
    JoinHandle<void> echo = spawn(ping_pong_echo(std::move(a_rx), std::move(b_tx)));
    std::uint64_t token = 0;
    for (std::uint64_t i = 0; i < round_trips; ++i) {
        (void)co_await a_tx.send(token);
        token = *co_await b_rx.recv();
    }
    { auto done = std::move(a_tx); }  // ends the echo task
    co_await echo;
    co_return token;
}

}  // namespace weft::bench::workloads
