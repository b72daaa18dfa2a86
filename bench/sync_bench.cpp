// Sync primitives and fan-out channels, each next to a baseline measured in the same binary:
//  - broadcast fan-out to 1, 4 and 16 receivers, against the obvious alternative: one mpsc channel
//    per receiver, the sender sending every value into each;
//  - watch update rate with 16 receivers waiting in changed(), against the same updates with 16
//    receivers subscribed but not waiting (the sender's cost without the wake-ups);
//  - weft::Mutex lock/unlock, uncontended and contended, against std::mutex (in tasks, and between
//    plain threads).
// All on a runtime with 2 workers. Report: items_per_second, median of 5 with min and max.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/channels/broadcast.hpp>
#include <weft/channels/mpsc.hpp>
#include <weft/channels/mutex.hpp>
#include <weft/channels/watch.hpp>
#include <weft/runtime/runtime.hpp>

#include "bench_support.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;

weft::RuntimeOptions two_workers() {
    weft::RuntimeOptions o;
    o.worker_threads = 2;
    return o;
}

// Each receiver's progress on its own cache line (the sender reads them all).
struct alignas(64) Progress {
    std::atomic<std::uint64_t> count{0};
};

// ---- broadcast fan-out ------------------------------------------------------------------------

constexpr std::uint64_t kFanoutValues = 1'000'000;
constexpr std::size_t kFanoutCapacity = 1024;

// One sender, R receivers; every receiver must get every value (broadcast has no backpressure, so
// the sender keeps within the capacity of the slowest receiver, checking every 64 values).
// Returns the values delivered in total (R * n when nothing was lost).
Task<std::uint64_t> broadcast_fanout(int receivers, std::uint64_t n) {
    auto [tx, rx] = weft::broadcast::channel<std::uint64_t>(kFanoutCapacity);
    std::vector<Progress> progress(static_cast<std::size_t>(receivers));
    std::vector<JoinHandle<std::uint64_t>> handles;
    for (int k = 0; k < receivers; ++k)
        handles.push_back(weft::spawn([](weft::broadcast::Receiver<std::uint64_t> rx, Progress& p) -> Task<std::uint64_t> {
            std::uint64_t got = 0;
            for (;;) {
                auto r = co_await rx.recv();
                if (!r) break;  // closed (a lag would also end it, and show as values lost)
                p.count.store(++got, std::memory_order_release);
            }
            co_return got;
        }(k == 0 ? std::move(rx) : tx.subscribe(), progress[static_cast<std::size_t>(k)])));
    for (std::uint64_t i = 0; i < n; ++i) {
        if (i % 64 == 0) {
            for (;;) {
                std::uint64_t slowest = ~std::uint64_t{0};
                for (auto& p : progress) slowest = std::min(slowest, p.count.load(std::memory_order_acquire));
                if (i - slowest + 64 <= kFanoutCapacity) break;
                co_await weft::yield_now();
            }
        }
        (void)tx.send(i);
    }
    { auto done = std::move(tx); }
    std::uint64_t delivered = 0;
    for (auto& h : handles) delivered += co_await h;
    co_return delivered;
}

// Baseline: the same fan-out through one bounded mpsc channel per receiver (capacity as above):
// the sender sends each value R times and waits when a receiver's channel is full.
Task<std::uint64_t> mpsc_fanout(int receivers, std::uint64_t n) {
    std::vector<weft::mpsc::Sender<std::uint64_t>> senders;
    std::vector<JoinHandle<std::uint64_t>> handles;
    for (int k = 0; k < receivers; ++k) {
        auto [tx, rx] = weft::mpsc::channel<std::uint64_t>(kFanoutCapacity);
        senders.push_back(std::move(tx));
        handles.push_back(weft::spawn([](weft::mpsc::Receiver<std::uint64_t> rx) -> Task<std::uint64_t> {
            std::uint64_t got = 0;
            while (auto v = co_await rx.recv()) ++got;  // a declaration: see README, Pitfalls
            co_return got;
        }(std::move(rx))));
    }
    for (std::uint64_t i = 0; i < n; ++i)
        for (auto& tx : senders) (void)co_await tx.send(i);
    senders.clear();
    std::uint64_t delivered = 0;
    for (auto& h : handles) delivered += co_await h;
    co_return delivered;
}

