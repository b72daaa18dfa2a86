// Runtime workloads from BENCHMARKS.md: W3 spawn_many, W5 yield_many, and a chain of spawns.
// Report: items_per_second, median of 5 repetitions, with min and max.
#include <benchmark/benchmark.h>

#include <vector>

#include <weft/runtime/runtime.hpp>

#include "bench_support.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;

weft::RuntimeOptions options_for(int workers) {
    weft::RuntimeOptions o;
    if (workers == 0) o.flavor = weft::Flavor::current_thread;
    else o.worker_threads = static_cast<std::size_t>(workers);
    return o;
}

Task<void> trivial() { co_return; }

// W3: one task spawns T trivial tasks, then awaits every handle.
Task<void> spawn_many(std::size_t t) {
    std::vector<JoinHandle<void>> handles;
    handles.reserve(t);
    for (std::size_t i = 0; i < t; ++i) handles.push_back(weft::spawn(trivial()));
    for (auto& h : handles) co_await h;
}

void W3_spawn_many(benchmark::State& state) {
    const int workers = static_cast<int>(state.range(0));
    constexpr std::size_t kTasks = 1'000'000;
    weft::Runtime rt(options_for(workers));
    rt.block_on(spawn_many(10'000));  // warm-up
    for (auto _ : state) rt.block_on(spawn_many(kTasks));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTasks));
}

// W5: 2 x workers tasks each yield Y times.
Task<void> yielder(std::size_t y) {
    for (std::size_t i = 0; i < y; ++i) co_await weft::yield_now();
}
Task<void> yield_many(std::size_t tasks, std::size_t y) {
    std::vector<JoinHandle<void>> handles;
    for (std::size_t i = 0; i < tasks; ++i) handles.push_back(weft::spawn(yielder(y)));
    for (auto& h : handles) co_await h;
}

void W5_yield_many(benchmark::State& state) {
    const int workers = static_cast<int>(state.range(0));
    constexpr std::size_t kYields = 100'000;
    const std::size_t tasks = 2 * static_cast<std::size_t>(workers == 0 ? 1 : workers);
    weft::Runtime rt(options_for(workers));
    rt.block_on(yield_many(tasks, 1000));
    for (auto _ : state) rt.block_on(yield_many(tasks, kYields));
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
