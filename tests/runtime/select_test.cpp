// select: the first ready operation wins, in listed order when several are; the losers are
// cancelled with nothing lost and no waiter left behind; on every runtime flavour.
// Where a timer decides the outcome, make_paused_runtime: on the current-thread flavour the
// clock is paused (deterministic whatever the load); the multi-thread ones keep real time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <optional>
#include <variant>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/notify.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/channels/semaphore.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include <weft/runtime/yield.hpp>

#include "support/probe_leaf.hpp"
#include "support/runtimes.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;

class SelectTest : public weft::test::AllRuntimes {};

TEST_P(SelectTest, TheOperationThatCompletesWinsAndTheLosingReceiveKeepsItsMessage) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [a_tx, a_rx] = weft::mpsc::channel<int>(4);
        auto [b_tx, b_rx] = weft::mpsc::channel<std::string>(4);
        weft::spawn([](weft::mpsc::Sender<std::string> tx) -> Task<void> {
            co_await weft::sleep(5ms);
            (void)co_await tx.send("b wins");
        }(b_tx)).detach();
        auto r = co_await weft::select(a_rx.recv(), b_rx.recv(), weft::sleep(10s));
        EXPECT_EQ(r.index(), 1u);
        if (r.index() == 1) {
            EXPECT_EQ(std::get<1>(r).value_or(""), "b wins");
        }
        // The receive on `a` lost: a message sent now goes to the next recv, not to a stale waiter.
        EXPECT_TRUE(a_tx.try_send(7));
        auto v = co_await a_rx.recv();
        EXPECT_EQ(v.value_or(-1), 7);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);  // the losing sleep left the wheel
}

TEST_P(SelectTest, WhenSeveralAreReadyTheFirstListedWinsAndTheOthersKeepTheirValues) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [a_tx, a_rx] = weft::mpsc::channel<int>(4);
        auto [b_tx, b_rx] = weft::mpsc::channel<int>(4);
        EXPECT_TRUE(a_tx.try_send(1));
        EXPECT_TRUE(b_tx.try_send(2));
        auto r = co_await weft::select(b_rx.recv(), a_rx.recv());
        EXPECT_EQ(r.index(), 0u);
        EXPECT_EQ(std::get<0>(r).value_or(-1), 2);
        auto left = a_rx.try_recv();
        EXPECT_TRUE(left.has_value());
        if (left) {
            EXPECT_EQ(*left, 1);
        }
    }());
}

TEST_P(SelectTest, AClosedChannelAndATimer) {
    auto rt = make_paused_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        { auto gone = std::move(tx); }
        auto r = co_await weft::select(weft::sleep(10s), rx.recv());
        EXPECT_EQ(r.index(), 1u);
        EXPECT_FALSE(std::get<1>(r).has_value());  // closed: an empty optional

        auto [tx2, rx2] = weft::mpsc::channel<int>(1);
        auto t = co_await weft::select(rx2.recv(), weft::sleep(5ms));
        EXPECT_EQ(t.index(), 1u);  // nothing arrived: the timer won
        EXPECT_TRUE(std::holds_alternative<std::monostate>(t));
        EXPECT_TRUE(tx2.try_send(3));  // the receiver still works after losing
        auto v = co_await rx2.recv();
        EXPECT_EQ(v.value_or(-1), 3);
    }());
}

TEST_P(SelectTest, OverJoinHandlesOneshotsAndNotify) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        JoinHandle<int> slow = weft::spawn([]() -> Task<int> {
            co_await weft::sleep(10s);
            co_return 1;
        }());
        JoinHandle<int> quick = weft::spawn([]() -> Task<int> {
            co_await weft::sleep(2ms);
            co_return 2;
        }());
        auto r = co_await weft::select(slow, quick);
        EXPECT_EQ(r.index(), 1u);
        EXPECT_EQ(std::get<1>(r), 2);
        slow.abort();

        auto [otx, orx] = weft::oneshot::channel<int>();
        weft::Notify notify;
        weft::spawn([](weft::Notify& n) -> Task<void> {
            co_await weft::sleep(2ms);
            n.notify_one();
        }(notify)).detach();
        auto s = co_await weft::select(orx, notify.notified());
        EXPECT_EQ(s.index(), 1u);
        EXPECT_TRUE(otx.send(9));  // the oneshot receiver that lost is still usable
        EXPECT_EQ(co_await orx, 9);
    }());
}