template <Task<std::uint64_t> (*Fanout)(int, std::uint64_t)>
void fanout_bench(benchmark::State& state) {
    const int receivers = static_cast<int>(state.range(0));
    weft::Runtime rt(two_workers());
    rt.block_on(Fanout(receivers, 10'000));  // warm-up
    for (auto _ : state) {
        const std::uint64_t delivered = rt.block_on(Fanout(receivers, kFanoutValues));
        if (delivered != kFanoutValues * static_cast<std::uint64_t>(receivers)) state.SkipWithError("values lost");
    }
    // items: deliveries (values x receivers); values/s is items/s divided by R.
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kFanoutValues * receivers));
}

void Broadcast_fanout(benchmark::State& state) { fanout_bench<broadcast_fanout>(state); }
void Broadcast_baseline_mpsc_per_receiver(benchmark::State& state) { fanout_bench<mpsc_fanout>(state); }

// ---- watch update rate ------------------------------------------------------------------------

constexpr std::uint64_t kWatchUpdates = 1'000'000;
constexpr int kWatchReceivers = 16;

// The sender publishes n updates (yielding every 64, so receivers on its worker get a turn); the
// receivers wait in changed() and read the latest each time. Returns the changes the receivers
// observed in total (fewer than 16 * n: a receiver sees only the latest of several updates).
Task<std::uint64_t> watch_updates(std::uint64_t n, bool receivers_wait) {
    auto [tx, rx] = weft::watch::channel<std::uint64_t>(0);
    std::vector<JoinHandle<std::uint64_t>> handles;
    std::vector<weft::watch::Receiver<std::uint64_t>> idle;
    for (int k = 0; k < kWatchReceivers; ++k) {
        if (!receivers_wait) {
            idle.push_back(rx);
            continue;
        }
        handles.push_back(weft::spawn([](weft::watch::Receiver<std::uint64_t> rx) -> Task<std::uint64_t> {
            std::uint64_t changes = 0;
            while (auto changed = co_await rx.changed()) {
                benchmark::DoNotOptimize(*rx.borrow_and_update());
                ++changes;
            }
            co_return changes;
        }(rx)));
    }
    { auto ours = std::move(rx); }
    for (std::uint64_t i = 1; i <= n; ++i) {
        (void)tx.send(i);
        if (i % 64 == 0) co_await weft::yield_now();
    }
    { auto done = std::move(tx); }
    std::uint64_t changes = 0;
    for (auto& h : handles) changes += co_await h;
    co_return changes;
}

void watch_bench(benchmark::State& state, bool receivers_wait) {
    weft::Runtime rt(two_workers());
    rt.block_on(watch_updates(10'000, receivers_wait));  // warm-up
    std::uint64_t changes = 0;
    for (auto _ : state) changes += rt.block_on(watch_updates(kWatchUpdates, receivers_wait));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kWatchUpdates));
    state.counters["changes_seen_per_receiver"] =
        static_cast<double>(changes) / static_cast<double>(state.iterations() * kWatchReceivers);
}

void Watch_updates_16_receivers(benchmark::State& state) { watch_bench(state, true); }
void Watch_baseline_16_idle_receivers(benchmark::State& state) { watch_bench(state, false); }

// ---- Mutex ------------------------------------------------------------------------------------

constexpr std::uint64_t kUncontendedOps = 10'000'000;
constexpr std::uint64_t kContendedOps = 2'000'000;  // in total, across the tasks or threads

Task<std::uint64_t> weft_mutex_uncontended(std::uint64_t n) {
    weft::Mutex<std::uint64_t> m(0);
    for (std::uint64_t i = 0; i < n; ++i) {
        auto g = co_await m.lock();
        ++*g;
    }
    co_return *co_await m.lock();
}

Task<std::uint64_t> std_mutex_uncontended_in_task(std::uint64_t n) {
    std::mutex m;
    std::uint64_t value = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::lock_guard g(m);
        benchmark::DoNotOptimize(++value);
    }
    co_return value;
}

void Mutex_uncontended_weft(benchmark::State& state) {
    weft::Runtime rt(two_workers());
    rt.block_on(weft_mutex_uncontended(10'000));
    for (auto _ : state)
        if (rt.block_on(weft_mutex_uncontended(kUncontendedOps)) != kUncontendedOps) state.SkipWithError("miscount");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kUncontendedOps));
}

