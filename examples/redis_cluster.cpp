// The seed example's cluster variant: many tasks SET and GET their own keys through one
// weft::redis::ClusterClient, which sends each command to the master that owns its key's slot
// (one pipelining manager per master), then print how the keys spread over the masters.
//
//   build/release/examples/redis_cluster [host:port ...]   # any nodes of a cluster (default 127.0.0.1:7000)
//
// A local cluster to try it on (three masters, as tests/support/redis_cluster.hpp starts them):
//   for p in 7000 7001 7002; do redis-server --port $p --cluster-enabled yes
//       --cluster-config-file /tmp/nodes-$p.conf --save '' --appendonly no --daemonize yes; done
//   (one line)
//   redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --cluster-yes
//
// Exit code 0 when every task read back what it wrote, 1 otherwise.
#include <weft/redis/cluster.hpp>
#include <weft/redis/cluster_slot.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/runtime.hpp>

#include <atomic>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr int kTasks = 64;
constexpr int kKeysPerTask = 16;

std::atomic<int> mismatches{0};

// One task: SET then GET its keys, each to whichever master owns it.
weft::Task<void> worker(weft::redis::ClusterClient redis, int id) {
    for (int i = 0; i < kKeysPerTask; ++i) {
        const std::string key = "example:" + std::to_string(id) + ":" + std::to_string(i);
        const std::string value = "value-" + std::to_string(id * kKeysPerTask + i);
        co_await redis.set(key, value);
        const std::optional<std::string> got = co_await redis.get(key);
        if (got != value) mismatches.fetch_add(1);
    }
}

weft::Task<int> run(std::vector<std::string> seeds) {
    weft::Task<weft::redis::ClusterClient> connecting = weft::redis::ClusterClient::connect(seeds);
    weft::redis::ClusterClient redis = co_await connecting;
    std::printf("masters:");
    for (const std::string& m : redis.masters()) std::printf(" %s", m.c_str());
    std::printf("\n");

    std::vector<weft::JoinHandle<void>> tasks;
    for (int id = 0; id < kTasks; ++id) tasks.push_back(weft::spawn(worker(redis, id)));  // a copy per task
    for (auto& t : tasks) co_await t;

    std::map<std::string, int> per_master;
    for (int id = 0; id < kTasks; ++id) {
        for (int i = 0; i < kKeysPerTask; ++i) {
            const std::string key = "example:" + std::to_string(id) + ":" + std::to_string(i);
            ++per_master[redis.master_of(weft::redis::key_slot(key))];
        }
    }
    for (const auto& [master, keys] : per_master) std::printf("%s holds %d keys\n", master.c_str(), keys);
    std::printf("%d keys written and read back, %d mismatches\n", kTasks * kKeysPerTask, mismatches.load());
    co_return mismatches.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> seeds;
    for (int i = 1; i < argc; ++i) seeds.emplace_back(argv[i]);
    if (seeds.empty()) seeds.emplace_back("127.0.0.1:7000");
    weft::Runtime runtime;
    try {
        return runtime.block_on(run(seeds));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
