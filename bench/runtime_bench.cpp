// Runtime workloads from BENCHMARKS.md: W3 spawn_many, W5 yield_many (their bodies in workloads/,
// shared with weft-bench), and a chain of spawns.
// Report: items_per_second, median of 5 repetitions, with min and max.
#include <benchmark/benchmark.h>

#include <vector>

#include <weft/runtime/runtime.hpp>

#include "bench_support.hpp"
#include "workloads/spawn_many.hpp"
#include "workloads/yield_many.hpp"

namespace {

namespace workloads = weft::bench::workloads;
using weft::Task;

weft::RuntimeOptions options_for(int workers) {
    weft::RuntimeOptions o;
    if (workers == 0) o.flavor = weft::Flavor::current_thread;
    else o.worker_threads = static_cast<std::size_t>(workers);
    return o;
}

void W3_spawn_many(benchmark::State& state) {
    const int workers = static_cast<int>(state.range(0));
    constexpr std::size_t kTasks = 1'000'000;
    weft::Runtime rt(options_for(workers));
    rt.block_on(workloads::spawn_many(10'000));  // warm-up
    for (auto _ : state) {
        if (rt.block_on(workloads::spawn_many(kTasks)) != kTasks) state.SkipWithError("tasks lost");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTasks));
}

void W5_yield_many(benchmark::State& state) {
    const int workers = static_cast<int>(state.range(0));
    constexpr std::size_t kYields = 100'000;
    const std::size_t tasks = 2 * static_cast<std::size_t>(workers == 0 ? 1 : workers);
    weft::Runtime rt(options_for(workers));
    rt.block_on(workloads::yield_many(tasks, 1000));
    for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(workloads::yield_many(tasks, kYields)));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tasks * kYields));
}

// A chain: each task spawns the next and awaits it; the last one returns.
Task<std::size_t> link(std::size_t remaining) {
    if (remaining == 0) co_return 0;
    co_return 1 + co_await weft::spawn(link(remaining - 1));
}

void chained_spawn(benchmark::State& state) {
    const int workers = static_cast<int>(state.range(0));
    constexpr std::size_t kLength = 100'000;
    weft::Runtime rt(options_for(workers));
    rt.block_on(link(1000));
    for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(link(kLength)));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kLength));
}

// workers: 0 = current_thread flavour.
BENCHMARK(W3_spawn_many)->ArgName("workers")->Arg(0)->Arg(1)->Arg(2)->Apply(weft::bench::configure);
BENCHMARK(W5_yield_many)->ArgName("workers")->Arg(0)->Arg(1)->Arg(2)->Apply(weft::bench::configure);
BENCHMARK(chained_spawn)->ArgName("workers")->Arg(0)->Arg(1)->Arg(2)->Apply(weft::bench::configure);

}  // namespace

BENCHMARK_MAIN();
