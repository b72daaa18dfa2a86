// Awaiting awaitables that are not weft's inside a Task (runtime/detail/foreign_awaiter.hpp): the
// task resumes on its runtime, through its Waker, whatever thread completes the operation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include <weft/channels/oneshot.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;

// weft's own awaitables pass through the promise's await_transform untouched; others are adapted.
using weft::detail::PassesThrough;
static_assert(PassesThrough<Task<int>>);
static_assert(PassesThrough<Task<int>&>);
static_assert(PassesThrough<weft::JoinHandle<int>&>);
static_assert(PassesThrough<weft::Sleep>);
static_assert(PassesThrough<weft::yield_now>);
static_assert(PassesThrough<weft::oneshot::Receiver<int>>);
static_assert(PassesThrough<weft::test::Event::Awaiter>);
static_assert(PassesThrough<std::suspend_never>);
static_assert(!PassesThrough<std::suspend_always>);

// A foreign operation completed by a plain thread: the awaiter parks its handle and where its
// result goes; complete() writes the result and resumes the handle on the calling thread.
class Pending {
public:
    void park(std::coroutine_handle<> h, int* result) {
        std::lock_guard lock(mutex_);
        handle_ = h;
        result_ = result;
        cv_.notify_all();
    }
    // Completes the parked operation with `value` from this thread. False if nothing was parked.
    bool complete(int value) {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, 10s, [&] { return static_cast<bool>(handle_); })) return false;
        const std::coroutine_handle<> h = std::exchange(handle_, {});
        *result_ = value;
        resumer_ = std::this_thread::get_id();
        lock.unlock();
        h.resume();
        return true;
    }
    bool is_parked() {
        std::lock_guard lock(mutex_);
        return static_cast<bool>(handle_);
    }
    std::thread::id resumer() {
        std::lock_guard lock(mutex_);
        return resumer_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::coroutine_handle<> handle_;
    int* result_ = nullptr;
    std::thread::id resumer_;
};

// Counts live foreign awaiters, to check each is destroyed once, and not before it completes.
std::atomic<int> live_awaiters{0};

enum class Returns { kVoid, kTrue, kNoop };

// Another library's awaiter: it knows nothing of weft and resumes the handle it was given.
template <Returns R>
struct OnThread {
    Pending* pending;
    int result = -1;

    explicit OnThread(Pending& p) : pending(&p) { live_awaiters.fetch_add(1); }
    OnThread(OnThread&& other) noexcept : pending(other.pending), result(other.result) { live_awaiters.fetch_add(1); }
    ~OnThread() { live_awaiters.fetch_sub(1); }

    bool await_ready() const noexcept { return false; }
    auto await_suspend(std::coroutine_handle<> h) {
        pending->park(h, &result);
        if constexpr (R == Returns::kTrue) {
            return true;
        } else if constexpr (R == Returns::kNoop) {
            return std::noop_coroutine();
        }
    }
    int await_resume() const noexcept { return result; }
};

// Where a task found itself after a foreign await.
struct Landing {
    int value = -1;
    std::thread::id thread;
    bool on_runtime = false;  // inside a task polled by a weft runtime
};

Landing land(int value) {
    const weft::detail::ThreadContext& ctx = weft::detail::this_thread_context();
    return Landing{value, std::this_thread::get_id(), ctx.task != nullptr && ctx.scheduler != nullptr};
}

template <Returns R>
Task<Landing> await_on_thread(Pending& p) {
    const int v = co_await OnThread<R>(p);
    co_await weft::sleep(1ms);  // weft still works after it
    co_return land(v);
}

// The await, bounded: a broken adapter fails the test instead of hanging it.
template <Returns R>
Task<Landing> bounded(Pending& p) {
    auto r = co_await weft::timeout(10s, await_on_thread<R>(p));
    if (!r) throw std::runtime_error("the foreign await never resumed the task");
    co_return *r;
}

class ForeignAwaitTest : public weft::test::AllRuntimes {
protected:
    template <Returns R>
    void resumes_on_the_runtime() {
        auto rt = make_runtime();
        Pending p;
        std::thread completer([&] { EXPECT_TRUE(p.complete(42)); });
        const Landing l = rt->block_on(bounded<R>(p));
        completer.join();
        EXPECT_EQ(l.value, 42);
        EXPECT_TRUE(l.on_runtime);
        EXPECT_NE(l.thread, p.resumer());
        EXPECT_EQ(live_awaiters.load(), 0);
    }
};

