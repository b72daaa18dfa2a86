// Stress for Semaphore, Mutex, Notify, broadcast and watch (run under ThreadSanitizer in CI): many
// tasks on two workers, with aborts racing against grants, and counters that must end exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include <weft/channels/broadcast.hpp>
#include <weft/channels/mutex.hpp>
#include <weft/channels/notify.hpp>
#include <weft/channels/semaphore.hpp>
#include <weft/channels/watch.hpp>
#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;

Task<void> join_all(std::vector<JoinHandle<void>>& handles) {
    for (auto& h : handles) {
        try {
            co_await h;
        } catch (const weft::JoinError&) {
        }
    }
}

// ---- Semaphore ---------------------------------------------------------------------------------

struct PermitCheck {
    std::atomic<long> in_use{0};
    std::atomic<long> max_seen{0};
    std::atomic<long> acquired{0};
};

Task<void> permit_user(weft::Semaphore& sem, PermitCheck& check, int id, long rounds) {
    for (long i = 0; i < rounds; ++i) {
        const std::size_t n = 1 + static_cast<std::size_t>((id + i) % 3);
        // Not `cond ? sem.try_acquire(n) : co_await sem.acquire(n)`: g++ 12 destroys the operand of
        // a conditional whose other branch has a co_await even after moving it (see README).
        std::optional<weft::AcquireResult> r;
        if (i % 5 == 0) r.emplace(sem.try_acquire(n));
        else r.emplace(co_await sem.acquire(n));
        if (!*r) continue;  // try_acquire found none
        // Declared after `r`, so destroyed before it (also when the task is aborted while holding):
        // in_use drops before the permit goes back.
        struct Holding {
            PermitCheck& check;
            long n;
            ~Holding() { check.in_use.fetch_sub(n); }
        } holding{check, static_cast<long>(n)};
        const long now = check.in_use.fetch_add(holding.n) + holding.n;
        long seen = check.max_seen.load();
        while (now > seen && !check.max_seen.compare_exchange_weak(seen, now)) {
        }
        check.acquired.fetch_add(1);
        if (i % 2 == 0) co_await weft::yield_now();  // hold it across a suspension sometimes
    }
}