TEST_P(SelectTest, ALosingAcquireGivesItsPlaceInLineBack) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        weft::Semaphore sem(0);
        auto r = co_await weft::select(sem.acquire(1), weft::sleep(5ms));
        EXPECT_EQ(r.index(), 1u);
        // A later waiter gets the permit: nobody stale is ahead of it in line.
        JoinHandle<bool> later = weft::spawn([](weft::Semaphore& sem) -> Task<bool> {
            auto permit = co_await sem.acquire(1);
            co_return true;
        }(sem));
        co_await weft::sleep(2ms);
        sem.add_permits(1);
        EXPECT_TRUE(co_await later);
    }());
}

// Many tasks select between a shared data channel and their own timer, racing producers: every
// message is received exactly once.
TEST_P(SelectTest, RacingSelectsLoseAndDuplicateNothing) {
    auto rt = make_runtime();
    const int total = static_cast<int>(weft::test::scaled(20'000, 10));
    const auto counts = rt->block_on([](int total) -> Task<std::vector<int>> {
        auto [tx, rx] = weft::mpsc::channel<int>(8);
        weft::spawn([](weft::mpsc::Sender<int> tx, int total) -> Task<void> {
            for (int i = 0; i < total; ++i) {
                if (i % 128 == 0) co_await weft::sleep(1ms);
                (void)co_await tx.send(i);
            }
        }(std::move(tx), total)).detach();
        std::vector<int> seen(total, 0);
        int timer_wins = 0;
        for (;;) {
            auto r = co_await weft::select(rx.recv(), weft::sleep(std::chrono::microseconds(200)));
            if (r.index() == 1) {
                ++timer_wins;
                continue;
            }
            const std::optional<int>& v = std::get<0>(r);
            if (!v) break;
            seen[*v] += 1;
        }
        EXPECT_GT(timer_wins, 0);
        co_return seen;
    }(total));
    int once = 0;
    for (int c : counts) once += c == 1;
    EXPECT_EQ(once, total);
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(SelectTest, AbortingATaskBlockedInSelectLeavesNothingBehind) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        JoinHandle<void> blocked = weft::spawn([](weft::mpsc::Receiver<int>& rx) -> Task<void> {
            (void)co_await weft::select(rx.recv(), weft::sleep(1h));
        }(rx));
        co_await weft::sleep(5ms);
        blocked.abort();
        EXPECT_THROW(co_await blocked, weft::JoinError);
        EXPECT_TRUE(tx.try_send(5));
        auto v = co_await rx.recv();
        EXPECT_EQ(v.value_or(-1), 5);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

// ---- Task branches -------------------------------------------------------------------------

// Counts its destruction: a loser's frame was destroyed when its guard's count went up.
struct Guard {
    explicit Guard(int& destroyed) : destroyed_(destroyed) {}
    Guard(const Guard&) = delete;
    ~Guard() { ++destroyed_; }
    int& destroyed_;
};

// Waits for ever (bounded by a long sleep), counting its steps and its destruction.
Task<int> forever(int& destroyed, int& steps) {
    Guard guard(destroyed);
    for (;;) {
        co_await weft::sleep(1ms);
        ++steps;
    }
}

Task<int> after(std::chrono::milliseconds d, int value) {
    co_await weft::sleep(d);
    co_return value;
}

Task<std::string> throws_after_a_wait() {
    co_await weft::yield_now();
    throw std::runtime_error("branch failed");
}

TEST_P(SelectTest, ATaskRacesATimer) {
    auto rt = make_paused_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, steps = 0;
        auto r = co_await weft::select(forever(destroyed, steps), weft::sleep(5ms));
        EXPECT_EQ(r.index(), 1u);
        EXPECT_EQ(destroyed, 1);  // the losing task was destroyed before select returned

        auto s = co_await weft::select(weft::sleep(10s), after(1ms, 42));
        EXPECT_EQ(s.index(), 1u);
        EXPECT_EQ(std::get<1>(s), 42);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);  // neither the loser's sleep nor the timer stayed
}

TEST_P(SelectTest, ATaskRacesATaskAndTheLoserStopsWhereItWaits) {
    auto rt = make_paused_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, steps = 0;
        auto r = co_await weft::select(forever(destroyed, steps), after(5ms, 7));
        EXPECT_EQ(r.index(), 1u);
        EXPECT_EQ(std::get<1>(r), 7);
        EXPECT_EQ(destroyed, 1);
        const int steps_at_end = steps;
        co_await weft::sleep(5ms);
        EXPECT_EQ(steps, steps_at_end);  // its loop does not go on anywhere
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(SelectTest, ATaskThatThrowsIsTheResultAndCancelsTheOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, steps = 0;
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_THROW((void)co_await weft::select(forever(destroyed, steps), rx.recv(), throws_after_a_wait()),
                     std::runtime_error);
        EXPECT_EQ(destroyed, 1);
        EXPECT_TRUE(tx.try_send(3));  // the losing receive left no waiter behind
        auto v = co_await rx.recv();
        EXPECT_EQ(v.value_or(-1), 3);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<int> receive_doubled(weft::mpsc::Receiver<int>& rx) {
    auto v = co_await rx.recv();
    co_return v.value_or(-1) * 2;
}

TEST_P(SelectTest, TasksMixWithChannelReceives) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [a_tx, a_rx] = weft::mpsc::channel<int>(1);
        auto [b_tx, b_rx] = weft::mpsc::channel<int>(1);
        weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(2ms);
            (void)co_await tx.send(21);
        }(b_tx)).detach();
        // The task waits on b: its own wait wakes it, while the receive on a waits too.
        auto r = co_await weft::select(a_rx.recv(), receive_doubled(b_rx), weft::sleep(10s));
        EXPECT_EQ(r.index(), 1u);
        if (r.index() == 1) {
            EXPECT_EQ(std::get<1>(r), 42);
        }
        // The other way round: the plain receive wins, the task waiting in its receive is dropped
        // and its receive keeps the next message.
        weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(2ms);
            (void)co_await tx.send(5);
        }(a_tx)).detach();
        auto s = co_await weft::select(receive_doubled(b_rx), a_rx.recv(), weft::sleep(10s));
        EXPECT_EQ(s.index(), 1u);
        EXPECT_TRUE(b_tx.try_send(8));
        auto v = co_await b_rx.recv();
        EXPECT_EQ(v.value_or(-1), 8);
    }());
}

