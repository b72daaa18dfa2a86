// W5 yield_many (BENCHMARKS.md): 2 x workers tasks each yield Y times.
#pragma once

#include <cstdint>
#include <vector>

#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

inline Task<std::uint64_t> yielder(std::uint64_t yields) {
    for (std::uint64_t i = 0; i < yields; ++i) co_await yield_now();
    co_return yields;
}

// Runs W5 once with `tasks` tasks (BENCHMARKS.md: 2 x workers); yields the total yield count.
inline Task<std::uint64_t> yield_many(std::uint64_t tasks, std::uint64_t yields) {
    std::vector<JoinHandle<std::uint64_t>> handles;
    handles.reserve(tasks);
    for (std::uint64_t i = 0; i < tasks; ++i) handles.push_back(spawn(yielder(yields)));
    std::uint64_t total = 0;
    for (auto& h : handles) total += co_await h;
    co_return total;
}

}  // namespace weft::bench::workloads
