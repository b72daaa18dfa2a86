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

// One client: `operations` alternating SET and GET, the GET reading the key it just set. Yields
// how many got the reply they must (OK for a SET, a 16-byte value for a GET).
inline Task<std::uint64_t> redis_manager_client(redis::Manager redis, std::uint64_t first, std::uint64_t operations) {
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

// Runs W6 once: `total` operations split evenly over `clients` (an even share each, so SETs and
// GETs pair up), through a new connection to 127.0.0.1:`port`. Yields the operations that got
// the reply they must: clients * (total / clients rounded down to even) when nothing went wrong.
inline Task<std::uint64_t> redis_actor(RedisVariant variant, std::uint16_t port, int clients, std::uint64_t total) {
    const std::uint64_t each = total / static_cast<std::uint64_t>(clients) / 2 * 2;
    redis::Client client = co_await redis::Client::connect("127.0.0.1", port);
    std::vector<JoinHandle<std::uint64_t>> handles;
    handles.reserve(static_cast<std::size_t>(clients));
    std::uint64_t ok = 0;
    if (variant == RedisVariant::mutex) {
        Mutex<redis::Client> guarded(std::move(client));
        for (int c = 0; c < clients; ++c)
            handles.push_back(spawn(redis_mutex_client(guarded, static_cast<std::uint64_t>(c) * each / 2, each)));
        for (auto& h : handles) ok += co_await h;
        co_return ok;
    }
    redis::ManagerOptions options;
    options.mode = variant == RedisVariant::sequential ? redis::ManagerOptions::Mode::sequential
                                                       : redis::ManagerOptions::Mode::pipelined;
    redis::SpawnedManager spawned = redis::spawn_manager(std::move(client), kRedisActorQueue, options);
    for (int c = 0; c < clients; ++c)
        handles.push_back(spawn(redis_manager_client(spawned.manager, static_cast<std::uint64_t>(c) * each / 2, each)));
    { auto ours = std::move(spawned.manager); }
    for (auto& h : handles) ok += co_await h;
    co_await spawned.task;
    co_return ok;
}

inline std::uint64_t redis_actor_expected(int clients, std::uint64_t total) {
    return static_cast<std::uint64_t>(clients) * (total / static_cast<std::uint64_t>(clients) / 2 * 2);
}

// `redis-benchmark -h 127.0.0.1 -p <port> -c 1 -P 64 -n <requests> -t set,get -q`, parsed:
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
inline RedisBenchmarkFigures run_redis_benchmark(std::uint16_t port, std::uint64_t requests, int pipeline = 64) {
    requests = std::max(requests, kRedisBenchmarkMinRequests);
    const std::string command = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) +
                                " -c 1 -P " + std::to_string(pipeline) + " -n " + std::to_string(requests) +
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
