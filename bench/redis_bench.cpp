// W6 redis_actor (BENCHMARKS.md) with Google Benchmark: M client tasks doing alternating SET and
// GET through one connection, in the three variants (mutex, sequential, pipelined) for M in
// {1, 64}, 200,000 operations each, on a runtime with 2 workers; against a redis-server this
// program starts on a free loopback port (and stops at exit).
//
// References measured in the same run, against the same server:
//   - redis-benchmark -c 1 -P 64 (SET and GET; their 50/50 mix is what W6 compares with);
//   - a synchronous hiredis loop (one request at a time on one connection), when built with
//     libhiredis-dev.
// Each figure is operations per second over 5 repetitions after a warm-up at a tenth of the
// size; the table printed at the end gives median [min - max] and the ratios to both references.
//
// Also Pub/Sub (issue 14): messages per second from one publisher (batches of 64 PUBLISH through
// the manager's pipeline) to one Subscriber, against `redis-benchmark -c 1 -P 64 PUBLISH` with
// a Subscriber draining the same channel (so the server fans out to one subscriber in both).
//
//   build/release/bench/redis_bench [--benchmark_filter=pipelined]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <weft/redis/batch.hpp>
#include <weft/redis/manager.hpp>
#include <weft/redis/subscriber.hpp>
#include <weft/runtime/runtime.hpp>

#include "../tests/support/redis_server.hpp"
#include "workloads/redis_actor.hpp"

#ifdef WEFT_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

namespace {

using weft::bench::workloads::RedisVariant;

constexpr std::uint64_t kOperations = 200'000;
constexpr int kRepetitions = 5;

std::unique_ptr<weft::test::RedisServer> server;
std::map<std::string, std::vector<double>> rates;  // ops/s per repetition, by benchmark name
std::set<std::string> warmed;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One timed run per repetition: `run(n)` does n operations and returns how many succeeded.
template <class Run>
void measure(benchmark::State& state, const std::string& name, std::uint64_t expected, Run run) {
    if (warmed.insert(name).second) (void)run(kOperations / 10);
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        const std::uint64_t done = run(kOperations);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        state.SetIterationTime(seconds);
        if (done != expected) {
            state.SkipWithError("lost work: fewer operations succeeded than were issued");
            return;
        }
        const double rate = static_cast<double>(done) / seconds;
        state.counters["ops_per_s"] = rate;
        rates[name].push_back(rate);
    }
}

void weft_w6(benchmark::State& state, RedisVariant variant, int clients, const std::string& name) {
    weft::RuntimeOptions options;
    options.worker_threads = 2;
    weft::Runtime runtime(std::move(options));
    const std::uint16_t port = server->port();
    measure(state, name, weft::bench::workloads::redis_actor_expected(clients, kOperations), [&](std::uint64_t n) {
        return runtime.block_on(weft::bench::workloads::redis_actor(variant, port, clients, n));
    });
}

void redis_benchmark_reference(benchmark::State& state, const std::string& name) {
    if (warmed.insert(name).second) (void)weft::bench::workloads::run_redis_benchmark(server->port(), kOperations / 10);
    for (auto _ : state) {
        const auto figures = weft::bench::workloads::run_redis_benchmark(server->port(), kOperations);
        // Its own figures, not the process's wall time (which includes starting it).
        state.SetIterationTime(static_cast<double>(kOperations) / figures.mixed());
        state.counters["ops_per_s"] = figures.mixed();
        state.counters["set_per_s"] = figures.set;
        state.counters["get_per_s"] = figures.get;
        rates[name].push_back(figures.mixed());
    }
}

// ---- Pub/Sub ----------------------------------------------------------------------------------

constexpr std::size_t kPublishBatch = 64;
const std::string kPubSubPayload(weft::bench::workloads::kRedisValueSize, 'p');

weft::redis::ConnectionInfo bench_server() {
    weft::redis::ConnectionInfo info;
    info.port = server->port();
    return info;
}

