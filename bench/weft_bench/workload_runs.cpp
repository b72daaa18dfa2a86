#include "workload_runs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <weft/runtime/runtime.hpp>

#include "../workloads/moodycamel_baseline.hpp"
#include "../workloads/mpsc_throughput.hpp"
#include "../workloads/oneshot_roundtrip.hpp"
#include "../workloads/ping_pong.hpp"
#include "../workloads/redis_actor.hpp"
#include "../workloads/spawn_many.hpp"
#include "../workloads/yield_many.hpp"
#include "../../tests/support/redis_server.hpp"

namespace weft::bench {
namespace {

Runtime make_runtime(std::size_t workers) {
    RuntimeOptions options;
    options.worker_threads = workers;
    return Runtime(std::move(options));
}

// One warm-up of `run(size / 10)`, then `reps` timed runs of `run(size)`. `run` performs the
// workload once and returns how many operations it completed; anything but `expected` means the
// workload lost work.
template <class Run>
Summary measure(std::size_t reps, std::uint64_t size, std::uint64_t expected, Run run, const std::string& label) {
    std::cerr << "weft-bench: " << label << " ..." << std::flush;
    (void)run(std::max<std::uint64_t>(size / 10, 1));
    std::vector<double> rates;
    for (std::size_t r = 0; r < reps; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const std::uint64_t done = run(size);
        const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
        if (done != expected)
            throw std::runtime_error(label + ": completed " + std::to_string(done) + " operations, expected " +
                                     std::to_string(expected));
        rates.push_back(static_cast<double>(done) / seconds.count());
    }
    const Summary summary = summarize(std::move(rates));
    std::cerr << " " << static_cast<std::uint64_t>(summary.median) << " ops/s\n";
    return summary;
}

// `make(size)` makes the workload's task; the run is a block_on of it.
template <class Make>
auto on(Runtime& runtime, Make make) {
    return [&runtime, make](std::uint64_t size) { return runtime.block_on(make(size)); };
}

}  // namespace

std::string params_label(const std::vector<std::pair<std::string, std::uint64_t>>& params, std::size_t workers) {
    // A stream rather than string concatenation, which g++ 12 warns about falsely (-Wrestrict).
    std::ostringstream label;
    const char* separator = "";
    for (const auto& [name, value] : params) {
        label << separator << name << '=' << value;
        separator = ";";
    }
    if (workers != 2) label << separator << "workers=" << workers;
    return label.str();
}

std::vector<ResultRow> run_mpsc_throughput(const RunOptions& o) {
    Runtime runtime = make_runtime(o.workers);
    std::vector<ResultRow> rows;
    for (const std::size_t producers : o.producers) {
        const int p = static_cast<int>(producers);
        for (const std::size_t capacity : o.capacities) {
            const std::string params = params_label({{"P", producers}, {"C", capacity}}, o.workers);
            const auto run = on(runtime, [&](std::uint64_t n) { return workloads::mpsc_throughput(capacity, p, n); });
            rows.push_back({"W1_mpsc_throughput", params, "weft",
                            measure(o.reps, o.messages, workloads::mpsc_throughput_delivered(o.messages, p),
                                    run, "W1 " + params)});
        }
        if (o.baseline) {
            const std::string params = params_label({{"P", producers}}, 2);  // threads: no worker count
            rows.push_back({"W1_mpsc_throughput", params, "moodycamel_threads",
                            measure(o.reps, o.messages, workloads::mpsc_throughput_delivered(o.messages, p),
                                    [p](std::uint64_t n) { return workloads::moodycamel_threads(p, n); },
                                    "W1 reference moodycamel_threads " + params)});
        }
    }
    return rows;
}

std::vector<ResultRow> run_oneshot_roundtrip(const RunOptions& o) {
    Runtime runtime = make_runtime(o.workers);
    std::vector<ResultRow> rows;
    for (const std::size_t clients : o.clients) {
        const int m = static_cast<int>(clients);
        const std::string params = params_label({{"M", clients}}, o.workers);
        const auto run = on(runtime, [&](std::uint64_t n) { return workloads::oneshot_roundtrip(m, n); });
        rows.push_back({"W2_oneshot_roundtrip", params, "weft",
                        measure(o.reps, o.requests, o.requests - o.requests % clients, run, "W2 " + params)});
    }
    return rows;
}

std::vector<ResultRow> run_spawn_many(const RunOptions& o) {
    Runtime runtime = make_runtime(o.workers);
    const std::string params = params_label({{"T", o.tasks}}, o.workers);
    const auto run = on(runtime, [](std::uint64_t n) { return workloads::spawn_many(n); });
    return {{"W3_spawn_many", params, "weft", measure(o.reps, o.tasks, o.tasks, run, "W3 " + params)}};
}

std::vector<ResultRow> run_ping_pong(const RunOptions& o) {
    Runtime runtime = make_runtime(o.workers);
    const std::string params = params_label({{"N", o.round_trips}}, o.workers);
    const auto run = on(runtime, [](std::uint64_t n) { return workloads::ping_pong(n); });
    return {{"W4_ping_pong", params, "weft", measure(o.reps, o.round_trips, o.round_trips, run, "W4 " + params)}};
}

std::vector<ResultRow> run_yield_many(const RunOptions& o) {
    Runtime runtime = make_runtime(o.workers);
    const std::uint64_t tasks = 2 * o.workers;
    const std::string params = params_label({{"Y", o.yields}}, o.workers);
    // Operations: every yield of every task.
    const auto run = on(runtime, [tasks](std::uint64_t y) { return workloads::yield_many(tasks, y); });
    return {{"W5_yield_many", params, "weft", measure(o.reps, o.yields, tasks * o.yields, run, "W5 " + params)}};
}

std::vector<ResultRow> run_redis_actor(const RunOptions& o) {
    if (!test::RedisServer::is_installed())
        throw std::runtime_error("W6 needs redis-server (apt-get install redis-server, or set WEFT_REDIS_SERVER)");
    test::RedisServer server;  // a private one on a free port, stopped when we return
    std::cerr << "weft-bench: W6 against redis-server on 127.0.0.1:" << server.port() << "\n";
    Runtime runtime = make_runtime(o.workers);
    std::vector<ResultRow> rows;
    for (const std::string& name : o.variants) {
        const std::optional<workloads::RedisVariant> variant = workloads::parse_redis_variant(name);
        if (!variant) throw std::runtime_error("W6: unknown variant '" + name + "'");
        for (const std::size_t clients : o.clients) {
            const int m = static_cast<int>(clients);
            const std::string params = "variant=" + name + ";" + params_label({{"M", clients}}, o.workers);
            const auto run = on(runtime, [&](std::uint64_t n) {
                return workloads::redis_actor(*variant, server.port(), m, n);
            });
            rows.push_back({"W6_redis_actor", params, "weft",
                            measure(o.reps, o.operations, workloads::redis_actor_expected(m, o.operations), run,
                                    "W6 " + params)});
        }
    }
    if (o.baseline) {
        // The server's own limit on one connection with 64-deep pipelining, as redis-benchmark
        // reports it (its SET/GET mix), over the same number of requests of each kind.
        std::cerr << "weft-bench: W6 reference redis-benchmark -c 1 -P 64 ..." << std::flush;
        (void)workloads::run_redis_benchmark(server.port(), std::max<std::uint64_t>(o.operations / 10, 1));
        std::vector<double> rates;
        for (std::size_t r = 0; r < o.reps; ++r) rates.push_back(workloads::run_redis_benchmark(server.port(), o.operations).mixed());
        const Summary summary = summarize(std::move(rates));
        std::cerr << " " << static_cast<std::uint64_t>(summary.median) << " ops/s\n";
        rows.push_back({"W6_redis_actor", "P=64", "redis_benchmark_c1", summary});
    }
    return rows;
}

}  // namespace weft::bench
