// How `weft-bench run` measures each workload: a runtime with --workers workers, one warm-up run
// at a tenth of the size, then --reps timed runs of the full size; each row reports operations
// per second (median, min, max). A run that loses work (fewer messages, tasks or answers than it
// should) throws std::runtime_error instead of reporting a figure.
#pragma once

#include <vector>

#include "cli.hpp"
#include "workload_registry.hpp"

namespace weft::bench {

// W1: one row per (P, C), and per P a reference row (moodycamel queue between threads) unless
// options.baseline is off.
std::vector<ResultRow> run_mpsc_throughput(const RunOptions& options);
std::vector<ResultRow> run_oneshot_roundtrip(const RunOptions& options);  // W2, one row per M
std::vector<ResultRow> run_spawn_many(const RunOptions& options);         // W3
std::vector<ResultRow> run_ping_pong(const RunOptions& options);          // W4
std::vector<ResultRow> run_yield_many(const RunOptions& options);         // W5
// W6: one row per (variant, M) against a redis-server it starts on a free loopback port, and a
// reference row (redis-benchmark -c 1 -P 64, its SET/GET mix) unless options.baseline is off.
std::vector<ResultRow> run_redis_actor(const RunOptions& options);

// The params column: `P=1;C=128`, with `;workers=N` appended when N is not BENCHMARKS.md's 2, so
// figures measured on another worker count never line up with the standard ones by mistake.
std::string params_label(const std::vector<std::pair<std::string, std::uint64_t>>& params, std::size_t workers);

}  // namespace weft::bench