Task<int> inner_race(weft::mpsc::Receiver<int>& a, weft::mpsc::Receiver<int>& b) {
    auto r = co_await weft::select(receive_doubled(a), receive_doubled(b));
    co_return r.index() == 0 ? std::get<0>(r) : 100 + std::get<1>(r);
}

TEST_P(SelectTest, SelectsOverTasksNestAndEachChildIsWokenByItsOwnWait) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [a_tx, a_rx] = weft::mpsc::channel<int>(1);
        auto [b_tx, b_rx] = weft::mpsc::channel<int>(1);
        int destroyed = 0, steps = 0;
        weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(2ms);
            (void)co_await tx.send(4);
        }(b_tx)).detach();
        auto r = co_await weft::select(forever(destroyed, steps), inner_race(a_rx, b_rx), weft::sleep(10s));
        EXPECT_EQ(r.index(), 1u);
        if (r.index() == 1) {
            EXPECT_EQ(std::get<1>(r), 108);  // b's receive inside the inner select won
        }
        EXPECT_EQ(destroyed, 1);
        EXPECT_TRUE(a_tx.try_send(1));  // the inner loser's receive left no waiter behind
        auto v = co_await a_rx.recv();
        EXPECT_EQ(v.value_or(-1), 1);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<int> bounded_inner(int& destroyed, int& steps) {
    // A timeout over a task inside a select branch: its cancel scope lives in the branch.
    auto r = co_await weft::timeout(3ms, forever(destroyed, steps));
    co_return r.timed_out() ? 1 : 0;
}

