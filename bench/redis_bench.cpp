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
// The cluster W6 (issue 14): 64 tasks of W6's pipelined clients through one ClusterClient (a
// pipelining manager per master) over a local cluster of 3 masters this program starts (only when
// a cluster benchmark is selected), against, on the same cluster in the same run,
//   - redis-benchmark --cluster -c 1 -P 64 (one connection, to one master: see
//     RedisBenchmarkShape), and
//   - redis-benchmark --cluster -c 3 -P 64 (a connection per master, as the ClusterClient has).
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

#include "../tests/support/redis_cluster.hpp"
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

// redis-benchmark's SET/GET mix on `port` shaped as `shape`, W6's key space and value size.
void redis_benchmark_reference(benchmark::State& state, const std::string& name, std::uint16_t port,
                               weft::bench::workloads::RedisBenchmarkShape shape) {
    if (warmed.insert(name).second) (void)weft::bench::workloads::run_redis_benchmark(port, kOperations / 10, shape);
    for (auto _ : state) {
        const auto figures = weft::bench::workloads::run_redis_benchmark(port, kOperations, shape);
        // Its own figures, not the process's wall time (which includes starting it).
        state.SetIterationTime(static_cast<double>(kOperations) / figures.mixed());
        state.counters["ops_per_s"] = figures.mixed();
        state.counters["set_per_s"] = figures.set;
        state.counters["get_per_s"] = figures.get;
        rates[name].push_back(figures.mixed());
    }
}

// ---- Cluster W6 -------------------------------------------------------------------------------

constexpr int kClusterMasters = 3;
constexpr int kClusterClients = 64;

std::unique_ptr<weft::test::RedisCluster> cluster;

// Started by the first cluster benchmark (not at all under a filter that selects none).
weft::test::RedisCluster& bench_cluster() {
    if (!cluster) {
        cluster = std::make_unique<weft::test::RedisCluster>(std::vector<std::string>{}, kClusterMasters);
        std::fprintf(stderr, "redis_bench: a cluster of %d masters, first at %s\n", kClusterMasters,
                     cluster->seeds().front().c_str());
    }
    return *cluster;
}

void weft_cluster_w6(benchmark::State& state, const std::string& name) {
    const std::vector<std::string> seeds = bench_cluster().seeds();
    weft::RuntimeOptions options;
    options.worker_threads = 2;
    weft::Runtime runtime(std::move(options));
    measure(state, name, weft::bench::workloads::redis_actor_expected(kClusterClients, kOperations), [&](std::uint64_t n) {
        return runtime.block_on(weft::bench::workloads::redis_cluster_actor(seeds, kClusterClients, n));
    });
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

double median_of(const std::string& prefix) {
    for (const auto& [name, v] : rates)
        if (name.rfind(prefix, 0) == 0 && !v.empty()) return median(v);
    return 0;
}

// The rows whose names start with `prefix`: median [min - max], and the ratio to each reference.
void print_table(const char* title, const std::string& prefix,
                 const std::vector<std::pair<std::string, double>>& references) {
    bool any = false;
    for (const auto& [name, v] : rates) any = any || (!v.empty() && name.rfind(prefix, 0) == 0);
    if (!any) return;
    std::printf("\n%s: median [min - max] of %d; ratios to the references measured in this run\n", title, kRepetitions);
    std::printf("%-52s %12s %25s", "benchmark", "median", "[min - max]");
    for (const auto& [label, _] : references) std::printf(" %14s", label.c_str());
    std::printf("\n");
    for (const auto& [name, v] : rates) {
        if (v.empty() || name.rfind(prefix, 0) != 0) continue;
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        const double m = median(v);
        char range[64];
        std::snprintf(range, sizeof range, "[%.0f - %.0f]", *lo, *hi);
        std::printf("%-52s %12.0f %25s", name.c_str(), m, range);
        for (const auto& [_, reference] : references) std::printf(" %14.3f", reference > 0 ? m / reference : 0.0);
        std::printf("\n");
    }
}

void print_summary() {
    print_table("W6 redis_actor, operations per second", "W6_",
                {{"/redis-bench", median_of("W6_reference/redis_benchmark")}, {"/hiredis", median_of("W6_reference/hiredis")}});
    print_table("Cluster W6 (3 masters), operations per second", "ClusterW6",
                {{"/rb-cluster-c1", median_of("ClusterW6_reference/redis_benchmark_cluster_c1")},
                 {"/rb-cluster-c3", median_of("ClusterW6_reference/redis_benchmark_cluster_c3")}});
    print_table("Pub/Sub, messages per second", "PubSub",
                {{"/rb-publish", median_of("PubSub_reference/")}});
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

    add("W6_reference/redis_benchmark_c1_P64", [](benchmark::State& state, const std::string& name) {
        redis_benchmark_reference(state, name, server->port(), {});
    });
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
    for (int clients : {1, kClusterMasters}) {
        add("ClusterW6_reference/redis_benchmark_cluster_c" + std::to_string(clients) + "_P64",
            [clients](benchmark::State& state, const std::string& name) {
                redis_benchmark_reference(state, name, bench_cluster().node(0).port(), {clients, 64, true});
            });
    }
    add("ClusterW6_redis_actor/pipelined/M:" + std::to_string(kClusterClients), weft_cluster_w6);
    add("PubSub_reference/redis_benchmark_publish_c1_P64", redis_benchmark_publish);
    add("PubSub/weft_one_publisher_one_subscriber", weft_pubsub);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    print_summary();
    cluster.reset();
    server.reset();
    return 0;
}