// One publisher task, pipelining PUBLISH 64 at a time; returns how many messages the Subscriber
// received (all of them, or the run lost some).
weft::Task<std::uint64_t> pubsub_run(std::string channel, std::uint64_t messages) {
    using namespace weft::redis;
    Subscriber sub = co_await Subscriber::connect(bench_server());
    const std::vector<std::string> channels{channel};
    co_await sub.subscribe(channels);
    weft::mpsc::Receiver<Message> rx = sub.take_messages();
    SpawnedManager spawned = co_await connect_manager(bench_server(), 128);
    const std::uint64_t rounds = messages / kPublishBatch;
    weft::JoinHandle<void> publisher = weft::spawn([](Manager redis, std::string channel, std::uint64_t rounds) -> weft::Task<void> {
        Batch batch;
        for (std::size_t i = 0; i < kPublishBatch; ++i) batch.add("PUBLISH", channel, kPubSubPayload);
        for (std::uint64_t r = 0; r < rounds; ++r) {
            const std::vector<Value> replies = co_await redis.pipeline(batch);
            (void)replies;
        }
    }(spawned.manager, channel, rounds));
    std::uint64_t received = 0;
    const std::uint64_t expected = rounds * kPublishBatch;
    std::vector<Message> chunk;
    while (received < expected) {
        const std::size_t n = co_await rx.recv_many(chunk, 256);
        if (n == 0) break;
        for (const Message& m : chunk) received += m.payload.size() == kPubSubPayload.size() ? 1 : 0;
        chunk.clear();
    }
    co_await publisher;
    co_return received;
}

void weft_pubsub(benchmark::State& state, const std::string& name) {
    weft::RuntimeOptions options;
    options.worker_threads = 2;
    weft::Runtime runtime(std::move(options));
    const std::uint64_t expected = kOperations / kPublishBatch * kPublishBatch;
    measure(state, name, expected, [&](std::uint64_t n) { return runtime.block_on(pubsub_run("bench-weft", n)); });
}

// A Subscriber drains "bench-ref" on its own runtime while redis-benchmark publishes to it.
void redis_benchmark_publish(benchmark::State& state, const std::string& name) {
    weft::RuntimeOptions options;
    options.worker_threads = 1;
    weft::Runtime runtime(std::move(options));
    auto draining = runtime.spawn([]() -> weft::Task<void> {
        using namespace weft::redis;
        Subscriber sub = co_await Subscriber::connect(bench_server());
        const std::vector<std::string> channels{"bench-ref"};
        co_await sub.subscribe(channels);
        weft::mpsc::Receiver<Message> rx = sub.take_messages();
        std::vector<Message> chunk;
        for (;;) {
            chunk.clear();
            const std::size_t n = co_await rx.recv_many(chunk, 256);
            if (n == 0) break;
        }
    }());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // subscribed before the first PUBLISH
    const std::string command = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(server->port()) + " -c 1 -P " +
                                std::to_string(kPublishBatch) + " -n " + std::to_string(kOperations) +
                                " -q PUBLISH bench-ref " + kPubSubPayload + " 2>&1";
    for (auto _ : state) {
        FILE* pipe = ::popen(command.c_str(), "r");
        std::string output;
        char buf[4096];
        for (std::size_t n; pipe && (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
        if (pipe) ::pclose(pipe);
        const std::size_t at = output.rfind(": ");
        const double rate = at == std::string::npos ? 0 : std::atof(output.c_str() + at + 2);
        if (rate <= 0) {
            state.SkipWithError(("redis-benchmark PUBLISH printed no figure: " + output).c_str());
            break;
        }
        state.SetIterationTime(static_cast<double>(kOperations) / rate);
        state.counters["ops_per_s"] = rate;
        rates[name].push_back(rate);
    }
    draining.abort();
}

#ifdef WEFT_HAVE_HIREDIS
// One request at a time on one blocking connection: the alternating SET/GET of W6.
std::uint64_t hiredis_loop(std::uint16_t port, std::uint64_t operations) {
    redisContext* c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        if (c) redisFree(c);
        return 0;
    }
    const std::string value(weft::bench::workloads::kRedisValueSize, 'v');
    weft::bench::workloads::RedisKey key;
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < operations; ++i) {
        const std::string_view k = key(i / 2);
        auto* reply = static_cast<redisReply*>(i % 2 == 0 ? redisCommand(c, "SET %b %b", k.data(), k.size(), value.data(), value.size())
                                                          : redisCommand(c, "GET %b", k.data(), k.size()));
        if (reply && (reply->type == REDIS_REPLY_STATUS || (reply->type == REDIS_REPLY_STRING && reply->len == 16))) ++ok;
        if (reply) freeReplyObject(reply);
    }
    redisFree(c);
    return ok;
}
#endif

