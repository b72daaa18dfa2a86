// Channel workloads from BENCHMARKS.md (W1 mpsc_throughput, W2 oneshot_roundtrip, W4 ping_pong),
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

namespace {

using weft::JoinHandle;
using weft::Task;

constexpr std::uint64_t kW1Messages = 2'000'000;

weft::RuntimeOptions workers(int n) {
    weft::RuntimeOptions o;
    o.worker_threads = static_cast<std::size_t>(n);
    return o;
}

// ---- W1 ---------------------------------------------------------------------------------

Task<void> w1_producer(weft::mpsc::Sender<std::uint64_t> tx, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) (void)co_await tx.send(i);
}

Task<std::uint64_t> w1_run(std::size_t capacity, int producers, std::uint64_t total) {
    auto [tx, rx] = weft::mpsc::channel<std::uint64_t>(capacity);
    for (int p = 0; p < producers; ++p) weft::spawn(w1_producer(tx, total / producers)).detach();
    { auto ours = std::move(tx); }
    std::uint64_t received = 0;
    while (auto v = co_await rx.recv()) received += 1;
    co_return received;
}

void W1_mpsc_throughput(benchmark::State& state) {
    const int producers = static_cast<int>(state.range(0));
    const auto capacity = static_cast<std::size_t>(state.range(1));
    const int n_workers = static_cast<int>(state.range(2));
    weft::Runtime rt(workers(n_workers));
    rt.block_on(w1_run(capacity, producers, 100'000));  // warm-up
    for (auto _ : state) {
        const std::uint64_t got = rt.block_on(w1_run(capacity, producers, kW1Messages));
        if (got != kW1Messages - kW1Messages % producers) state.SkipWithError("messages lost");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kW1Messages));
}

// Baseline: the queue alone between threads, no bound, a spinning consumer.
void W1_baseline_moodycamel_threads(benchmark::State& state) {
    const int producers = static_cast<int>(state.range(0));
    for (auto _ : state) {
        moodycamel::ConcurrentQueue<std::uint64_t> queue;
        std::vector<std::thread> threads;
        for (int p = 0; p < producers; ++p)
            threads.emplace_back([&queue, producers] {
                moodycamel::ProducerToken token(queue);
                for (std::uint64_t i = 0; i < kW1Messages / producers; ++i) queue.enqueue(token, i);
            });
        std::uint64_t received = 0, v = 0;
        const std::uint64_t expected = kW1Messages - kW1Messages % producers;
        while (received < expected)
            if (queue.try_dequeue(v)) ++received;
        for (auto& t : threads) t.join();
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

class Request {
public:
    explicit Request(weft::oneshot::Sender<std::uint64_t> reply) : reply(std::move(reply)) {}
    weft::oneshot::Sender<std::uint64_t> reply;
};

Task<void> w2_manager(weft::mpsc::Receiver<Request> rx) {
    std::uint64_t counter = 0;
    while (auto r = co_await rx.recv()) (void)r->reply.send(++counter);
}

Task<void> w2_client(weft::mpsc::Sender<Request> tx, std::uint64_t requests) {
    for (std::uint64_t i = 0; i < requests; ++i) {
        auto [reply_tx, reply_rx] = weft::oneshot::channel<std::uint64_t>();
        Request request(std::move(reply_tx));
        (void)co_await tx.send(std::move(request));
        benchmark::DoNotOptimize(co_await reply_rx);
    }
}

Task<void> w2_run(int clients, std::uint64_t total) {
    auto [tx, rx] = weft::mpsc::channel<Request>(32);
    JoinHandle<void> manager = weft::spawn(w2_manager(std::move(rx)));
    std::vector<JoinHandle<void>> handles;
    for (int c = 0; c < clients; ++c) handles.push_back(weft::spawn(w2_client(tx, total / clients)));
    { auto ours = std::move(tx); }
    for (auto& h : handles) co_await h;
    co_await manager;
}

void W2_oneshot_roundtrip(benchmark::State& state) {
    const int clients = static_cast<int>(state.range(0));
    constexpr std::uint64_t kRequests = 1'000'000;
    weft::Runtime rt(workers(2));
    rt.block_on(w2_run(clients, 10'000));
    for (auto _ : state) rt.block_on(w2_run(clients, kRequests));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRequests));
}

// ---- W4 ------------------------------------------------------------------------------------

Task<void> w4_echo(weft::mpsc::Receiver<std::uint64_t> in, weft::mpsc::Sender<std::uint64_t> out) {
    while (auto v = co_await in.recv()) (void)co_await out.send(*v + 1);
}

Task<void> w4_run(std::uint64_t round_trips) {
    auto [a_tx, a_rx] = weft::mpsc::channel<std::uint64_t>(1);
    auto [b_tx, b_rx] = weft::mpsc::channel<std::uint64_t>(1);
    JoinHandle<void> echo = weft::spawn(w4_echo(std::move(a_rx), std::move(b_tx)));
    std::uint64_t token = 0;
    for (std::uint64_t i = 0; i < round_trips; ++i) {
        (void)co_await a_tx.send(token);
        token = *co_await b_rx.recv();
    }
    { auto done = std::move(a_tx); }
    co_await echo;
}

void W4_ping_pong(benchmark::State& state) {
    constexpr std::uint64_t kRoundTrips = 1'000'000;
    weft::Runtime rt(workers(static_cast<int>(state.range(0))));
    rt.block_on(w4_run(10'000));
    for (auto _ : state) rt.block_on(w4_run(kRoundTrips));
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
