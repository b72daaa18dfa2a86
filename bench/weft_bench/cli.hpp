// weft-bench's command line, parsed into plain option structs (with CLI11), so tests can check
// the parsing without running a workload:
//
//   weft-bench run W1 [--producers 1,4,16] [--capacity 1,16,128,1024] [--messages N] [--workers 2] [--reps 5]
//   weft-bench run W2 [--clients 1,64] [--requests N] ...      (W3 --tasks, W4 --round-trips, W5 --yields)
//   weft-bench capacities [--capacity LIST] [--producers LIST] [--messages N] [--out DIR] ...
//
// Defaults are BENCHMARKS.md's parameters, so a bare `weft-bench run W1` measures what other
// runtimes' figures are measured on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace weft::bench {

enum class Command {
    none,        // nothing to run: --help was printed, or the arguments were rejected
    run,         // one workload, CSV rows on stdout
    capacities,  // the channel-capacity comparison
};

// `weft-bench run <workload>`. Only the fields of the chosen workload are used.
struct RunOptions {
    std::string workload;  // canonical id: "W1".."W6"
    std::size_t workers = 2;
    std::size_t reps = 5;
    // W1 mpsc_throughput
    std::vector<std::size_t> producers{1, 4, 16};
    std::vector<std::size_t> capacities{1, 16, 128, 1024};
    std::uint64_t messages = 2'000'000;
    bool baseline = true;  // also measure the moodycamel-between-threads reference, per P
    // W2 oneshot_roundtrip and W6 redis_actor
    std::vector<std::size_t> clients{1, 64};
    std::uint64_t requests = 1'000'000;
    // W3 spawn_many
    std::uint64_t tasks = 1'000'000;
    // W4 ping_pong
    std::uint64_t round_trips = 1'000'000;
    // W5 yield_many
    std::uint64_t yields = 100'000;
    // W6 redis_actor
    std::uint64_t operations = 200'000;
    std::vector<std::string> variants{"mutex", "sequential", "pipelined"};
};

// `weft-bench capacities`: W1 for every (capacity, producers) pair, instrumented.
struct CapacitiesOptions {
    std::vector<std::size_t> capacities{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
    std::vector<std::size_t> producers{1, 4, 16};
    std::uint64_t messages = 2'000'000;  // W1's N
    std::size_t workers = 2;
    std::size_t reps = 5;
    // Every n-th message of each producer carries a send timestamp.
    std::uint64_t sample_every = 64;
    std::string out_dir = "build/capacities";
    bool plot = true;
};

// The outcome of parsing. When `command` is none, the program prints `out` (help) and `err` (the
// reason the arguments were rejected) and exits with `exit_code`: 0 for --help, 2 for bad
// arguments (unknown workload, capacity 0, an option the workload does not take, ...).
struct ParsedCommandLine {
    Command command = Command::none;
    RunOptions run;
    CapacitiesOptions capacities;
    int exit_code = 0;
    std::string out;
    std::string err;
};

inline constexpr int kUsageExitCode = 2;

// Parses argv (argv[0] is the program name). Never prints and never exits: the caller does.
ParsedCommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace weft::bench