void print_summary() {
    const auto find = [](const std::string& prefix) -> double {
        for (const auto& [name, v] : rates)
            if (name.rfind(prefix, 0) == 0 && !v.empty()) return median(v);
        return 0;
    };
    const double redis_benchmark = find("W6_reference/redis_benchmark");
    const double hiredis = find("W6_reference/hiredis");
    const double publish_reference = find("PubSub_reference/");
    std::printf("\nW6 redis_actor: operations per second, median [min - max] of %d; ratios to the references "
                "measured in this run\n",
                kRepetitions);
    std::printf("%-44s %12s %25s %12s %10s\n", "benchmark", "median", "[min - max]", "/redis-bench", "/hiredis");
    for (const auto& [name, v] : rates) {
        if (v.empty() || name.rfind("PubSub", 0) == 0) continue;
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        const double m = median(v);
        char range[64];
        std::snprintf(range, sizeof range, "[%.0f - %.0f]", *lo, *hi);
        std::printf("%-44s %12.0f %25s %12.3f %10.3f\n", name.c_str(), m, range,
                    redis_benchmark > 0 ? m / redis_benchmark : 0.0, hiredis > 0 ? m / hiredis : 0.0);
    }
    std::printf("\nPub/Sub: messages per second, median [min - max] of %d; ratio to redis-benchmark's PUBLISH rate\n",
                kRepetitions);
    for (const auto& [name, v] : rates) {
        if (v.empty() || name.rfind("PubSub", 0) != 0) continue;
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        const double m = median(v);
        char range[64];
        std::snprintf(range, sizeof range, "[%.0f - %.0f]", *lo, *hi);
        std::printf("%-44s %12.0f %25s %12.3f\n", name.c_str(), m, range, publish_reference > 0 ? m / publish_reference : 0.0);
    }
}

template <class F>
void add(const std::string& name, F body) {
    benchmark::RegisterBenchmark(name.c_str(), [name, body](benchmark::State& state) { body(state, name); })
        ->Iterations(1)
        ->Repetitions(kRepetitions)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
        ->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); })
        ->DisplayAggregatesOnly(true);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    if (!weft::test::RedisServer::is_installed()) {
        std::fprintf(stderr, "redis_bench: redis-server is not installed (apt-get install redis-server)\n");
        return 1;
    }
    server = std::make_unique<weft::test::RedisServer>();
    std::fprintf(stderr, "redis_bench: redis-server on 127.0.0.1:%u\n", server->port());

    add("W6_reference/redis_benchmark_c1_P64", redis_benchmark_reference);
#ifdef WEFT_HAVE_HIREDIS
    add("W6_reference/hiredis_sync", [](benchmark::State& state, const std::string& name) {
        const std::uint16_t port = server->port();
        measure(state, name, kOperations, [port](std::uint64_t n) { return hiredis_loop(port, n); });
    });
#else
    std::fprintf(stderr, "redis_bench: built without libhiredis-dev: no hiredis reference\n");
#endif
    for (RedisVariant variant : {RedisVariant::mutex, RedisVariant::sequential, RedisVariant::pipelined}) {
        for (int clients : {1, 64}) {
            const std::string name = "W6_redis_actor/" + std::string(weft::bench::workloads::redis_variant_name(variant)) +
                                     "/M:" + std::to_string(clients);
            add(name, [variant, clients](benchmark::State& state, const std::string& name) {
                weft_w6(state, variant, clients, name);
            });
        }
    }
    add("PubSub_reference/redis_benchmark_publish_c1_P64", redis_benchmark_publish);
    add("PubSub/weft_one_publisher_one_subscriber", weft_pubsub);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_summary();
    server.reset();
    return 0;
}
