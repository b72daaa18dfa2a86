// JoinSet: results in completion order, errors and aborts reported as JoinHandle reports them,
// try_join_next, abort_all, shutdown, destruction aborting the tasks (their frames destroyed),
// T = void, spawn_on, and join_next as a select / timeout branch.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <weft/channels/notify.hpp>
#include <weft/runtime/join_set.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinError;
using weft::JoinSet;
using weft::Notify;
using weft::Task;
using weft::test::settle;

class JoinSetTest : public weft::test::AllRuntimes {};

// Counts live frames: a destroyed frame runs this destructor.
struct FrameCounter {
    std::atomic<int>* live;
    explicit FrameCounter(std::atomic<int>& l) : live(&l) { live->fetch_add(1); }
    FrameCounter(const FrameCounter&) = delete;
    ~FrameCounter() { live->fetch_sub(1); }
};

Task<int> value_after(Notify& go, int value) {
    co_await go.notified();
    co_return value;
}

Task<int> forever(std::atomic<int>& live) {
    FrameCounter counted(live);
    co_await weft::sleep(1h);
    co_return 0;
}

// The next output, bounded in time: an empty optional if it did not come.
template <class T>
Task<std::optional<typename JoinSet<T>::Output>> next_bounded(JoinSet<T>& set) {
    auto r = co_await weft::timeout(5s, set.join_next());
    EXPECT_FALSE(r.timed_out());
    if (r.timed_out()) co_return std::nullopt;
    co_return std::move(*r);
}

TEST_P(JoinSetTest, JoinNextYieldsOutputsInCompletionOrder) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinSet<int> set;
        Notify go[3];
        for (int i = 0; i < 3; ++i) set.spawn(value_after(go[i], i));
        EXPECT_EQ(set.len(), 3u);
        co_await settle();
        EXPECT_FALSE(set.try_join_next().has_value());  // nobody finished yet
        for (int i : {2, 0, 1}) {
            go[i].notify_one();
            auto r = co_await next_bounded(set);
            CO_ASSERT_TRUE(r.has_value());
            EXPECT_EQ(*r, i);
        }
        EXPECT_TRUE(set.is_empty());
        auto empty = co_await set.join_next();
        EXPECT_FALSE(empty.has_value());
    }());
}

TEST_P(JoinSetTest, AllFinishedTasksAreJoinedWhateverTheirOrder) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinSet<int> set;
        for (int i = 0; i < 100; ++i) set.spawn([](int i) -> Task<int> {
            if (i % 3 == 0) co_await weft::yield_now();
            co_return i;
        }(i));
        long sum = 0;
        int count = 0;
        while (!set.is_empty()) {
            auto r = co_await next_bounded(set);
            CO_ASSERT_TRUE(r.has_value());
            sum += *r;
            ++count;
        }
        EXPECT_EQ(count, 100);
        EXPECT_EQ(sum, 99 * 100 / 2);
    }());
}

TEST_P(JoinSetTest, AnExceptionAndAnAbortComeBackAsJoinHandleReportsThem) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinSet<std::string> set;
        set.spawn([]() -> Task<std::string> {
            throw std::runtime_error("boom");
            co_return "";
        }());
        bool threw = false;
        try {
            auto r = co_await weft::timeout(5s, set.join_next());
            EXPECT_FALSE(r.timed_out());
        } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "boom";
        }
        EXPECT_TRUE(threw);
        EXPECT_TRUE(set.is_empty());  // the failed task left the set

        set.spawn([]() -> Task<std::string> {
            co_await weft::sleep(1h);
            co_return "never";
        }());
        set.spawn([]() -> Task<std::string> { co_return "done"; }());
        co_await settle();
        set.abort_all();
        int aborted = 0;
        std::vector<std::string> values;
        while (!set.is_empty()) {
            try {
                auto r = co_await next_bounded(set);
                if (r) values.push_back(*r);
            } catch (const JoinError&) {
                ++aborted;
            }
        }
        EXPECT_EQ(aborted, 1);
        EXPECT_EQ(values, std::vector<std::string>{"done"});
    }());
}

