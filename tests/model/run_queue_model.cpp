// Model of runtime/detail/run_queue.hpp (the real header, capacity 4 as with -Dsmall_queues, its
// atomics replaced by Relacy's): the owner pushes past capacity (overflow to the injector) and
// pops while two other workers steal half into their own queues. Every task is taken exactly
// once, and whoever takes it sees what the owner wrote before pushing it.
#include "support/relacy_sync.hpp"

#include <weft/runtime/detail/run_queue.hpp>

namespace {

using weft::detail::RunQueue;
using weft::detail::TaskHeader;

constexpr const char* kHeader = "runtime/detail/run_queue.hpp";
constexpr int kTasks = 7;  // more than the capacity (4), so the owner overflows
static_assert(RunQueue::kCapacity == 4, "the model is sized for -Dsmall_queues");

struct PushPopSteal : rl::test_suite<PushPopSteal, 3> {
    // The queue only moves pointers: a "task" is an item whose payload the taker reads.
    struct Item {
        rl::var<int> payload;
    };
    Item items[kTasks];
    RunQueue queues[3];  // queues[0] is the owner's; 1 and 2 belong to the stealers
    int taken[kTasks] = {};

    TaskHeader* task(int i) { return reinterpret_cast<TaskHeader*>(&items[i]); }
    void take(TaskHeader* t) {
        const auto i = reinterpret_cast<Item*>(t) - items;
        RL_ASSERT(i >= 0 && i < kTasks);
        const int seen = items[i].payload($);  // a race here: the slot was read before it was published
        RL_ASSERT(seen == static_cast<int>(i) + 1);
        ++taken[i];
    }
    void drain(RunQueue& q) {
        while (TaskHeader* t = q.pop()) take(t);
    }

    void thread(unsigned index) {
        if (index == 0) {
            TaskHeader* overflow[RunQueue::kCapacity / 2 + 1];
            for (int i = 0; i < kTasks; ++i) {
                items[i].payload($) = i + 1;
                std::size_t n = 0;
                if (!queues[0].push_back(task(i), overflow, n))
                    for (std::size_t k = 0; k < n; ++k) take(overflow[k]);  // to the injector
                if (i == 3) {
                    if (TaskHeader* t = queues[0].pop()) take(t);
                }
            }
            drain(queues[0]);
        } else {
            std::uint32_t stolen = 0;
            // As a worker steals: with the mark of an earlier look, so pushes, pops and the other
            // stealer run between the mark and the steal.
            const std::uint32_t mark = queues[0].mark();
            if (TaskHeader* t = queues[0].steal_into(queues[index], stolen, mark)) take(t);
            drain(queues[index]);
            if (TaskHeader* t = queues[0].steal_into(queues[index], stolen)) take(t);
            drain(queues[index]);
        }
    }

    void after() {
        for (RunQueue& q : queues) drain(q);
        for (int i = 0; i < kTasks; ++i) RL_ASSERT(taken[i] == 1);  // nothing lost or duplicated
    }
};

TEST(RunQueueModel, PushPopStealAndOverflowTakeEachTaskOnce) {
    const auto o = weft::model::simulate<PushPopSteal>(weft::model::iterations(300000));
    EXPECT_TRUE(o.passed) << o.report;
}

// Seeded bug: push publishes the new tail without release. A stealer then reads a slot (and the
// task behind it) that was not published to it.
TEST(RunQueueModel, SeededBugRelaxedTailPublishIsCaught) {
    const unsigned line = weft::model::line_of(kHeader, "tail_.store(tail + 1, std::memory_order_release)");
    const auto [o, hits] = weft::model::simulate_with_fault<PushPopSteal>(
        weft::model::iterations(300000), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed tail publish";
}

}  // namespace