TEST_P(SelectTest, TimeoutsInsideAndAroundTaskBranches) {
    auto rt = make_paused_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, steps = 0;
        auto r = co_await weft::select(bounded_inner(destroyed, steps), weft::sleep(10s));
        EXPECT_EQ(r.index(), 0u);
        if (r.index() == 0) {
            EXPECT_EQ(std::get<0>(r), 1);
        }
        EXPECT_EQ(destroyed, 1);

        int a = 0, b = 0, a_steps = 0, b_steps = 0;
        auto t = co_await weft::timeout(3ms, weft::select(forever(a, a_steps), forever(b, b_steps)));
        EXPECT_TRUE(t.timed_out());
        EXPECT_EQ(a + b, 2);  // both branches destroyed with the select
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(SelectTest, AbortingATaskBlockedInASelectOverTasksDestroysThem) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, steps = 0;
        JoinHandle<void> blocked = weft::spawn([](int& destroyed, int& steps) -> Task<void> {
            (void)co_await weft::select(forever(destroyed, steps), weft::sleep(1h));
        }(destroyed, steps));
        co_await weft::sleep(3ms);
        blocked.abort();
        EXPECT_THROW(co_await blocked, weft::JoinError);
        EXPECT_EQ(destroyed, 1);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<int> flag_and_return(bool& ran, int v) {
    ran = true;
    co_return v;
}

TEST_P(SelectTest, ADisabledBranchIsNeitherStartedNorAWinner) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(tx.try_send(1));
        bool ran = false;
        const bool off = false;
        auto r = co_await weft::select(weft::branch_if(off, rx.recv()), weft::branch_if(off, flag_and_return(ran, 2)),
                                       weft::branch_if(!off, weft::sleep(2ms)));
        EXPECT_EQ(r.index(), 2u);
        EXPECT_FALSE(ran);  // the disabled task never ran
        auto v = rx.try_recv();  // the disabled receive did not take the message
        EXPECT_TRUE(v.has_value());

        auto s = co_await weft::select(weft::branch_if(!off, flag_and_return(ran, 3)), weft::sleep(10s));
        EXPECT_EQ(s.index(), 0u);
        EXPECT_TRUE(ran);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

TEST_P(SelectTest, WhenEveryBranchIsDisabledTheElseIsTakenAtOnce) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        bool ran = false;
        const bool off = false;
        auto r = co_await weft::select(weft::branch_if(off, rx.recv()), weft::branch_if(off, flag_and_return(ran, 1)),
                                       weft::select_else);
        EXPECT_EQ(r.index(), 2u);
        EXPECT_TRUE(std::holds_alternative<weft::SelectElse>(r));
        EXPECT_FALSE(ran);

        // With an enabled branch, the else is not taken.
        EXPECT_TRUE(tx.try_send(4));
        auto s = co_await weft::select(weft::branch_if(!off, rx.recv()), weft::select_else);
        EXPECT_EQ(s.index(), 0u);

        // Without an else, every branch disabled is an error, not a wait for ever.
        EXPECT_THROW((void)co_await weft::select(weft::branch_if(off, rx.recv())), std::logic_error);
    }());
}

Task<std::optional<int>> yield_then_some(int v) {
    co_await weft::yield_now();
    co_return v;
}

TEST_P(SelectTest, BranchSomeDisablesAClosedChannelAndWaitsOnForTheOthers) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [a_tx, a_rx] = weft::mpsc::channel<int>(4);
        auto [b_tx, b_rx] = weft::mpsc::channel<int>(4);
        EXPECT_TRUE(a_tx.try_send(1));
        { auto dropped = std::move(a_tx); }  // a: one message, then closed
        weft::spawn([](weft::mpsc::Sender<int> tx) -> Task<void> {
            co_await weft::sleep(2ms);
            (void)co_await tx.send(20);
            co_await weft::sleep(2ms);
            (void)co_await tx.send(21);
        }(std::move(b_tx))).detach();  // b: two messages later, then closed

        std::vector<int> got;
        int closed_seen = 0;
        for (int pass = 0; pass < 10; ++pass) {
            auto r = co_await weft::timeout(1s, weft::select(weft::branch_some(a_rx.recv()),
                                                             weft::branch_some(b_rx.recv()), weft::select_else));
            if (!r) {
                ADD_FAILURE() << "the select waited for ever";
                co_return;
            }
            if (r->index() == 2) {
                ++closed_seen;
                break;
            }
            got.push_back(r->index() == 0 ? std::get<0>(*r) : std::get<1>(*r));  // the values, not optionals
        }
        EXPECT_EQ(got, (std::vector<int>{1, 20, 21}));  // a's closing never won; b was waited for
        EXPECT_EQ(closed_seen, 1);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

