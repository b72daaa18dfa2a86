// Runtime controls: shutdown_timeout / shutdown_background, thread hooks and names, consume_budget,
// unconstrained (runtime/coop.hpp) and block_in_place (runtime/block_in_place.hpp).
#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <weft/runtime/block_in_place.hpp>
#include <weft/runtime/coop.hpp>
#include <weft/runtime/detail/coop.hpp>
#include <weft/runtime/handle.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Flavor;
using weft::JoinHandle;
using weft::Task;

class RuntimeControlsTest : public weft::test::AllRuntimes {};
class SingleThreadControlsTest : public weft::test::AllRuntimes {};

// Waits for `done` at most 30 s: a broken feature fails the test instead of hanging it.
template <class Pred>
bool eventually(Pred done) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

struct BlockingCallLatch {
    std::atomic<bool> started{false}, finished{false};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
};

// Starts a blocking call that waits for the latch, inside block_on (a current_thread runtime runs
// the spawn_blocking task only there), and returns once the call is running.
JoinHandle<void> start_blocking_call(weft::Runtime& rt, std::shared_ptr<BlockingCallLatch> latch) {
    return rt.block_on([](std::shared_ptr<BlockingCallLatch> latch) -> Task<JoinHandle<void>> {
        auto call = [latch] {
            latch->started.store(true);
            (void)latch->released.wait_for(30s);
            latch->finished.store(true);
        };
        JoinHandle<void> handle = weft::spawn_blocking(std::move(call));
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (!latch->started.load() && std::chrono::steady_clock::now() < give_up) co_await weft::sleep(1ms);
        co_return handle;
    }(std::move(latch)));
}

struct HookCounts {
    std::atomic<int> started{0}, stopped{0};
};

weft::RuntimeOptions counting(const std::shared_ptr<HookCounts>& counts) {
    weft::RuntimeOptions options;
    options.on_thread_start = [counts] { counts->started.fetch_add(1); };
    options.on_thread_stop = [counts] { counts->stopped.fetch_add(1); };
    return options;
}

void shut_down_while_a_blocking_call_sleeps(std::unique_ptr<weft::Runtime> rt, bool background,
                                            const std::shared_ptr<HookCounts>& counts) {
    auto latch = std::make_shared<BlockingCallLatch>();
    JoinHandle<void> call = start_blocking_call(*rt, latch);
    ASSERT_TRUE(latch->started.load());
    if (background) rt->shutdown_background();
    else rt->shutdown_timeout(1ms);
    EXPECT_TRUE(rt->is_shut_down());
    EXPECT_FALSE(latch->finished.load());  // returned before the blocking call finished
    rt.reset();                            // the thread left behind keeps what it needs
    EXPECT_THROW(call.blocking_join(), weft::JoinError);
    latch->release.set_value();
    EXPECT_TRUE(eventually([&] { return latch->finished.load(); }));
    // The left-behind thread ran its stop hook on the way out.
    EXPECT_TRUE(eventually([&] { return counts->stopped.load() == counts->started.load(); }));
}

TEST_P(RuntimeControlsTest, ShutdownTimeoutReturnsWhileABlockingCallStillRuns) {
    auto counts = std::make_shared<HookCounts>();
    shut_down_while_a_blocking_call_sleeps(make_runtime(counting(counts)), false, counts);
}

TEST_P(RuntimeControlsTest, ShutdownBackgroundReturnsWhileABlockingCallStillRuns) {
    auto counts = std::make_shared<HookCounts>();
    shut_down_while_a_blocking_call_sleeps(make_runtime(counting(counts)), true, counts);
}

TEST_P(RuntimeControlsTest, ShutdownTimeoutWaitsForACallThatFinishesInTime) {
    auto rt = make_runtime();
    auto latch = std::make_shared<BlockingCallLatch>();
    JoinHandle<void> call = start_blocking_call(*rt, latch);
    ASSERT_TRUE(latch->started.load());
    latch->release.set_value();
    rt->shutdown_timeout(60s);
    EXPECT_TRUE(latch->finished.load());
    rt->shutdown();  // idempotent
}

TEST_P(RuntimeControlsTest, ThreadHooksRunOnEveryWorkerAndBlockingThread) {
    auto counts = std::make_shared<HookCounts>();
    auto rt = make_runtime(counting(counts));
    const int workers = GetParam().flavor == Flavor::current_thread ? 0 : static_cast<int>(GetParam().workers);
    const int value = rt->block_on([]() -> Task<int> { co_return co_await weft::spawn_blocking([] { return 5; }); }());
    EXPECT_EQ(value, 5);
    rt.reset();
    EXPECT_EQ(counts->started.load(), workers + 1);  // + the one blocking thread
    EXPECT_EQ(counts->stopped.load(), workers + 1);
}