TEST(SemaphoreStress, ManyTasksOnTwoWorkersNeverExceedOrLosePermits) {
    constexpr std::size_t kPermits = 5;
    constexpr int kTasks = 48;
    const long rounds = weft::test::scaled(20'000, 40);
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    PermitCheck check;
    const std::size_t left = rt.block_on([](PermitCheck& check, long rounds) -> Task<std::size_t> {
        weft::Semaphore sem(kPermits);
        std::vector<JoinHandle<void>> tasks;
        for (int t = 0; t < kTasks; ++t) tasks.push_back(weft::spawn(permit_user(sem, check, t, rounds)));
        co_await join_all(tasks);
        co_return sem.available_permits();
    }(check, rounds));
    EXPECT_EQ(left, kPermits);
    EXPECT_LE(check.max_seen.load(), static_cast<long>(kPermits));
    EXPECT_EQ(check.in_use.load(), 0);
    EXPECT_GT(check.acquired.load(), 0);
}

// Tasks are aborted at random moments: while queued, just after being granted, while holding.
// Whatever the interleaving, every permit comes back and the line never wedges.
constexpr std::size_t kAbortPermits = 3;

TEST(SemaphoreStress, AbortsRacingWithGrantsLoseNoPermit) {
    const int rounds = static_cast<int>(weft::test::scaled(3'000, 10));
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    rt.block_on([](int rounds) -> Task<void> {
        for (int round = 0; round < rounds; ++round) {
            weft::Semaphore sem(kAbortPermits);
            PermitCheck check;
            std::vector<JoinHandle<void>> tasks;
            for (int t = 0; t < 12; ++t) tasks.push_back(weft::spawn(permit_user(sem, check, t, 20)));
            for (int i = 0; i < round % 4; ++i) co_await weft::yield_now();
            for (std::size_t t = round % 2; t < tasks.size(); t += 2) tasks[t].abort();
            co_await join_all(tasks);
            EXPECT_EQ(sem.available_permits(), kAbortPermits) << "round " << round;
            EXPECT_LE(check.max_seen.load(), static_cast<long>(kAbortPermits));
            // Not wedged: the whole count can be taken at once, on the fast path.
            EXPECT_TRUE(sem.try_acquire(kAbortPermits)) << "round " << round;
        }
    }(rounds));
}

TEST(SemaphoreStress, CloseRacingWithAcquiresWakesEveryWaiterAndKeepsTheCount) {
    const int rounds = static_cast<int>(weft::test::scaled(3'000, 10));
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    rt.block_on([](int rounds) -> Task<void> {
        for (int round = 0; round < rounds; ++round) {
            weft::Semaphore sem(2);
            std::vector<JoinHandle<void>> tasks;
            for (int t = 0; t < 10; ++t)
                tasks.push_back(weft::spawn([](weft::Semaphore& sem, int t) -> Task<void> {
                    for (;;) {
                        weft::AcquireResult r = co_await sem.acquire(1 + t % 2);
                        if (r.is_closed()) co_return;
                        co_await weft::yield_now();
                    }
                }(sem, t)));
            for (int i = 0; i < round % 5; ++i) co_await weft::yield_now();
            sem.close();
            co_await join_all(tasks);  // every loop ends: no waiter is left asleep
            EXPECT_EQ(sem.available_permits(), 2u) << "round " << round;
        }
    }(rounds));
}

// ---- Mutex -------------------------------------------------------------------------------------

TEST(MutexStress, APlainCounterEndsExactUnderContentionOnTwoWorkers) {
    constexpr int kTasks = 32;
    const long rounds = weft::test::scaled(20'000, 40);
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    const long total = rt.block_on([](long rounds) -> Task<long> {
        weft::Mutex<long> counter(0);
        std::vector<JoinHandle<void>> tasks;
        for (int t = 0; t < kTasks; ++t)
            tasks.push_back(weft::spawn([](weft::Mutex<long>& counter, long rounds, int t) -> Task<void> {
                for (long i = 0; i < rounds; ++i) {
                    if ((i + t) % 7 == 0) {
                        if (auto g = counter.try_lock()) {
                            ++**g;
                            continue;
                        }
                    }
                    auto g = co_await counter.lock();
                    const long v = *g;
                    if (i % 16 == 0) co_await weft::yield_now();
                    *g = v + 1;
                }
            }(counter, rounds, t)));
        co_await join_all(tasks);
        co_return *co_await counter.lock();
    }(rounds));
    EXPECT_EQ(total, kTasks * rounds);
}

TEST(MutexStress, AbortedLockersNeverWedgeTheMutex) {
    const int rounds = static_cast<int>(weft::test::scaled(3'000, 10));
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    rt.block_on([](int rounds) -> Task<void> {
        for (int round = 0; round < rounds; ++round) {
            weft::Mutex<long> m(0);
            std::vector<JoinHandle<void>> tasks;
            for (int t = 0; t < 10; ++t)
                tasks.push_back(weft::spawn([](weft::Mutex<long>& m) -> Task<void> {
                    for (int i = 0; i < 20; ++i) {
                        auto g = co_await m.lock();
                        ++*g;
                        co_await weft::yield_now();
                    }
                }(m)));
            for (int i = 0; i < round % 4; ++i) co_await weft::yield_now();
            for (std::size_t t = round % 2; t < tasks.size(); t += 2) tasks[t].abort();
            co_await join_all(tasks);
            EXPECT_FALSE(m.is_locked()) << "round " << round;
            EXPECT_TRUE(m.try_lock().has_value()) << "round " << round;
        }
    }(rounds));
}

// ---- Notify ------------------------------------------------------------------------------------

// A producer publishes items and notifies; the consumer sleeps whenever it has caught up. A lost
// notification would leave the consumer asleep with items pending (the test would hang).
TEST(NotifyStress, NoNotificationIsLostBetweenTwoWorkers) {
    const std::uint64_t items = static_cast<std::uint64_t>(weft::test::scaled(2'000'000, 40));
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    const std::uint64_t consumed = rt.block_on([](std::uint64_t items) -> Task<std::uint64_t> {
        weft::Notify notify;
        std::atomic<std::uint64_t> published{0};
        JoinHandle<std::uint64_t> consumer = weft::spawn(
            [](weft::Notify& notify, std::atomic<std::uint64_t>& published, std::uint64_t items) -> Task<std::uint64_t> {
                std::uint64_t seen = 0;
                while (seen < items) {
                    const std::uint64_t now = published.load(std::memory_order_acquire);
                    if (now > seen) {
                        seen = now;
                        continue;
                    }
                    co_await notify.notified();
                }
                co_return seen;
            }(notify, published, items));
        for (std::uint64_t i = 0; i < items; ++i) {
            published.fetch_add(1, std::memory_order_release);
            notify.notify_one();
            if (i % 64 == 0) co_await weft::yield_now();
        }
        co_return co_await consumer;
    }(items));
    EXPECT_EQ(consumed, items);
}

// Two tasks hand a token back and forth, each through its own Notify.
TEST(NotifyStress, PingPongThroughTwoNotifies) {
    const long rounds = weft::test::scaled(500'000, 40);
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    const long pongs = rt.block_on([](long rounds) -> Task<long> {
        weft::Notify ping, pong;
        JoinHandle<long> ponger = weft::spawn([](weft::Notify& ping, weft::Notify& pong, long rounds) -> Task<long> {
            long n = 0;
            for (long i = 0; i < rounds; ++i) {
                co_await ping.notified();
                ++n;
                pong.notify_one();
            }
            co_return n;
        }(ping, pong, rounds));
        for (long i = 0; i < rounds; ++i) {
            ping.notify_one();
            co_await pong.notified();
        }
        co_return co_await ponger;
    }(rounds));
    EXPECT_EQ(pongs, rounds);
}

// ---- broadcast ---------------------------------------------------------------------------------

struct Stamp {
    std::uint32_t sender;
    std::uint64_t seq;
    weft::test::Tracked tracked;  // counts live copies: every one must be destroyed
};

struct Tally {
    std::uint64_t received = 0;
    std::uint64_t lagged = 0;
    bool in_order = true;
};

// Every value sent after a receiver subscribed is either received by it or counted in a lag report:
// received + lagged == sent, exactly, for every receiver, however the senders and receivers race.
constexpr std::uint32_t kSenders = 3;
constexpr int kReceivers = 6;

TEST(BroadcastStress, ReceivedPlusLaggedEqualsSentForEveryReceiver) {
    const std::uint64_t each = static_cast<std::uint64_t>(weft::test::scaled(300'000, 30));
    const long live_before = weft::test::Tracked::live.load();
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    const std::vector<Tally> tallies = rt.block_on([](std::uint64_t each) -> Task<std::vector<Tally>> {
        auto [tx, rx] = weft::broadcast::channel<Stamp>(8);
        std::vector<JoinHandle<Tally>> receivers;
        for (int k = 0; k < kReceivers; ++k)
            receivers.push_back(weft::spawn([](weft::broadcast::Receiver<Stamp> rx, int k) -> Task<Tally> {
                Tally t;
                std::vector<std::uint64_t> next(kSenders, 0);
                for (std::uint64_t i = 0;; ++i) {
                    auto r = co_await rx.recv();
                    if (r.is_closed()) break;
                    if (r.is_lagged()) {
                        t.lagged += r.lagged_by();
                        continue;
                    }
                    if (r->seq < next[r->sender]) t.in_order = false;
                    next[r->sender] = r->seq + 1;
                    ++t.received;
                    if (k % 2 == 1 && i % 3 == 0) co_await weft::yield_now();  // slow ones lag
                }
                co_return t;
            }(k == 0 ? std::move(rx) : tx.subscribe(), k)));
        std::vector<JoinHandle<void>> senders;
        for (std::uint32_t s = 0; s < kSenders; ++s)
            senders.push_back(weft::spawn([](weft::broadcast::Sender<Stamp> tx, std::uint32_t s, std::uint64_t each) -> Task<void> {
                for (std::uint64_t i = 0; i < each; ++i) {
                    Stamp stamp{s, i, {}};
                    EXPECT_TRUE(tx.send(stamp));
                    if (i % 32 == 0) co_await weft::yield_now();
                }
            }(tx, s, each)));
        { auto ours = std::move(tx); }
        co_await join_all(senders);
        std::vector<Tally> tallies;
        for (auto& r : receivers) tallies.push_back(co_await r);
        co_return tallies;
    }(each));
    for (const Tally& t : tallies) {
        EXPECT_TRUE(t.in_order);
        EXPECT_EQ(t.received + t.lagged, kSenders * each);
    }
    EXPECT_EQ(weft::test::Tracked::live.load(), live_before);
}

constexpr std::uint64_t kLastOfRound = 11;

// Receivers come and go (subscribe, abort, drop) while values flow: nothing leaks, nothing is
// destroyed twice, and the channel still delivers afterwards.
TEST(BroadcastStress, ReceiversComingAndGoingLeakNothing) {
    const int rounds = static_cast<int>(weft::test::scaled(3'000, 10));
    const long live_before = weft::test::Tracked::live.load();
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    rt.block_on([](int rounds) -> Task<void> {
        auto [tx, rx] = weft::broadcast::channel<Stamp>(4);
        for (int round = 0; round < rounds; ++round) {
            std::vector<JoinHandle<void>> receivers;
            for (int k = 0; k < 4; ++k)
                receivers.push_back(weft::spawn([](weft::broadcast::Receiver<Stamp> rx) -> Task<void> {
                    // Until the round's last value: it stays kept until the next round, so even a
                    // receiver that lagged gets to it.
                    for (;;) {
                        auto r = co_await rx.recv();
                        if (r.is_closed() || (r && r->seq == kLastOfRound)) co_return;
                    }
                }(tx.subscribe())));
            for (std::uint64_t i = 0; i <= kLastOfRound; ++i) {
                Stamp stamp{0, i, {}};
                EXPECT_TRUE(tx.send(stamp));
                if (i == static_cast<std::uint64_t>(round) % kLastOfRound) receivers[round % 4].abort();
                if (i % 3 == 0) co_await weft::yield_now();
            }
            co_await join_all(receivers);
            EXPECT_EQ(tx.receiver_count(), 1u) << "round " << round;
            while (rx.try_recv().has_value() || rx.len() > 0) {
            }
        }
    }(rounds));
    EXPECT_EQ(weft::test::Tracked::live.load(), live_before);
}

// ---- watch -------------------------------------------------------------------------------------

// Receivers see values only move forward, and every one ends having seen the last.
constexpr int kWatchers = 16;

TEST(WatchStress, ReceiversSeeVersionsInOrderAndEndOnTheLast) {
    const long updates = weft::test::scaled(1'000'000, 20);
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 2});
    const std::vector<long> last = rt.block_on([](long updates) -> Task<std::vector<long>> {
        auto [tx, rx] = weft::watch::channel<long>(0);
        std::vector<JoinHandle<long>> receivers;
        for (int k = 0; k < kWatchers; ++k)
            receivers.push_back(weft::spawn([](weft::watch::Receiver<long> rx) -> Task<long> {
                long seen = 0;
                while (auto changed = co_await rx.changed()) {  // a declaration: see README, Pitfalls
                    const long v = *rx.borrow_and_update();
                    if (v <= seen) co_return -1;  // went backwards, or one version fired twice
                    seen = v;
                }
                if (rx.has_changed()) seen = *rx.borrow_and_update();
                co_return seen;
            }(rx)));
        for (long i = 1; i <= updates; ++i) {
            if (i % 2) (void)tx.send(i);
            else tx.send_modify([i](long& v) { v = i; });
            if (i % 64 == 0) co_await weft::yield_now();
        }
        { auto gone = std::move(tx); }
        std::vector<long> last;
        for (auto& r : receivers) last.push_back(co_await r);
        co_return last;
    }(updates));
    EXPECT_EQ(last, std::vector<long>(kWatchers, updates));
}

}  // namespace
