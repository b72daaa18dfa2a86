// W6 redis_actor (BENCHMARKS.md): M client tasks issue alternating SET and GET (keys
// `key:<i mod 1000>`, 16-byte values) through ONE connection to a real redis-server on loopback,
// in one of three ways:
//   mutex       an async weft::Mutex around the Client: one request at a time, each client
//               locking, sending, reading its reply, unlocking;
//   sequential  the manager actor in sequential mode: it writes one command, reads its reply;
//   pipelined   the manager actor as designed: it drains every queued command (recv_many),
//               writes them in one buffer, reads the replies in order.
// Plus the reference the plan names, measured in the same run: `redis-benchmark -c 1 -P 64` (the
// server's own limit on one pipelined connection). The synchronous hiredis loop, the other
// reference, lives in bench/redis_bench.cpp (the only place that links hiredis).
//
// The cluster W6 (issue 14): the same clients through a ClusterClient over several masters (one
// pipelining manager per master), against `redis-benchmark --cluster` on the same cluster.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/channels/mutex.hpp>
#include <weft/redis/client.hpp>
#include <weft/redis/cluster.hpp>
#include <weft/redis/manager.hpp>
#include <weft/runtime/runtime.hpp>

namespace weft::bench::workloads {

enum class RedisVariant { mutex, sequential, pipelined };

inline std::string_view redis_variant_name(RedisVariant v) {
    switch (v) {
        case RedisVariant::mutex: return "mutex";
        case RedisVariant::sequential: return "sequential";
        case RedisVariant::pipelined: return "pipelined";
    }
    return "?";
}

inline std::optional<RedisVariant> parse_redis_variant(std::string_view name) {
    for (RedisVariant v : {RedisVariant::mutex, RedisVariant::sequential, RedisVariant::pipelined})
        if (redis_variant_name(v) == name) return v;
    return std::nullopt;
}

inline constexpr std::size_t kRedisKeys = 1000;
inline constexpr std::size_t kRedisValueSize = 16;
// The manager's channel: room for every client of M = 64 to have its command queued.
inline constexpr std::size_t kRedisActorQueue = 128;

// The key of a client's n-th SET/GET pair: `key:<i mod 1000>`, i counting over all clients.
class RedisKey {
public:
    std::string_view operator()(std::uint64_t i) {
        const char* end = std::to_chars(buf_ + 4, buf_ + sizeof buf_, i % kRedisKeys).ptr;
        return {buf_, static_cast<std::size_t>(end - buf_)};
    }

private:
    char buf_[24] = {'k', 'e', 'y', ':'};
};

// One client: `operations` alternating SET and GET, the GET reading the key it just set, through
// `redis` (a Manager or a ClusterClient: the same calls). Yields how many got the reply they must
// (OK for a SET, a 16-byte value for a GET).
template <class Redis>
Task<std::uint64_t> redis_handle_client(Redis redis, std::uint64_t first, std::uint64_t operations) {
    const std::string value(kRedisValueSize, 'v');
    RedisKey key;
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < operations; ++i) {
        const std::string_view k = key(first + i / 2);
        if (i % 2 == 0) {
            co_await redis.set(k, value);
            ++ok;
        } else {
            const std::optional<std::string> got = co_await redis.get(k);
            if (got && got->size() == kRedisValueSize) ++ok;
        }
    }
    co_return ok;
}

inline Task<std::uint64_t> redis_mutex_client(Mutex<redis::Client>& client, std::uint64_t first, std::uint64_t operations) {
    const std::string value(kRedisValueSize, 'v');
    RedisKey key;
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < operations; ++i) {
        const std::string_view k = key(first + i / 2);
        auto guard = co_await client.lock();
        if (i % 2 == 0) {
            co_await guard->set(k, value);
            ++ok;
        } else {
            const std::optional<std::string> got = co_await guard->get(k);
            if (got && got->size() == kRedisValueSize) ++ok;
        }
    }
    co_return ok;
}

// Each client's share of `total` operations: an even number, so SETs and GETs pair up.
inline std::uint64_t redis_share(int clients, std::uint64_t total) {
    return total / static_cast<std::uint64_t>(clients) / 2 * 2;
}

// `clients` tasks of redis_handle_client sharing `redis`, each on keys of its own; yields the sum
// of their successes. Drops its handle before waiting, so a manager whose last handle it was ends.
template <class Redis>
Task<std::uint64_t> redis_handle_clients(Redis redis, int clients, std::uint64_t total) {
    const std::uint64_t each = redis_share(clients, total);
    std::vector<JoinHandle<std::uint64_t>> handles;
    handles.reserve(static_cast<std::size_t>(clients));
    for (int c = 0; c < clients; ++c)
        handles.push_back(spawn(redis_handle_client(redis, static_cast<std::uint64_t>(c) * each / 2, each)));
    { auto ours = std::move(redis); }
    std::uint64_t ok = 0;
    for (auto& h : handles) ok += co_await h;
    co_return ok;
}

