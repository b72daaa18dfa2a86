// TaskTracker: wait() completes only once closed and empty (tasks finishing before and after the
// close), close/reopen, len, tokens, tasks that throw or are aborted still leave, wait() in select
// and timeout, copies sharing one tracker.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <weft/channels/notify.hpp>
#include <weft/channels/task_tracker.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Notify;
using weft::Task;
using weft::TaskTracker;
using weft::test::settle;

class TaskTrackerTest : public weft::test::AllRuntimes {};

Task<int> after(Notify& go, int v) {
    co_await go.notified();
    co_return v;
}

TEST(TaskTrackerBasics, CloseAndReopenFlipTheFlag) {
    TaskTracker tracker;
    EXPECT_FALSE(tracker.is_closed());
    EXPECT_TRUE(tracker.close());
    EXPECT_FALSE(tracker.close());
    EXPECT_TRUE(tracker.is_closed());
    EXPECT_TRUE(tracker.reopen());
    EXPECT_FALSE(tracker.reopen());
    EXPECT_FALSE(tracker.is_closed());
}

TEST(TaskTrackerBasics, TokensAndUnrunTasksAreCountedUntilDestroyed) {
    TaskTracker tracker;
    TaskTracker copy = tracker;
    {
        auto token = tracker.token();
        EXPECT_EQ(copy.len(), 1u);
        Task<int> tracked = tracker.track([]() -> Task<int> { co_return 1; }());
        EXPECT_EQ(copy.len(), 2u);
    }
    EXPECT_TRUE(copy.is_empty());
}

TEST_P(TaskTrackerTest, WaitCompletesOnlyWhenClosedAndEmptyWithTasksFinishingLate) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TaskTracker tracker;
        Notify go[3];
        std::vector<JoinHandle<int>> handles;
        for (int i = 0; i < 3; ++i) handles.push_back(tracker.spawn(after(go[i], i)));
        EXPECT_EQ(tracker.len(), 3u);
        tracker.close();
        auto early = co_await weft::timeout(2ms, tracker.wait());
        EXPECT_TRUE(early.timed_out());  // closed, but tasks run
        go[0].notify_one();
        go[1].notify_one();
        co_await handles[0];
        co_await handles[1];
        auto still = co_await weft::select(tracker.wait(), weft::sleep(2ms));
        EXPECT_EQ(still.index(), 1u);  // one is left
        JoinHandle<void> waiter = weft::spawn([](TaskTracker t) -> Task<void> { co_await t.wait(); }(tracker));
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());
        go[2].notify_one();
        auto done = co_await weft::timeout(5s, waiter);
        EXPECT_FALSE(done.timed_out());
        EXPECT_TRUE(tracker.is_empty());
        co_await handles[2];
    }());
}

TEST_P(TaskTrackerTest, TasksFinishingBeforeTheCloseLetWaitCompleteAtTheClose) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TaskTracker tracker;
        std::vector<JoinHandle<int>> handles;
        for (int i = 0; i < 5; ++i) handles.push_back(tracker.spawn([](int i) -> Task<int> { co_return i; }(i)));
        for (auto& h : handles) co_await h;
        EXPECT_TRUE(tracker.is_empty());
        auto open = co_await weft::timeout(2ms, tracker.wait());
        EXPECT_TRUE(open.timed_out());  // empty but open: not done
        JoinHandle<void> waiter = weft::spawn([](TaskTracker t) -> Task<void> { co_await t.wait(); }(tracker));
        co_await settle();
        EXPECT_FALSE(waiter.is_finished());
        tracker.close();  // wakes the waiter: closed and empty now
        auto done = co_await weft::timeout(5s, waiter);
        EXPECT_FALSE(done.timed_out());
    }());
}

TEST_P(TaskTrackerTest, ReopenedTrackerWaitsAgain) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TaskTracker tracker;
        tracker.close();
        co_await tracker.wait();  // closed and empty: at once
        tracker.reopen();
        auto r = co_await weft::timeout(2ms, tracker.wait());
        EXPECT_TRUE(r.timed_out());
    }());
}

TEST_P(TaskTrackerTest, ThrowingAndAbortedTasksLeaveTheTracker) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        TaskTracker tracker;
        JoinHandle<void> thrower = tracker.spawn([]() -> Task<void> {
            throw std::runtime_error("boom");
            co_return;
        }());
        JoinHandle<void> sleeper = tracker.spawn([]() -> Task<void> { co_await weft::sleep(1h); }());
        co_await settle();
        sleeper.abort();
        tracker.close();
        auto r = co_await weft::timeout(5s, tracker.wait());
        EXPECT_FALSE(r.timed_out());
        auto err = co_await weft::test::caught<std::runtime_error>([](JoinHandle<void>& h) -> Task<void> {
            co_await h;
        }(thrower));
        EXPECT_TRUE(err.has_value());
    }());
}

TEST_P(TaskTrackerTest, TheLastTaskEndingOnAnotherThreadWakesTheWaiter) {
    auto rt = make_runtime();
    for (int round = 0; round < weft::test::scaled(100, 5); ++round) {
        TaskTracker tracker;
        for (int i = 0; i < 8; ++i) rt->spawn(tracker.track([]() -> Task<void> { co_await weft::yield_now(); }())).detach();
        std::jthread closer([tracker]() mutable { tracker.close(); });
        rt->block_on([](TaskTracker tracker) -> Task<void> {
            auto r = co_await weft::timeout(5s, tracker.wait());
            EXPECT_FALSE(r.timed_out());
        }(tracker));
        EXPECT_TRUE(tracker.is_empty());
    }
}

WEFT_INSTANTIATE_ALL_RUNTIMES(TaskTrackerTest);

}  // namespace
