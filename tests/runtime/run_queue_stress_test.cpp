// RunQueue under contention: one owner pushing and popping, stealers taking halves. Every item
// must come out exactly once, whichever path it takes (pop, steal, overflow to the injector).
// Runs under ThreadSanitizer in CI; the positions wrap the ring many times.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/runtime/detail/run_queue.hpp>

#include "support/runtimes.hpp"

namespace {

using weft::detail::RunQueue;
using weft::detail::TaskHeader;

// The queue only stores and moves pointers; fake ones encode the item number.
TaskHeader* as_task(std::uintptr_t item) { return reinterpret_cast<TaskHeader*>((item + 1) * 16); }
std::uintptr_t as_item(TaskHeader* t) { return reinterpret_cast<std::uintptr_t>(t) / 16 - 1; }

struct Tally {
    explicit Tally(std::size_t n) : seen(n) {}
    void take(TaskHeader* t) { seen[as_item(t)].fetch_add(1, std::memory_order_relaxed); }
    std::vector<std::atomic<std::uint8_t>> seen;
};

TEST(RunQueueStress, EveryItemIsTakenExactlyOnceWithConcurrentStealers) {
    const std::size_t items = weft::test::scaled(2'000'000, 10);
    constexpr int kStealers = 2;
    RunQueue owner_queue;
    std::vector<RunQueue> thief_queues(kStealers);
    Tally tally(items);
    std::mutex injector_mutex;
    std::vector<TaskHeader*> injector;  // what overflowed
    std::atomic<bool> done{false};
    std::atomic<std::size_t> steals{0};

    // Items pushed so far, counted just before each push: read just after a mark, it bounds the
    // items queued before that mark from above.
    std::atomic<std::size_t> pushed{0};
    std::atomic<std::size_t> taken_past_limit{0};

    std::vector<std::thread> stealers;
    for (int s = 0; s < kStealers; ++s)
        stealers.emplace_back([&, s] {
            RunQueue& mine = thief_queues[s];
            // The second stealer steals as a worker does: with the mark of its previous look, so
            // only what was queued before that look (and may be gone by now).
            const bool with_limit = s == 1;
            std::uint32_t limit = owner_queue.mark();
            std::size_t bound = pushed.load(std::memory_order_acquire);
            while (!done.load(std::memory_order_acquire)) {
                std::uint32_t n = 0;
                TaskHeader* t = with_limit ? owner_queue.steal_into(mine, n, limit) : owner_queue.steal_into(mine, n);
                if (t) {
                    steals.fetch_add(1, std::memory_order_relaxed);
                    const auto check = [&](TaskHeader* x) {
                        if (with_limit && as_item(x) >= bound) taken_past_limit.fetch_add(1, std::memory_order_relaxed);
                        tally.take(x);
                    };
                    check(t);
                    while (TaskHeader* more = mine.pop()) check(more);
                }
                if (with_limit) {
                    limit = owner_queue.mark();
                    bound = pushed.load(std::memory_order_acquire);
                }
            }
            while (TaskHeader* more = mine.pop()) tally.take(more);
        });

    TaskHeader* overflow[RunQueue::kCapacity / 2 + 1];
    for (std::size_t i = 0; i < items; ++i) {
        std::size_t count = 0;
        // Before the push: a stealer whose mark shows this item's position then reads a count
        // that includes it.
        pushed.store(i + 1, std::memory_order_release);
        if (!owner_queue.push_back(as_task(i), overflow, count)) {
            std::lock_guard lock(injector_mutex);
            injector.insert(injector.end(), overflow, overflow + count);
        }
        if (i % 3 == 0) {  // the owner consumes too, racing with the stealers
            if (TaskHeader* t = owner_queue.pop()) tally.take(t);
        }
    }
    while (TaskHeader* t = owner_queue.pop()) tally.take(t);
    done.store(true, std::memory_order_release);
    for (auto& t : stealers) t.join();
    for (TaskHeader* t : injector) tally.take(t);

    std::size_t once = 0, twice_or_more = 0;
    for (auto& s : tally.seen) {
        const auto n = s.load();
        once += n == 1;
        twice_or_more += n > 1;
    }
    EXPECT_EQ(twice_or_more, 0u);
    EXPECT_EQ(once, items);  // nothing lost
    EXPECT_EQ(taken_past_limit.load(), 0u);  // a limited steal took nothing queued after its mark
    EXPECT_TRUE(owner_queue.is_empty());
}

TEST(RunQueueStress, OverflowMovesHalfTheQueuePlusTheNewTask) {
    RunQueue q;
    TaskHeader* overflow[RunQueue::kCapacity / 2 + 1];
    std::size_t count = 0;
    for (std::uintptr_t i = 0; i < RunQueue::kCapacity; ++i) ASSERT_TRUE(q.push_back(as_task(i), overflow, count));
    ASSERT_FALSE(q.push_back(as_task(RunQueue::kCapacity), overflow, count));
    ASSERT_EQ(count, RunQueue::kCapacity / 2 + 1);
    for (std::size_t i = 0; i < RunQueue::kCapacity / 2; ++i) EXPECT_EQ(as_item(overflow[i]), i);  // oldest half
    EXPECT_EQ(as_item(overflow[count - 1]), RunQueue::kCapacity);
    EXPECT_EQ(q.len(), RunQueue::kCapacity / 2);
    // The rest pops in FIFO order.
    for (std::uintptr_t i = RunQueue::kCapacity / 2; i < RunQueue::kCapacity; ++i) EXPECT_EQ(as_item(q.pop()), i);
    EXPECT_EQ(q.pop(), nullptr);
}

TEST(RunQueueStress, StealTakesHalfRoundedUpAndRunsTheLastOne) {
    RunQueue victim, thief;
    TaskHeader* overflow[RunQueue::kCapacity / 2 + 1];
    std::size_t count = 0;
    const std::uintptr_t n = std::min<std::uintptr_t>(5, RunQueue::kCapacity);
    for (std::uintptr_t i = 0; i < n; ++i) ASSERT_TRUE(victim.push_back(as_task(i), overflow, count));
    std::uint32_t stolen = 0;
    TaskHeader* run_now = victim.steal_into(thief, stolen);
    ASSERT_NE(run_now, nullptr);
    EXPECT_EQ(stolen, n - n / 2);
    EXPECT_EQ(as_item(run_now), stolen - 1);  // the last of the stolen batch
    EXPECT_EQ(thief.len(), stolen - 1);
    EXPECT_EQ(victim.len(), n - stolen);
}

// A thief that marked the queue takes only tasks queued before its mark (the stealing rule in
// worker.cpp: only what has waited), half of the queue at most.
TEST(RunQueueStress, StealTakesNothingQueuedAtOrAfterTheLimit) {
    RunQueue victim, thief, second_thief;
    TaskHeader* overflow[RunQueue::kCapacity / 2 + 1];
    std::size_t count = 0;
    if (RunQueue::kCapacity < 8) GTEST_SKIP() << "needs a run queue of 8 or more";
    ASSERT_TRUE(victim.push_back(as_task(0), overflow, count));
    ASSERT_TRUE(victim.push_back(as_task(1), overflow, count));
    const std::uint32_t mark = victim.mark();
    for (std::uintptr_t i = 2; i < 5; ++i) ASSERT_TRUE(victim.push_back(as_task(i), overflow, count));
    EXPECT_TRUE(victim.holds_before(mark));

    std::uint32_t stolen = 0;
    TaskHeader* run_now = victim.steal_into(thief, stolen, mark);
    EXPECT_EQ(stolen, 2u);  // half of five rounds up to three, but only two waited
    EXPECT_EQ(as_item(run_now), 1u);
    EXPECT_EQ(as_item(thief.pop()), 0u);
    EXPECT_FALSE(victim.holds_before(mark));
    EXPECT_EQ(victim.steal_into(second_thief, stolen, mark), nullptr);
    EXPECT_EQ(stolen, 0u);
    for (std::uintptr_t i = 2; i < 5; ++i) EXPECT_EQ(as_item(victim.pop()), i);
    EXPECT_EQ(victim.pop(), nullptr);
}

}  // namespace