// Runs W6 once: `total` operations split evenly over `clients` (redis_share each), through a new
// connection to 127.0.0.1:`port`. Yields the operations that got the reply they must:
// redis_actor_expected(clients, total) when nothing went wrong.
inline Task<std::uint64_t> redis_actor(RedisVariant variant, std::uint16_t port, int clients, std::uint64_t total) {
    redis::Client client = co_await redis::Client::connect("127.0.0.1", port);
    if (variant == RedisVariant::mutex) {
        const std::uint64_t each = redis_share(clients, total);
        Mutex<redis::Client> guarded(std::move(client));
        std::vector<JoinHandle<std::uint64_t>> handles;
        handles.reserve(static_cast<std::size_t>(clients));
        for (int c = 0; c < clients; ++c)
            handles.push_back(spawn(redis_mutex_client(guarded, static_cast<std::uint64_t>(c) * each / 2, each)));
        std::uint64_t ok = 0;
        for (auto& h : handles) ok += co_await h;
        co_return ok;
    }
    redis::ManagerOptions options;
    options.mode = variant == RedisVariant::sequential ? redis::ManagerOptions::Mode::sequential
                                                       : redis::ManagerOptions::Mode::pipelined;
    redis::SpawnedManager spawned = redis::spawn_manager(std::move(client), kRedisActorQueue, options);
    Task<std::uint64_t> running = redis_handle_clients(std::move(spawned.manager), clients, total);
    const std::uint64_t ok = co_await std::move(running);
    co_await spawned.task;
    co_return ok;
}

// The cluster W6 once: as redis_actor's pipelined variant, through a new ClusterClient on
// `seeds` (`host:port`), its keys spread over the masters by their slots.
inline Task<std::uint64_t> redis_cluster_actor(std::vector<std::string> seeds, int clients, std::uint64_t total) {
    Task<redis::ClusterClient> connecting = redis::ClusterClient::connect(std::move(seeds));
    redis::ClusterClient cluster = co_await std::move(connecting);
    Task<std::uint64_t> running = redis_handle_clients(std::move(cluster), clients, total);
    co_return co_await std::move(running);
}

inline std::uint64_t redis_actor_expected(int clients, std::uint64_t total) {
    return static_cast<std::uint64_t>(clients) * redis_share(clients, total);
}

// How redis-benchmark runs: its connections (-c), pipeline depth (-P), and --cluster (the port is
// then one master's; redis-benchmark reads the map and puts its connections on the masters in
// turn, each connection's keys hash-tagged to its master's slots: with -c 1, everything goes to
// ONE master). In cluster mode it also gets `--threads <clients>`: by default it starts a thread
// per master, and with fewer connections than masters (redis-benchmark 7.0.15) a run aborts
// with "All clients disconnected" whenever its first master is not the node it was pointed at.
struct RedisBenchmarkShape {
    int clients = 1;
    int pipeline = 64;
    bool cluster = false;
};

// `redis-benchmark -h 127.0.0.1 -p <port> [--cluster] -c 1 -P 64 -n <requests> -r 1000 -d 16 -t set,get -q`, parsed:
// requests per second for SET and GET, and for the plan's 50/50 mix of them (the harmonic mean:
// the rate at which the same connection would do half its requests of each kind).
struct RedisBenchmarkFigures {
    double set = 0;
    double get = 0;
    double mixed() const { return set > 0 && get > 0 ? 2.0 / (1.0 / set + 1.0 / get) : 0; }
};

// At least kRedisBenchmarkMinRequests requests are made: below that, redis-benchmark's own
// millisecond clock reports "inf". Throws std::runtime_error if redis-benchmark is missing or its
// output has no figures.
inline constexpr std::uint64_t kRedisBenchmarkMinRequests = 50'000;
inline RedisBenchmarkFigures run_redis_benchmark(std::uint16_t port, std::uint64_t requests, RedisBenchmarkShape shape = {}) {
    requests = std::max(requests, kRedisBenchmarkMinRequests);
    const std::string command = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) +
                                (shape.cluster ? " --cluster --threads " + std::to_string(shape.clients) : "") + " -c " + std::to_string(shape.clients) +
                                " -P " + std::to_string(shape.pipeline) + " -n " + std::to_string(requests) +
                                " -r 1000 -d " + std::to_string(kRedisValueSize) + " -t set,get -q 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run redis-benchmark");
    std::string output;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
    const int status = ::pclose(pipe);
    // Progress lines end in '\r'; the final ones read "SET: 123456.78 requests per second, ...".
    static const std::regex figure(R"((SET|GET): ([0-9]+(?:\.[0-9]+)?) requests per second)");
    RedisBenchmarkFigures figures;
    for (auto it = std::sregex_iterator(output.begin(), output.end(), figure); it != std::sregex_iterator(); ++it) {
        const double rate = std::stod((*it)[2].str());
        ((*it)[1].str() == "SET" ? figures.set : figures.get) = rate;
    }
    if (status != 0 || figures.set <= 0 || figures.get <= 0)
        throw std::runtime_error("redis-benchmark failed or printed no figures (is redis-tools installed?):\n" + output);
    return figures;
}

}  // namespace weft::bench::workloads