std::string this_thread_name() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

TEST_P(RuntimeControlsTest, ThreadNameIsSetAndCutToFifteenCharacters) {
    weft::RuntimeOptions options;
    options.thread_name = "weft-test-pool-long-name";
    auto rt = make_runtime(options);
    const std::string blocking = rt->block_on([]() -> Task<std::string> {
        co_return co_await weft::spawn_blocking([] { return this_thread_name(); });
    }());
    EXPECT_EQ(blocking, "weft-test-pool-");
    if (GetParam().flavor == Flavor::multi_thread) {
        const std::string worker = rt->block_on([]() -> Task<std::string> { co_return this_thread_name(); }());
        EXPECT_EQ(worker, "weft-test-pool-");
    }
}

// ---- consume_budget and unconstrained ------------------------------------------------------------

TEST_P(SingleThreadControlsTest, ConsumeBudgetLetsATimerTickInABusyLoop) {
    auto rt = make_runtime();
    const long iterations = rt->block_on([]() -> Task<long> {
        auto ticked = std::make_shared<std::atomic<bool>>(false);
        JoinHandle<void> timer = weft::spawn([](std::shared_ptr<std::atomic<bool>> ticked) -> Task<void> {
            co_await weft::sleep(5ms);
            ticked->store(true);
        }(ticked));
        // Without consume_budget this loop never leaves the one thread and the timer never fires;
        // the wall-clock bound only turns that into a failure instead of a hang.
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        long n = 0;
        while (!ticked->load() && std::chrono::steady_clock::now() < give_up) {
            co_await weft::consume_budget();
            ++n;
        }
        co_await timer;
        co_return ticked->load() ? n : -1;
    }());
    EXPECT_GT(iterations, 0);
}

// A task alone in its queue that spends its budget lets the driver in at once, not only at the
// next maintenance (kInjectorInterval polls later, 61 x 128 = 7808 operations): a due timer fires
// within a few budgets of the busy loop, however slow each of its operations is.
TEST_P(SingleThreadControlsTest, ABusyLoopAloneInItsQueueLetsADueTimerInWithinAFewBudgets) {
    auto rt = make_runtime();
    const long late_by = rt->block_on([]() -> Task<long> {
        auto due = std::make_shared<std::atomic<long>>(-1);      // iterations when the deadline passed
        auto fired = std::make_shared<std::atomic<long>>(-1);    // iterations when the timer ran
        auto n = std::make_shared<std::atomic<long>>(0);
        const auto deadline = std::chrono::steady_clock::now() + 2ms;
        JoinHandle<void> timer = weft::spawn([](auto n, auto fired) -> Task<void> {
            co_await weft::sleep(2ms);
            fired->store(n->load());
        }(n, fired));
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (fired->load() < 0 && std::chrono::steady_clock::now() < give_up) {
            co_await weft::consume_budget();
            // Each operation takes ~20 us of wall time: slow, as an accept failing under a sanitizer.
            const auto until = std::chrono::steady_clock::now() + 20us;
            while (std::chrono::steady_clock::now() < until) {}
            const long i = n->fetch_add(1) + 1;
            if (due->load() < 0 && std::chrono::steady_clock::now() >= deadline) due->store(i);
        }
        co_await timer;
        co_return fired->load() < 0 || due->load() < 0 ? -1 : fired->load() - due->load();
    }());
    ASSERT_GE(late_by, 0) << "the timer never fired";
    // The wheel's 1 ms tick is ~50 operations here, and the driver comes in every 128: a handful of
    // budgets at most. Waiting for maintenance would be thousands.
    EXPECT_LT(late_by, 4 * static_cast<long>(weft::detail::coop::kBudgetPerPoll));
}

// Spends `n` units of budget; true if `other_ran` was still false at the end.
Task<bool> spend(int n, std::shared_ptr<std::atomic<bool>> other_ran) {
    for (int i = 0; i < n; ++i) co_await weft::consume_budget();
    co_return !other_ran->load();
}