Task<std::optional<int>> maybe_after_yield(std::optional<int> v) {
    co_await weft::yield_now();
    co_return v;
}

TEST_P(SelectTest, BranchSomeOverTasksAndWithoutAnElse) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        // An empty Task result disables its branch; the other Task's value wins.
        auto r = co_await weft::select(weft::branch_some(maybe_after_yield(std::nullopt)),
                                       weft::branch_some(yield_then_some(7)));
        EXPECT_EQ(r.index(), 1u);
        if (r.index() == 1) {
            EXPECT_EQ(std::get<1>(r), 7);
        }

        // Every branch empty and no else: an error, not a wait for ever (Tokio panics).
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        { auto dropped = std::move(tx); }
        EXPECT_THROW((void)co_await weft::select(weft::branch_some(rx.recv()),
                                                 weft::branch_some(maybe_after_yield(std::nullopt))),
                     std::logic_error);

        // A disabled precondition around a pattern: neither started nor a winner.
        auto [c_tx, c_rx] = weft::mpsc::channel<int>(1);
        EXPECT_TRUE(c_tx.try_send(5));
        const bool off = false;
        auto s = co_await weft::select(weft::branch_if(off, weft::branch_some(c_rx.recv())), weft::select_else);
        EXPECT_EQ(s.index(), 1u);
        auto left = c_rx.try_recv();
        EXPECT_TRUE(left.has_value());  // the disabled receive did not take it
        if (left) {
            EXPECT_EQ(*left, 5);
        }
    }());
}

TEST_P(SelectTest, BranchSomeRethrowsAnExceptionAsAWin) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::channel<int>(1);
        auto thrower = []() -> Task<std::optional<int>> {
            co_await weft::yield_now();
            throw std::runtime_error("boom");
        };
        EXPECT_THROW((void)co_await weft::select(weft::branch_some(thrower()), weft::branch_some(rx.recv()),
                                                 weft::select_else),
                     std::runtime_error);
        // The losing receive left no waiter: a message sent now is received.
        EXPECT_TRUE(tx.try_send(3));
        auto v = co_await rx.recv();
        EXPECT_EQ(v.value_or(-1), 3);
    }());
}

Task<int> yield_then(int v) {
    co_await weft::yield_now();
    co_return v;
}

TEST_P(SelectTest, ASelectOverTasksInALoopLeavesNothingBehind) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        int destroyed = 0, steps = 0, sum = 0;
        constexpr int kRounds = 10'000;
        for (int i = 0; i < kRounds; ++i) {
            auto r = co_await weft::select(forever(destroyed, steps), yield_then(i), weft::sleep(10s));
            EXPECT_EQ(r.index(), 1u);
            if (r.index() != 1) break;
            sum += std::get<1>(r) == i;
        }
        EXPECT_EQ(sum, kRounds);
        EXPECT_EQ(destroyed, kRounds);
    }());
    EXPECT_EQ(rt->metrics().timers_pending, 0u);
}

// A branch that completes as it starts, after an earlier one began to wait: the select does not
// suspend, and the waiting leaf dies with it. The worker must not be left to poll that leaf at the
// task's next suspension that names none (a yield): the full-duplex Redis manager, whose select
// races a socket write, a read and a channel receive, wrote a batch twice or lost replies that way.
TEST_P(SelectTest, ABranchThatCompletesAsItStartsLeavesNoLeafForTheWorkerToPoll) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        using weft::test::ProbeLeaf;
        for (int round = 0; round < 3; ++round) {
            ProbeLeaf waiting(ProbeLeaf::Mode::waits);
            ProbeLeaf completing(ProbeLeaf::Mode::completes);
            auto r = co_await weft::select(waiting, completing);
            EXPECT_EQ(r.index(), 1u);
            co_await weft::yield_now();
            EXPECT_EQ(waiting.polls, 0) << "round " << round;
            EXPECT_EQ(completing.polls, 0);
        }
    }());
}

WEFT_INSTANTIATE_ALL_RUNTIMES(SelectTest);

}  // namespace