TEST_P(ForeignAwaitTest, ResumedFromAPlainThreadTheTaskRunsOnTheRuntime) {
    resumes_on_the_runtime<Returns::kVoid>();
}

TEST_P(ForeignAwaitTest, AwaitSuspendReturningTrueWaitsForTheResumption) {
    resumes_on_the_runtime<Returns::kTrue>();
}

TEST_P(ForeignAwaitTest, AwaitSuspendReturningAHandleRunsItThenWaitsForTheResumption) {
    resumes_on_the_runtime<Returns::kNoop>();
}

TEST_P(ForeignAwaitTest, ASpawnedTaskResumesOnTheRuntime) {
    auto rt = make_runtime();
    Pending p;
    std::thread completer([&] { EXPECT_TRUE(p.complete(7)); });
    const Landing l = rt->block_on([](Pending& p) -> Task<Landing> {
        weft::JoinHandle<Landing> h = weft::spawn(await_on_thread<Returns::kVoid>(p));
        auto r = co_await weft::timeout(10s, h);
        if (!r) throw std::runtime_error("the foreign await never resumed the task");
        co_return *r;
    }(p));
    completer.join();
    EXPECT_EQ(l.value, 7);
    EXPECT_TRUE(l.on_runtime);
    EXPECT_NE(l.thread, p.resumer());
}

// Completes at once: await_suspend says so by returning false, or by returning the handle.
struct DoneOnTheSpot {
    DoneOnTheSpot() noexcept {}
    int await_resume_calls = 0;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<>) const noexcept { return false; }
    int await_resume() noexcept { return 5 + ++await_resume_calls; }
};
struct HandsTheHandleBack {
    HandsTheHandleBack() noexcept {}
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) const noexcept { return h; }
    int await_resume() const noexcept { return 9; }
};

TEST_P(ForeignAwaitTest, AwaitSuspendDecliningToSuspendContinuesAtOnce) {
    auto rt = make_runtime();
    const auto [a, b, same_thread] = rt->block_on([]() -> Task<std::tuple<int, int, bool>> {
        const std::thread::id before = std::this_thread::get_id();
        const int a = co_await DoneOnTheSpot();
        const int b = co_await HandsTheHandleBack();
        co_return std::tuple{a, b, before == std::this_thread::get_id()};
    }());
    EXPECT_EQ(a, 6);
    EXPECT_EQ(b, 9);
    EXPECT_TRUE(same_thread);
}

// Resumed before await_suspend returns: inline, on the awaiting thread, or from another thread.
struct ResumesInline {
    explicit ResumesInline(bool other) noexcept : from_other_thread(other) {}
    bool from_other_thread;
    int result = 0;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        result = 11;
        if (from_other_thread) {
            std::thread([h] { h.resume(); }).join();
        } else {
            h.resume();
        }
    }
    int await_resume() const noexcept { return result; }
};

TEST_P(ForeignAwaitTest, ResumedInsideAwaitSuspendTheTaskContinuesWithoutSuspending) {
    auto rt = make_runtime();
    const int sum = rt->block_on([]() -> Task<int> {
        int s = 0;
        for (int i = 0; i < 20; ++i) {
            const int a = co_await ResumesInline(false);
            const int b = co_await ResumesInline(true);
            s += a + b;
            if (!weft::detail::this_thread_context().task) throw std::logic_error("left the runtime");
        }
        co_return s;
    }());
    EXPECT_EQ(sum, 20 * 22);
}

// With operator co_await, and awaited as an lvalue.
struct Deferred {
    explicit Deferred(Pending& p) noexcept : pending(&p) {}
    Pending* pending;
    OnThread<Returns::kVoid> operator co_await() && { return OnThread<Returns::kVoid>(*pending); }
};