TEST_P(SingleThreadControlsTest, UnconstrainedNeverYieldsForBudgetWhileConsumeBudgetDoes) {
    auto rt = make_runtime();
    const auto [starved, yielded] = rt->block_on([]() -> Task<std::pair<bool, bool>> {
        auto other_ran = std::make_shared<std::atomic<bool>>(false);
        JoinHandle<void> other = weft::spawn([](std::shared_ptr<std::atomic<bool>> flag) -> Task<void> {
            flag->store(true);
            co_return;
        }(other_ran));
        // Far more than a poll's budget, unconstrained: the other task never gets the thread.
        const bool starved = co_await weft::unconstrained(spend(1000, other_ran));
        // The same loop with the budget: it yields at the end of the budget and the other runs.
        const bool still_waiting = co_await spend(1000, other_ran);
        co_await other;
        co_return std::pair<bool, bool>(starved, !still_waiting);
    }());
    EXPECT_TRUE(starved);
    EXPECT_TRUE(yielded);
}

Task<int> sum_with_sleeps(int n) {
    int sum = 0;
    for (int i = 1; i <= n; ++i) {
        co_await weft::consume_budget();
        if (i % 50 == 0) co_await weft::sleep(1ms);
        sum += i;
    }
    co_return sum;
}

TEST_P(RuntimeControlsTest, UnconstrainedCompletesWithItsResultAcrossSuspensions) {
    auto rt = make_runtime();
    const int sum = rt->block_on([]() -> Task<int> {
        const int inner = co_await weft::unconstrained(sum_with_sleeps(300));
        JoinHandle<int> spawned = weft::spawn(weft::unconstrained(sum_with_sleeps(200)));
        const int other = co_await spawned;
        co_await weft::unconstrained([]() -> Task<void> { co_await weft::yield_now(); }());
        co_return inner + other;
    }());
    EXPECT_EQ(sum, 300 * 301 / 2 + 200 * 201 / 2);
}

TEST(ConsumeBudgetOutsideATask, NeverSuspends) {
    weft::consume_budget unit;
    EXPECT_TRUE(unit.await_ready());
}

// ---- block_in_place ------------------------------------------------------------------------------

TEST_P(RuntimeControlsTest, BlockInPlaceRunsTheFunctionOrRefusesOnCurrentThread) {
    auto rt = make_runtime();
    // With one worker, the worker is busy in the function: a nested block_on would wait for ever
    // (a documented difference from Tokio), so only a second worker runs its task.
    const bool nested = GetParam().workers > 1;
    const int result = rt->block_on([](bool nested) -> Task<int> {
        try {
            co_return weft::block_in_place([nested] {
                if (!nested) return 7;
                // Not a worker meanwhile: the runtime's Handle can block_on from here (Tokio's pattern).
                return weft::Handle::current().block_on([]() -> Task<int> { co_return 6; }()) + 1;
            });
        } catch (const std::logic_error&) {
            co_return -1;
        }
    }(nested));
    EXPECT_EQ(result, GetParam().flavor == Flavor::current_thread ? -1 : 7);
}

TEST(BlockInPlaceOutsideARuntime, JustCallsTheFunction) {
    EXPECT_EQ(weft::block_in_place([] { return 3; }), 3);
}

TEST(BlockInPlaceOnTwoWorkers, TheWorkersQueuedTaskRunsElsewhereMeanwhile) {
    weft::Runtime rt(weft::RuntimeOptions{.flavor = Flavor::multi_thread, .worker_threads = 2});
    const bool ran = rt.block_on([]() -> Task<bool> {
        auto event = std::make_shared<weft::test::Event>();
        auto waiting = std::make_shared<std::atomic<bool>>(false);
        auto done = std::make_shared<std::promise<void>>();
        JoinHandle<void> other = weft::spawn(
            [](std::shared_ptr<weft::test::Event> event, std::shared_ptr<std::atomic<bool>> waiting,
               std::shared_ptr<std::promise<void>> done) -> Task<void> {
                waiting->store(true);
                co_await event->wait();
                done->set_value();
            }(event, waiting, done));
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (!waiting->load() && std::chrono::steady_clock::now() < give_up) co_await weft::yield_now();
        // Woken from this worker, `other` lands in its LIFO slot, which no other worker steals:
        // only the hand-off lets it run while this worker blocks.
        event->set();
        std::future<void> finished = done->get_future();
        const bool in_time = weft::block_in_place([&] { return finished.wait_for(30s) == std::future_status::ready; });
        co_await other;
        co_return in_time;
    }());
    EXPECT_TRUE(ran);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(RuntimeControlsTest);
WEFT_INSTANTIATE_SINGLE_THREADED_RUNTIMES(SingleThreadControlsTest);

}  // namespace
