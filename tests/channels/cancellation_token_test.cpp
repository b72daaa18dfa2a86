// CancellationToken: cancel and is_cancelled across copies, cancelled() (also in select and
// timeout, and from a plain thread), child tokens (parent to child, not the reverse; dropped
// children leave nothing behind), the drop guard, the std::stop_token bridges, and a cancel that
// allocates nothing while waking waiters.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include <weft/channels/cancellation_token.hpp>
#include <weft/channels/notify.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include "support/allocation_counter.hpp"
#include "support/runtimes.hpp"
#include "support/task_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancellationToken;
using weft::JoinHandle;
using weft::Task;
using weft::test::settle;

class CancellationTokenTest : public weft::test::AllRuntimes {};

Task<void> wait_cancelled(CancellationToken token, std::atomic<int>& woke) {
    co_await token.cancelled();
    woke.fetch_add(1);
}

TEST(CancellationTokenBasics, CopiesShareOneStateAndCancelIsIdempotent) {
    CancellationToken a;
    CancellationToken b = a;
    EXPECT_FALSE(a.is_cancelled());
    b.cancel();
    EXPECT_TRUE(a.is_cancelled());
    EXPECT_TRUE(b.is_cancelled());
    a.cancel();
    EXPECT_TRUE(a.is_cancelled());
}

TEST(CancellationTokenBasics, CancellingAParentCancelsItsChildrenButNotTheReverse) {
    CancellationToken parent;
    CancellationToken child = parent.child_token();
    CancellationToken grandchild = child.child_token();
    CancellationToken sibling = parent.child_token();
    child.cancel();
    EXPECT_TRUE(child.is_cancelled());
    EXPECT_TRUE(grandchild.is_cancelled());
    EXPECT_FALSE(parent.is_cancelled());
    EXPECT_FALSE(sibling.is_cancelled());
    parent.cancel();
    EXPECT_TRUE(sibling.is_cancelled());
}

TEST(CancellationTokenBasics, AChildOfACancelledTokenIsCancelled) {
    CancellationToken parent;
    parent.cancel();
    EXPECT_TRUE(parent.child_token().is_cancelled());
}

TEST(CancellationTokenBasics, AGrandchildIsCancelledAfterItsParentWasDropped) {
    CancellationToken root;
    CancellationToken grandchild;
    {
        CancellationToken child = root.child_token();
        grandchild = child.child_token();
    }  // the child's last handle: it detaches, the grandchild moves up to the root
    root.cancel();
    EXPECT_TRUE(grandchild.is_cancelled());
}

TEST(CancellationTokenBasics, DeepTreesCancelWithoutRecursionAndManyDroppedChildrenLeaveNothing) {
    CancellationToken root;
    std::vector<CancellationToken> chain;
    chain.push_back(root.child_token());
    for (int i = 0; i < 10000; ++i) chain.push_back(chain.back().child_token());
    for (int i = 0; i < 100000; ++i) {
        CancellationToken dropped = root.child_token();  // detaches at once: no growth (ASan: no leak)
    }
    root.cancel();
    for (const CancellationToken& t : chain) ASSERT_TRUE(t.is_cancelled());
}

TEST(CancellationTokenBasics, DropGuardCancelsUnlessDisarmed) {
    CancellationToken token;
    { auto guard = token.drop_guard(); }
    EXPECT_TRUE(token.is_cancelled());

    CancellationToken kept;
    {
        auto guard = kept.drop_guard();
        CancellationToken back = guard.disarm();
        EXPECT_FALSE(back.is_cancelled());
    }
    EXPECT_FALSE(kept.is_cancelled());
}

TEST(CancellationTokenBasics, StopTokenIsStoppedWhenTheTokenIsCancelled) {
    CancellationToken token;
    std::stop_token stop = token.stop_token();
    EXPECT_TRUE(stop.stop_possible());
    EXPECT_FALSE(stop.stop_requested());
    std::atomic<bool> called{false};
    std::stop_callback cb(stop, [&] { called = true; });
    token.cancel();
    EXPECT_TRUE(stop.stop_requested());
    EXPECT_TRUE(called);
    EXPECT_TRUE(token.stop_token().stop_requested());  // asked for after the cancel

    CancellationToken parent;
    std::stop_token child_stop = parent.child_token().stop_token();
    parent.cancel();  // the child handle is gone, the stop state lives on in the stop_token
    EXPECT_FALSE(child_stop.stop_requested());  // the dropped child detached: not cancelled
}

TEST(CancellationTokenBasics, AStopCallbackMayCancelTheTreeBeingCancelled) {
    CancellationToken root;
    CancellationToken child = root.child_token();
    CancellationToken grandchild = child.child_token();
    std::stop_token stop = grandchild.stop_token();
    std::atomic<int> calls{0};
    std::stop_callback cb(stop, [&] {
        ++calls;
        root.cancel();  // re-entered on this thread: returns without waiting for the walk
        child.cancel();
        grandchild.cancel();
    });
    root.cancel();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_TRUE(grandchild.is_cancelled());
}

TEST(CancellationTokenBasics, FromStopTokenIsCancelledWhenStopIsRequested) {
    std::stop_source source;
    CancellationToken token = CancellationToken::from(source.get_token());
    CancellationToken child = token.child_token();
    EXPECT_FALSE(token.is_cancelled());
    source.request_stop();
    EXPECT_TRUE(token.is_cancelled());
    EXPECT_TRUE(child.is_cancelled());

    std::stop_source already;
    already.request_stop();
    EXPECT_TRUE(CancellationToken::from(already.get_token()).is_cancelled());

    std::stop_source untouched;
    CancellationToken own = CancellationToken::from(untouched.get_token());
    own.cancel();  // cancelling the token does not stop the source
    EXPECT_FALSE(untouched.stop_requested());
}