TEST_P(ForeignAwaitTest, OperatorCoAwaitAndLvaluesAreAdaptedToo) {
    auto rt = make_runtime();
    Pending p1;
    Pending p2;
    std::thread completer([&] {
        EXPECT_TRUE(p1.complete(1));
        EXPECT_TRUE(p2.complete(2));
    });
    const int sum = rt->block_on([](Pending& p1, Pending& p2) -> Task<int> {
        auto r = co_await weft::timeout(10s, [](Pending& p1, Pending& p2) -> Task<int> {
            const int a = co_await Deferred(p1);
            OnThread<Returns::kVoid> op(p2);
            const int b = co_await op;
            co_return a * 10 + b;
        }(p1, p2));
        co_return r ? *r : -1;
    }(p1, p2));
    completer.join();
    EXPECT_EQ(sum, 12);
    EXPECT_EQ(live_awaiters.load(), 0);
}

// An aborted task lets go of its foreign wait; the operation completes later and writes into its
// awaiter, which the adapter kept alive (the sanitizer builds check no freed memory is touched).
TEST_P(ForeignAwaitTest, AbortedWhileWaitingTheLateCompletionTouchesNoFreedMemory) {
    auto rt = make_runtime();
    Pending p;
    const bool cancelled = rt->block_on([](Pending& p) -> Task<bool> {
        weft::JoinHandle<Landing> h = weft::spawn(await_on_thread<Returns::kVoid>(p));
        for (int i = 0; i < 10000 && !p.is_parked(); ++i) co_await weft::sleep(1ms);
        h.abort();
        bool was_cancelled = false;
        try {
            (void)co_await h;
        } catch (const weft::JoinError& e) {
            was_cancelled = e.is_cancelled();
        }
        co_return was_cancelled;
    }(p));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(live_awaiters.load(), 1);  // still alive, for the operation to complete into
    std::thread([&] { EXPECT_TRUE(p.complete(3)); }).join();
    EXPECT_EQ(live_awaiters.load(), 0);  // freed by the late resumption
}

// A timeout over a task waiting on a foreign operation abandons the wait the same way.
TEST_P(ForeignAwaitTest, TimedOutWhileWaitingTheLateCompletionTouchesNoFreedMemory) {
    auto rt = make_runtime();
    Pending p;
    const bool timed_out = rt->block_on([](Pending& p) -> Task<bool> {
        auto r = co_await weft::timeout(5ms, await_on_thread<Returns::kTrue>(p));
        co_return r.timed_out();
    }(p));
    EXPECT_TRUE(timed_out);
    std::thread([&] { EXPECT_TRUE(p.complete(3)); }).join();
    EXPECT_EQ(live_awaiters.load(), 0);
}

// Shutting the runtime down with a task waiting on a foreign operation.
TEST_P(ForeignAwaitTest, ShutdownWhileWaitingTheLateCompletionTouchesNoFreedMemory) {
    Pending p;
    {
        auto rt = make_runtime();
        rt->block_on([](Pending& p) -> Task<void> {
            weft::spawn(await_on_thread<Returns::kVoid>(p)).detach();
            for (int i = 0; i < 10000 && !p.is_parked(); ++i) co_await weft::sleep(1ms);
        }(p));
    }
    std::thread([&] { EXPECT_TRUE(p.complete(3)); }).join();
    EXPECT_EQ(live_awaiters.load(), 0);
}

// Resumptions racing the suspension: a thread resumes as soon as the handle is parked, often
// before await_suspend has returned.
TEST_P(ForeignAwaitTest, ResumptionsRacingTheSuspensionAreNeitherLostNorDoubled) {
    auto rt = make_runtime();
    const int rounds = static_cast<int>(weft::test::scaled(300, 5));
    Pending p;
    std::thread completer([&] {
        for (int i = 0; i < rounds; ++i) EXPECT_TRUE(p.complete(i));
    });
    const long sum = rt->block_on([](Pending& p, int rounds) -> Task<long> {
        auto r = co_await weft::timeout(30s, [](Pending& p, int rounds) -> Task<long> {
            long s = 0;
            for (int i = 0; i < rounds; ++i) {
                const int v = co_await OnThread<Returns::kVoid>(p);
                if (!weft::detail::this_thread_context().task) throw std::logic_error("left the runtime");
                s += v;
            }
            co_return s;
        }(p, rounds));
        co_return r ? *r : -1;
    }(p, rounds));
    completer.join();
    EXPECT_EQ(sum, static_cast<long>(rounds) * (rounds - 1) / 2);
    EXPECT_EQ(live_awaiters.load(), 0);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(ForeignAwaitTest);

}  // namespace
