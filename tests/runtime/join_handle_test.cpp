// JoinHandle<T>: join, abort, detach, and exceptions nobody observes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using weft::JoinError;
using weft::JoinHandle;
using weft::Task;
using weft::test::Event;
using weft::test::Tracked;

class JoinHandleTest : public weft::test::AllRuntimes {};

Task<int> value(int v) { co_return v; }

Task<void> wait_holding_tracked(Event& event) {
    Tracked held;
    co_await event.wait();
}

TEST_P(JoinHandleTest, JoinYieldsValueAndRethrowsException) {
    auto rt = make_runtime();
    const int v = rt->block_on([]() -> Task<int> {
        JoinHandle<int> h = weft::spawn(value(5));
        const int first = co_await h;
        EXPECT_FALSE(h.valid());
        auto failing = weft::spawn([]() -> Task<void> {
            throw std::runtime_error("in a spawned task");
            co_return;
        }());
        try {
            co_await failing;
        } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "in a spawned task");
            co_return first;
        }
        co_return -1;
    }());
    EXPECT_EQ(v, 5);
}

TEST_P(JoinHandleTest, AbortDestroysASuspendedTasksFrameAndJoinThrowsJoinError) {
    auto rt = make_runtime();
    Event never;
    const long before = Tracked::live.load();
    const bool cancelled = rt->block_on([](Event& never, long before) -> Task<bool> {
        JoinHandle<void> h = weft::spawn(wait_holding_tracked(never));
        while (Tracked::live.load() == before) co_await weft::yield_now();  // it started and holds one
        h.abort();
        try {
            co_await h;
        } catch (const JoinError& e) {
            co_return e.is_cancelled();
        }
        co_return false;
    }(never, before));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(Tracked::live.load(), before);  // the frame and its local were destroyed
}

TEST_P(JoinHandleTest, AbortBeforeTheTaskFirstRunsCancelsIt) {
    auto rt = make_runtime();
    std::atomic<int> ran{0};
    const bool cancelled = rt->block_on([](std::atomic<int>& ran) -> Task<bool> {
        JoinHandle<void> h = weft::spawn([](std::atomic<int>& ran) -> Task<void> {
            ran.fetch_add(1);
            co_return;
        }(ran));
        h.abort();  // before this task yields, so before it can run (on 1 worker at least)
        try {
            co_await h;
        } catch (const JoinError&) {
            co_return true;
        }
        co_return false;  // on 2 workers the task may finish first: a clean result is fine too
    }(ran));
    if (cancelled) {
        EXPECT_EQ(ran.load(), 0);
    } else {
        EXPECT_EQ(ran.load(), 1);
    }
    if (GetParam().workers == 1) {
        EXPECT_TRUE(cancelled);
    }
}

TEST_P(JoinHandleTest, AbortOfAFinishedTaskChangesNothing) {
    auto rt = make_runtime();
    EXPECT_EQ(rt->block_on([]() -> Task<int> {
        JoinHandle<int> h = weft::spawn(value(9));
        while (!h.is_finished()) co_await weft::yield_now();
        h.abort();
        co_return co_await h;
    }()),
              9);
}

TEST_P(JoinHandleTest, AbortFromInsideTheTaskTakesEffectAtItsNextSuspension) {
    auto rt = make_runtime();
    std::atomic<int> reached{0};
    const bool cancelled = rt->block_on([](std::atomic<int>& reached) -> Task<bool> {
        JoinHandle<void> self;
        Event handle_ready;
        self = weft::spawn([](JoinHandle<void>& self, Event& ready, std::atomic<int>& reached) -> Task<void> {
            co_await ready.wait();
            self.abort();
            reached.fetch_add(1);  // still runs: the abort waits for the next suspension
            co_await weft::yield_now();
            reached.fetch_add(100);  // never runs
        }(self, handle_ready, reached));
        handle_ready.set();
        try {
            co_await self;
        } catch (const JoinError&) {
            co_return true;
        }
        co_return false;
    }(reached));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(reached.load(), 1);
}

TEST_P(JoinHandleTest, AwaitingAHandleTwiceThrowsLogicError) {
    auto rt = make_runtime();
    EXPECT_TRUE(rt->block_on([]() -> Task<bool> {
        JoinHandle<int> h = weft::spawn(value(1));
        co_await h;
        try {
            co_await h;
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    }()));
}

struct Reports {
    std::mutex mutex;
    std::vector<std::string> messages;
    weft::RuntimeOptions options() {
        weft::RuntimeOptions o;
        o.on_unhandled_exception = [this](std::exception_ptr e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::lock_guard lock(mutex);
                messages.push_back(ex.what());
            }
        };
        return o;
    }
    std::vector<std::string> snapshot() {
        std::lock_guard lock(mutex);
        return messages;
    }
};

std::atomic<int> thrown{0};

Task<void> throws(const char* what) {
    thrown.fetch_add(1);
    throw std::runtime_error(what);
    co_return;
}

// A report happens when the task completes, inside the worker's poll; the runtime's shutdown
// joins the workers, so once a task has thrown, its report has been made by the time the
// runtime is gone.
TEST_P(JoinHandleTest, ExceptionsOfDetachedOrUnreadTasksAreReported) {
    Reports reports;
    thrown.store(0);
    {
        auto rt = make_runtime(reports.options());
        rt->block_on([]() -> Task<void> {
            weft::spawn(throws("detached before it ran")).detach();
            JoinHandle<void> kept = weft::spawn(throws("finished, then its handle dropped"));
            while (thrown.load() < 2 || !kept.is_finished()) co_await weft::yield_now();
            kept.detach();
        }());
    }
    auto got = reports.snapshot();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"detached before it ran", "finished, then its handle dropped"}));
}

// A handle dropped on one thread while another destroys its runtime: the report goes to the
// handler (kept alive for it) or to stderr, once, and never to a destroyed runtime (ASan and TSan
// watch this one).
TEST(JoinHandleReports, DroppingAHandleWhileAnotherThreadDestroysTheRuntimeReportsAtMostOnce) {
    for (int round = 0; round < 200; ++round) {
        auto reports = std::make_shared<std::atomic<int>>(0);
        weft::RuntimeOptions options;
        options.worker_threads = 1;
        options.on_unhandled_exception = [reports](std::exception_ptr) { reports->fetch_add(1); };
        auto rt = std::make_unique<weft::Runtime>(std::move(options));
        JoinHandle<void> handle = rt->block_on([]() -> Task<JoinHandle<void>> {
            JoinHandle<void> h = weft::spawn(throws("dropped during the runtime's destruction"));
            while (!h.is_finished()) co_await weft::yield_now();
            co_return h;
        }());
        std::atomic<bool> go{false};
        std::thread dropper([&handle, &go] {
            while (!go.load()) std::this_thread::yield();
            JoinHandle<void> dropped = std::move(handle);
        });
        go.store(true);
        rt.reset();
        dropper.join();
        EXPECT_LE(reports->load(), 1) << "round " << round;
    }
}

TEST_P(JoinHandleTest, AReadExceptionIsNotReported) {
    Reports reports;
    {
        auto rt = make_runtime(reports.options());
        EXPECT_THROW(rt->block_on(throws("read by block_on")), std::runtime_error);
    }
    EXPECT_TRUE(reports.snapshot().empty());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(JoinHandleTest);

}  // namespace
