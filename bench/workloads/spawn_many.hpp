// W3 spawn_many (BENCHMARKS.md): one task spawns T trivial tasks and awaits every join handle.
#pragma once

#include <cstdint>
#include <vector>

#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

inline Task<void> trivial_task() { co_return; }

// Runs W3 once; yields the number of tasks joined.
inline Task<std::uint64_t> spawn_many(std::uint64_t tasks) {
    std::vector<JoinHandle<void>> handles;
    handles.reserve(tasks);
    for (std::uint64_t i = 0; i < tasks; ++i) handles.push_back(spawn(trivial_task()));
    std::uint64_t joined = 0;
    for (auto& h : handles) {
        co_await h;
        ++joined;
    }
    co_return joined;
}

}  // namespace weft::bench::workloads