void Mutex_uncontended_baseline_std(benchmark::State& state) {
    weft::Runtime rt(two_workers());
    rt.block_on(std_mutex_uncontended_in_task(10'000));
    for (auto _ : state)
        if (rt.block_on(std_mutex_uncontended_in_task(kUncontendedOps)) != kUncontendedOps)
            state.SkipWithError("miscount");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kUncontendedOps));
}

// T tasks on 2 workers each lock, increment and unlock n / T times; the critical section does not
// suspend, so std::mutex is usable here too (the fair comparison: same tasks, same workers).
Task<std::uint64_t> weft_mutex_contended(int tasks, std::uint64_t n) {
    weft::Mutex<std::uint64_t> m(0);
    std::vector<JoinHandle<void>> handles;
    for (int t = 0; t < tasks; ++t)
        handles.push_back(weft::spawn([](weft::Mutex<std::uint64_t>& m, std::uint64_t n) -> Task<void> {
            for (std::uint64_t i = 0; i < n; ++i) {
                auto g = co_await m.lock();
                ++*g;
            }
        }(m, n / static_cast<std::uint64_t>(tasks))));
    for (auto& h : handles) co_await h;
    co_return *co_await m.lock();
}

Task<std::uint64_t> std_mutex_contended_in_tasks(int tasks, std::uint64_t n) {
    std::mutex m;
    std::uint64_t value = 0;
    std::vector<JoinHandle<void>> handles;
    for (int t = 0; t < tasks; ++t)
        handles.push_back(weft::spawn([](std::mutex& m, std::uint64_t& value, std::uint64_t n) -> Task<void> {
            for (std::uint64_t i = 0; i < n; ++i) {
                std::lock_guard g(m);
                ++value;
            }
            co_return;
        }(m, value, n / static_cast<std::uint64_t>(tasks))));
    for (auto& h : handles) co_await h;
    co_return value;
}

template <Task<std::uint64_t> (*Body)(int, std::uint64_t)>
void contended_bench(benchmark::State& state) {
    const int tasks = static_cast<int>(state.range(0));
    const std::uint64_t expected = kContendedOps - kContendedOps % static_cast<std::uint64_t>(tasks);
    weft::Runtime rt(two_workers());
    rt.block_on(Body(tasks, 10'000));
    for (auto _ : state)
        if (rt.block_on(Body(tasks, kContendedOps)) != expected) state.SkipWithError("miscount");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * expected));
}

void Mutex_contended_weft(benchmark::State& state) { contended_bench<weft_mutex_contended>(state); }
void Mutex_contended_baseline_std_in_tasks(benchmark::State& state) {
    contended_bench<std_mutex_contended_in_tasks>(state);
}

// Baseline: std::mutex between 2 plain threads (no runtime at all).
void Mutex_contended_baseline_std_threads(benchmark::State& state) {
    constexpr int kThreads = 2;
    for (auto _ : state) {
        std::mutex m;
        std::uint64_t value = 0;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&] {
                for (std::uint64_t i = 0; i < kContendedOps / kThreads; ++i) {
                    std::lock_guard g(m);
                    ++value;
                }
            });
        for (auto& t : threads) t.join();
        if (value != kContendedOps) state.SkipWithError("miscount");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kContendedOps));
}

}  // namespace

BENCHMARK(Broadcast_fanout)->ArgName("receivers")->Arg(1)->Arg(4)->Arg(16)->Apply(weft::bench::configure);
BENCHMARK(Broadcast_baseline_mpsc_per_receiver)->ArgName("receivers")->Arg(1)->Arg(4)->Arg(16)->Apply(weft::bench::configure);
BENCHMARK(Watch_updates_16_receivers)->Apply(weft::bench::configure);
BENCHMARK(Watch_baseline_16_idle_receivers)->Apply(weft::bench::configure);
BENCHMARK(Mutex_uncontended_weft)->Apply(weft::bench::configure);
BENCHMARK(Mutex_uncontended_baseline_std)->Apply(weft::bench::configure);
BENCHMARK(Mutex_contended_weft)->ArgName("tasks")->Arg(2)->Arg(8)->Apply(weft::bench::configure);
BENCHMARK(Mutex_contended_baseline_std_in_tasks)->ArgName("tasks")->Arg(2)->Arg(8)->Apply(weft::bench::configure);
BENCHMARK(Mutex_contended_baseline_std_threads)->Apply(weft::bench::configure);

BENCHMARK_MAIN();
