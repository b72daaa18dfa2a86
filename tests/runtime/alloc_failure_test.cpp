// Allocation failures injected into the runtime's entry points: block_on is exception-atomic (it
// never leaves its task running behind it) and the blocking pool's thread count stays exact.
//
// A replacement operator new fails the n-th allocation made by this thread once armed. Sanitizer
// builds cannot replace operator new (clang links its runtime's whole-archive; see
// resp_parser_test.cpp), so these tests skip there.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>

#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>

#include "support/runtimes.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_NO_NEW_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_NO_NEW_HOOK 1
#endif
#endif

namespace {
// 0: off. n > 0: the n-th allocation from now on this thread throws std::bad_alloc.
thread_local long t_fail_countdown = 0;
thread_local bool t_failed = false;
}  // namespace

#ifndef WEFT_TEST_NO_NEW_HOOK
void* operator new(std::size_t size) {
    if (t_fail_countdown > 0 && --t_fail_countdown == 0) {
        t_failed = true;
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace {

using weft::Task;

// Arms the failure for the scope's length.
struct FailNth {
    explicit FailNth(long n) {
        t_failed = false;
        t_fail_countdown = n;
    }
    ~FailNth() { t_fail_countdown = 0; }
};

class AllocFailureTest : public weft::test::AllRuntimes {
protected:
    void SetUp() override {
#ifdef WEFT_TEST_NO_NEW_HOOK
        GTEST_SKIP() << "operator new cannot be replaced in a sanitizer build";
#endif
    }
};

std::atomic<int> g_live_frames{0};

struct LiveFrame {
    LiveFrame() { g_live_frames.fetch_add(1); }
    ~LiveFrame() { g_live_frames.fetch_sub(1); }
};

// Refers to the caller's stack, as block_on's tasks usually do: left running after block_on threw,
// it would write into a dead frame.
Task<int> sleep_then_write(int& out) {
    LiveFrame live;
    co_await weft::sleep(std::chrono::milliseconds(2));
    out = 42;
    co_return 7;
}

// Fails each allocation block_on makes in turn: block_on either returns the value or throws, and
// either way the task is not running any more when it does (on main the join's allocation failed
// after the spawn, and the detached task went on running with a reference into this frame).
TEST_P(AllocFailureTest, BlockOnThatThrowsLeavesNoTaskRunning) {
    auto rt = make_runtime();
    (void)rt->block_on([]() -> Task<int> { co_return 0; }());  // warm up the queues' allocations
    int failures = 0;
    for (long n = 1; n < 64; ++n) {
        int out = 0;
        Task<int> task = sleep_then_write(out);
        bool threw = false, injected = false;
        try {
            FailNth fail(n);
            const int value = rt->block_on(std::move(task));
            injected = t_failed;
            EXPECT_EQ(value, 7);
            EXPECT_EQ(out, 42);
        } catch (const std::bad_alloc&) {
            threw = true;
            injected = true;
        }
        // A task left behind was queued before this one: by the time this returns (one thread runs
        // both, in order) it has started, and would still be sleeping.
        EXPECT_EQ(rt->block_on([]() -> Task<int> { co_return 1; }()), 1);
        EXPECT_EQ(g_live_frames.load(), 0) << "block_on left its task running after allocation " << n << " failed";
        if (threw) ++failures;
        if (!injected) break;  // block_on made fewer than n allocations: every one has been failed
    }
    (void)failures;  // none on a path that allocates nothing once warmed up
    EXPECT_EQ(rt->block_on([]() -> Task<int> { co_return 5; }()), 5);  // still usable
}

// Fails each allocation of a spawn_blocking call in turn, with one pool thread at most: whatever
// failed, the pool's live-thread count stays exact, so the next call still gets a thread (an
// overcount would leave it queued for ever) and the count returns to zero once the threads exit.
TEST_P(AllocFailureTest, BlockingPoolCountStaysExactWhenAThreadCannotStart) {
    weft::RuntimeOptions options;
    options.max_blocking_threads = 1;
    options.blocking_keep_alive = std::chrono::milliseconds(0);
    auto rt = make_runtime(std::move(options));
    for (long n = 1; n < 64; ++n) {
        // Armed on the thread that polls the spawned blocking call: on one thread only.
        const int outcome = rt->block_on([](long n) -> Task<int> {
            FailNth fail(n);
            bool injected = false;
            int result = 0;
            try {
                auto handle = weft::spawn_blocking([] { return 3; });
                result = co_await handle;
                injected = t_failed;
            } catch (const std::exception&) {  // bad_alloc, or system_error from the thread start
                injected = true;
                result = -1;
            }
            t_fail_countdown = 0;
            co_return injected ? result : 100;
        }(n));
        EXPECT_EQ(rt->block_on([]() -> Task<int> { co_return co_await weft::spawn_blocking([] { return 4; }); }()), 4);
        while (rt->metrics().blocking_threads != 0) std::this_thread::yield();
        if (outcome == 100) break;
        EXPECT_TRUE(outcome == 3 || outcome == -1) << outcome;
    }
}

// The spawn_blocking call is polled on the thread that armed the failure only when one thread runs
// every task.
INSTANTIATE_TEST_SUITE_P(SingleThreaded, AllocFailureTest, ::weft::test::single_threaded_runtime_kinds(),
                         [](const auto& info) { return info.param.name; });

}  // namespace