TEST(CancellationTokenBasics, AStopRacingTheLastHandleIsSound) {
    for (int i = 0; i < weft::test::scaled(2000, 10); ++i) {
        std::stop_source source;
        std::optional<CancellationToken> token = CancellationToken::from(source.get_token());
        CancellationToken child = token->child_token();
        std::jthread stopper([&source] { source.request_stop(); });
        token.reset();  // may run while the stop callback cancels the node
        stopper.join();
        (void)child.is_cancelled();  // either outcome: detached first, or cancelled first
    }
}

TEST(CancellationTokenBasics, AJThreadStopsThroughTheBridge) {
    CancellationToken token;
    std::stop_source source;
    CancellationToken linked = CancellationToken::from(source.get_token());
    std::jthread worker([](std::stop_token st) {
        while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
    }, token.stop_token());
    token.cancel();
    worker.join();  // returns only because the stop token was stopped
    SUCCEED();
}

TEST_P(CancellationTokenTest, CancelledWakesEveryWaiterIncludingChildren) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        CancellationToken token;
        std::atomic<int> woke{0};
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < 3; ++i) waiters.push_back(weft::spawn(wait_cancelled(token, woke)));
        waiters.push_back(weft::spawn(wait_cancelled(token.child_token(), woke)));
        co_await settle();
        EXPECT_EQ(woke.load(), 0);
        token.cancel();
        for (auto& w : waiters) {
            auto r = co_await weft::timeout(5s, w);
            EXPECT_FALSE(r.timed_out());
        }
        EXPECT_EQ(woke.load(), 4);
        co_await token.cancelled();  // already cancelled: completes at once
    }());
}

TEST_P(CancellationTokenTest, CancelFromAPlainThreadWakesTheWaiter) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        CancellationToken token;
        std::jthread canceller([token] {
            std::this_thread::sleep_for(5ms);
            token.cancel();
        });
        auto r = co_await weft::timeout(5s, token.cancelled());
        EXPECT_FALSE(r.timed_out());
    }());
}

TEST_P(CancellationTokenTest, CancelledInSelectAndTimeout) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        CancellationToken token;
        // Not cancelled: the timer wins, and the abandoned wait leaves nothing behind.
        auto timed = co_await weft::timeout(2ms, token.cancelled());
        EXPECT_TRUE(timed.timed_out());
        auto lost = co_await weft::select(token.cancelled(), weft::sleep(1ms));
        EXPECT_EQ(lost.index(), 1u);

        JoinHandle<void> canceller = weft::spawn([](CancellationToken t) -> Task<void> {
            co_await weft::sleep(2ms);
            t.cancel();
        }(token));
        auto won = co_await weft::select(token.cancelled(), weft::sleep(10s));
        EXPECT_EQ(won.index(), 0u);
        co_await canceller;
    }());
}

TEST_P(CancellationTokenTest, AnAbortedWaiterLeavesTheListAndCancelStillWorks) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        CancellationToken token;
        std::atomic<int> woke{0};
        JoinHandle<void> aborted = weft::spawn(wait_cancelled(token, woke));
        JoinHandle<void> kept = weft::spawn(wait_cancelled(token, woke));
        co_await settle();
        aborted.abort();
        const bool was_aborted = co_await weft::test::was_aborted(aborted);
        EXPECT_TRUE(was_aborted);
        token.cancel();
        auto r = co_await weft::timeout(5s, kept);
        EXPECT_FALSE(r.timed_out());
        EXPECT_EQ(woke.load(), 1);
    }());
}

TEST_P(CancellationTokenTest, CancelAllocatesNothingWhileWakingWaiters) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        CancellationToken token;
        CancellationToken child = token.child_token();
        std::atomic<int> woke{0};
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < 40; ++i) waiters.push_back(weft::spawn(wait_cancelled(i % 2 ? token : child, woke)));
        co_await settle();
        std::size_t allocations = 0;
        {
            weft::test::AllocationCounter counting;
            token.cancel();
            allocations = counting.allocations();
        }
        EXPECT_EQ(allocations, 0u);
        for (auto& w : waiters) {
            auto r = co_await weft::timeout(5s, w);
            EXPECT_FALSE(r.timed_out());
        }
        EXPECT_EQ(woke.load(), 40);
    }());
}

TEST_P(CancellationTokenTest, ConcurrentCancelsChildCreationAndDropsStaySound) {
    auto rt = make_runtime();
    for (int round = 0; round < weft::test::scaled(200, 4); ++round) {
        CancellationToken root;
        std::atomic<int> woke{0};
        std::jthread churn([root] {
            for (int i = 0; i < 50; ++i) {
                CancellationToken c = root.child_token();
                CancellationToken gc = c.child_token();
            }
        });
        std::jthread canceller([root] { root.cancel(); });
        rt->block_on([](CancellationToken root, std::atomic<int>& woke) -> Task<void> {
            CancellationToken child = root.child_token();
            auto r = co_await weft::timeout(5s, child.cancelled());
            EXPECT_FALSE(r.timed_out());
            woke.fetch_add(1);
        }(root, woke));
        EXPECT_EQ(woke.load(), 1);
    }
}

WEFT_INSTANTIATE_ALL_RUNTIMES(CancellationTokenTest);

}  // namespace
