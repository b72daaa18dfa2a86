// Channel workloads from BENCHMARKS.md (W1 mpsc_throughput, W2 oneshot_roundtrip, W4 ping_pong;
// their bodies in workloads/, shared with weft-bench),
// with the W1 baselines measured in the same binary: moodycamel::ConcurrentQueue between plain
// threads (no bound, no suspension: the cost of the queue alone) and a mutex + condition variable
// bounded queue between threads. Report: items_per_second, median of 5 with min and max.
#include <benchmark/benchmark.h>

#include <concurrentqueue/concurrentqueue.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>

#include "bench_support.hpp"
#include "workloads/moodycamel_baseline.hpp"
#include "workloads/mpsc_throughput.hpp"
#include "workloads/oneshot_roundtrip.hpp"
#include "workloads/ping_pong.hpp"

namespace {

namespace workloads = weft::bench::workloads;

constexpr std::uint64_t kW1Messages = 2'000'000;

weft::RuntimeOptions workers(int n) {
    weft::RuntimeOptions o;
    o.worker_threads = static_cast<std::size_t>(n);
    return o;
}

// ---- W1 ---------------------------------------------------------------------------------

void W1_mpsc_throughput(benchmark::State& state) {
    const int producers = static_cast<int>(state.range(0));
    const auto capacity = static_cast<std::size_t>(state.range(1));
    const int n_workers = static_cast<int>(state.range(2));
    weft::Runtime rt(workers(n_workers));
    rt.block_on(workloads::mpsc_throughput(capacity, producers, 100'000));  // warm-up
    for (auto _ : state) {
        const std::uint64_t got = rt.block_on(workloads::mpsc_throughput(capacity, producers, kW1Messages));
        if (got != workloads::mpsc_throughput_delivered(kW1Messages, producers)) state.SkipWithError("messages lost");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kW1Messages));
}

// Baseline: the queue alone between threads, no bound, a spinning consumer.
void W1_baseline_moodycamel_threads(benchmark::State& state) {
    const int producers = static_cast<int>(state.range(0));
    for (auto _ : state) {
        if (workloads::moodycamel_threads(producers, kW1Messages) !=
            workloads::mpsc_throughput_delivered(kW1Messages, producers))
            state.SkipWithError("values lost");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kW1Messages));
}

// Baseline: what a home-grown bounded queue looks like: a mutex, two condition variables.
class MutexBoundedQueue {
public:
    explicit MutexBoundedQueue(std::size_t capacity) : capacity_(capacity) {}
    void push(std::uint64_t v) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [&] { return items_.size() < capacity_; });
        items_.push_back(v);
        not_empty_.notify_one();
    }
    std::uint64_t pop() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return !items_.empty(); });
        const std::uint64_t v = items_.front();
        items_.pop_front();
        not_full_.notify_one();
        return v;
    }

private:
    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable not_full_, not_empty_;
    std::deque<std::uint64_t> items_;
};

void W1_baseline_mutex_queue_threads(benchmark::State& state) {
    const int producers = static_cast<int>(state.range(0));
    const auto capacity = static_cast<std::size_t>(state.range(1));
    for (auto _ : state) {
        MutexBoundedQueue queue(capacity);
        std::vector<std::thread> threads;
        for (int p = 0; p < producers; ++p)
            threads.emplace_back([&queue, producers] {
                for (std::uint64_t i = 0; i < kW1Messages / producers; ++i) queue.push(i);
            });
        const std::uint64_t expected = kW1Messages - kW1Messages % producers;
        for (std::uint64_t i = 0; i < expected; ++i) benchmark::DoNotOptimize(queue.pop());
        for (auto& t : threads) t.join();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kW1Messages));
}

// ---- W2: the actor pattern without Redis -------------------------------------------------

void W2_oneshot_roundtrip(benchmark::State& state) {
    const int clients = static_cast<int>(state.range(0));
    constexpr std::uint64_t kRequests = 1'000'000;
    weft::Runtime rt(workers(2));
    rt.block_on(workloads::oneshot_roundtrip(clients, 10'000));
    for (auto _ : state) {
        if (rt.block_on(workloads::oneshot_roundtrip(clients, kRequests)) != kRequests - kRequests % clients)
            state.SkipWithError("requests unanswered");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRequests));
}

// ---- W4 ------------------------------------------------------------------------------------

void W4_ping_pong(benchmark::State& state) {
    constexpr std::uint64_t kRoundTrips = 1'000'000;
    weft::Runtime rt(workers(static_cast<int>(state.range(0))));
    rt.block_on(workloads::ping_pong(10'000));
    for (auto _ : state) {
        if (rt.block_on(workloads::ping_pong(kRoundTrips)) != kRoundTrips) state.SkipWithError("token lost");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

void w1_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"P", "C", "workers"});
    for (int p : {1, 4, 16})
        for (int c : {1, 16, 128, 1024}) b->Args({p, c, 2});
    b->Args({1, 128, 1});  // extra: one worker
}

BENCHMARK(W1_mpsc_throughput)->Apply(w1_args)->Apply(weft::bench::configure);
BENCHMARK(W1_baseline_moodycamel_threads)->ArgName("P")->Arg(1)->Arg(4)->Arg(16)->Apply(weft::bench::configure);
BENCHMARK(W1_baseline_mutex_queue_threads)
    ->ArgNames({"P", "C"})
    ->Args({1, 128})
    ->Args({16, 128})
    ->Apply(weft::bench::configure);
BENCHMARK(W2_oneshot_roundtrip)->ArgName("M")->Arg(1)->Arg(64)->Apply(weft::bench::configure);
BENCHMARK(W4_ping_pong)->ArgName("workers")->Arg(2)->Arg(1)->Apply(weft::bench::configure);

}  // namespace

BENCHMARK_MAIN();
