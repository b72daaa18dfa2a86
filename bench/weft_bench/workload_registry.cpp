#include "workload_registry.hpp"

#include <algorithm>
#include <cctype>

#include "workload_runs.hpp"

namespace weft::bench {

const std::vector<Workload>& all_workloads() {
    static const std::vector<Workload> workloads{
        {"W1", "mpsc_throughput", "P producer tasks send N u64 in total through one mpsc channel of capacity C",
         &run_mpsc_throughput, {}},
        {"W2", "oneshot_roundtrip", "M clients ask a manager task over an mpsc (capacity 32), answers by oneshot",
         &run_oneshot_roundtrip, {}},
        {"W3", "spawn_many", "one task spawns T trivial tasks and awaits every join handle", &run_spawn_many, {}},
        {"W4", "ping_pong", "two tasks bounce a token through two capacity-1 mpsc channels", &run_ping_pong, {}},
        {"W5", "yield_many", "2 x workers tasks each yield Y times", &run_yield_many, {}},
        {"W6", "redis_actor", "M clients, SET/GET through one manager task owning one redis connection",
         &run_redis_actor, {}},
    };
    return workloads;
}

const Workload* find_workload(std::string_view id_or_name) {
    const auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
                   return std::tolower(x) == std::tolower(y);
               });
    };
    for (const Workload& w : all_workloads())
        if (same(w.id, id_or_name) || same(w.name, id_or_name)) return &w;
    return nullptr;
}

}  // namespace weft::bench