TEST_P(JoinSetTest, DestroyingTheSetAbortsItsTasksAndDestroysTheirFrames) {
    auto rt = make_runtime();
    auto live = std::make_shared<std::atomic<int>>(0);
    rt->block_on([](std::atomic<int>& live) -> Task<void> {
        {
            JoinSet<int> set;
            for (int i = 0; i < 5; ++i) set.spawn(forever(live));
            co_await settle();
            EXPECT_EQ(live.load(), 5);
        }
        // Aborted: each frame goes at its next poll. Bounded wait for it.
        for (int i = 0; i < 5000 && live.load() != 0; ++i) co_await weft::sleep(1ms);
        EXPECT_EQ(live.load(), 0);
    }(*live));
}

TEST_P(JoinSetTest, ShutdownAbortsEverythingAndWaitsUntilTheSetIsEmpty) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        std::atomic<int> live{0};
        JoinSet<int> set;
        for (int i = 0; i < 5; ++i) set.spawn(forever(live));
        set.spawn([]() -> Task<int> {
            throw std::logic_error("dropped by shutdown");
            co_return 0;
        }());
        co_await settle();
        auto r = co_await weft::timeout(5s, set.shutdown());
        EXPECT_FALSE(r.timed_out());
        EXPECT_TRUE(set.is_empty());
        EXPECT_EQ(live.load(), 0);  // every frame destroyed before shutdown returned
    }());
}

TEST_P(JoinSetTest, VoidTasksAndSpawnOn) {
    auto rt = make_runtime();
    std::atomic<int> ran{0};
    rt->block_on([](weft::Runtime& rt, std::atomic<int>& ran) -> Task<void> {
        JoinSet<void> set;
        for (int i = 0; i < 4; ++i) set.spawn_on(rt, [](std::atomic<int>& ran) -> Task<void> {
            ran.fetch_add(1);
            co_return;
        }(ran));
        int joined = 0;
        while (auto r = co_await weft::timeout(5s, set.join_next())) {
            if (!r->has_value()) break;
            EXPECT_TRUE((std::is_same_v<std::decay_t<decltype(**r)>, std::monostate>));
            ++joined;
        }
        EXPECT_EQ(joined, 4);
        EXPECT_EQ(ran.load(), 4);
    }(*rt, ran));
}

TEST_P(JoinSetTest, JoinNextIsASelectBranchAndLosingTakesNothing) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinSet<int> set;
        Notify go;
        set.spawn(value_after(go, 7));
        auto lost = co_await weft::select(set.join_next(), weft::sleep(2ms));
        EXPECT_EQ(lost.index(), 1u);
        EXPECT_EQ(set.len(), 1u);
        go.notify_one();
        auto won = co_await weft::select(set.join_next(), weft::sleep(10s));
        CO_ASSERT_TRUE(won.index() == 0u);
        CO_ASSERT_TRUE(std::get<0>(won).has_value());
        EXPECT_EQ(*std::get<0>(won), 7);
        EXPECT_TRUE(set.is_empty());
    }());
}

TEST_P(JoinSetTest, TryJoinNextTakesOnlyFinishedTasks) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinSet<int> set;
        set.spawn([]() -> Task<int> { co_return 5; }());
        for (int i = 0; i < 5000 && !set.try_join_next(); ++i) {
            if (set.is_empty()) break;
            co_await weft::sleep(1ms);
        }
        EXPECT_TRUE(set.is_empty());
        EXPECT_FALSE(set.try_join_next().has_value());
    }());
}

TEST_P(JoinSetTest, MovingTheSetKeepsItsTasks) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinSet<int> a;
        a.spawn([]() -> Task<int> { co_return 1; }());
        JoinSet<int> b = std::move(a);
        EXPECT_EQ(b.len(), 1u);
        auto r = co_await next_bounded(b);
        CO_ASSERT_TRUE(r.has_value());
        EXPECT_EQ(*r, 1);
    }());
}

TEST_P(JoinSetTest, ManyTasksCompletingOnOtherWorkersAreAllJoined) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        for (int round = 0; round < weft::test::scaled(50, 5); ++round) {
            JoinSet<int> set;
            for (int i = 0; i < 50; ++i) set.spawn([](int i) -> Task<int> {
                co_await weft::yield_now();
                co_return i;
            }(i));
            int count = 0;
            while (!set.is_empty()) {
                auto r = co_await next_bounded(set);
                CO_ASSERT_TRUE(r.has_value());
                ++count;
            }
            EXPECT_EQ(count, 50);
        }
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(JoinSetTest);

}  // namespace
