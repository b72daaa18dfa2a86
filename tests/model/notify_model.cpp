// Model of Notify (channels/notify.hpp, the real header with its state word, SpinLock and waiter
// nodes on Relacy's atomics). A waiter drives a Notified as BudgetedWait does with budget to
// spare: await_ready (try_now), else wait() registers a FlagTarget's waker, and after the wake
// poll_woken() must find the notification (NotifyTestPeer reaches the two private steps). A
// cancelled waiter destroys its Notified while still pending.
//
// Checked (Tokio's documented guarantees): notify_one with nobody waiting stores one permit that
// the next notified() consumes, and several store only one; notify_one and notify_last wake
// exactly one waiter, the oldest or the newest; notify_waiters wakes every Notified created before
// it and stores nothing; an enabled Notified is handed a notify_one that comes before its co_await;
// a waiter cancelled while a notify_one or notify_last picks it passes the
// notification on (to the next waiter or as the permit); no lost wake-up (a waiter left waiting
// makes Relacy report a livelock); no waiter woken twice (FlagTarget asserts it); what the
// notifier wrote before notifying is visible to the task it let through (a data race otherwise);
// the list keeps no waker reference. (Tried once by hand: with leave()'s pass-on removed, both
// cancel cases report a livelock.)
#include "support/model_waker.hpp"
#include "support/no_runtime.hpp"

#include <weft/channels/notify.hpp>

#include <gtest/gtest.h>

struct weft::detail::NotifyTestPeer {
    static bool wait(Notify::Notified& n, const Waker& w) { return n.wait(w); }
    static bool poll_woken(Notify::Notified& n) { return n.poll_woken(); }
};

namespace {

using weft::Notify;
using weft::Waker;
using weft::model::atomic;
using weft::model::FlagTarget;
using Peer = weft::detail::NotifyTestPeer;
using Notified = std::optional<Notify::Notified>;

constexpr const char* kHeader = "channels/notify.hpp";

// co_await's first steps: true if it completed without waiting (a permit, a notify_waiters since
// creation), false once it waits in line with `t`'s waker.
bool start(Notify::Notified& n, FlagTarget& t) {
    if (n.await_ready()) return true;
    t.publish();
    const Waker w = t.waker();
    return !Peer::wait(n, w);  // the list holds a clone
}

// The rest of co_await once it waits: poll_ready, until it completes.
void finish(Notify::Notified& n, FlagTarget& t) {
    // poll_ready may run on any wake of the task (spurious, or another select branch's): poll
    // until it completes, but once our waker was woken the first poll must find the notification.
    for (;;) {
        const bool woken = t.woken();
        if (Peer::poll_woken(n)) break;
        RL_ASSERT(!woken);
        rl::yield(1, $);
    }
    t.expect_wake();  // after() checks that it came: a real task is polled only after one
    n.await_resume();
}

// Permits left stored: how many fresh notified() complete at once (at most one, or it is two).
int stored_permits(Notify& notify) {
    int n = 0;
    for (int i = 0; i < 2; ++i) {
        Notified f;
        f.emplace(&notify);
        if (f->await_ready()) {
            f->await_resume();
            ++n;
        }
    }
    return n;
}

void spin_until(const atomic<int>& flag, int value = 1) {
    while (flag.load(std::memory_order_acquire) < value) rl::yield(1, $);
}

struct Coverage {
    long permit = 0, woken = 0, cancel_passed_on = 0, completed_early = 0;
};
Coverage coverage;

// T0 notifies twice (both may land before T1 waits, and store one permit); T1 awaits; T2, once
// T1 got through, tries a permit once (await_ready, then drops the Notified).
struct PermitStoredOnce : rl::test_suite<PermitStoredOnce, 3> {
    Notify* notify = nullptr;
    FlagTarget target;
    rl::var<int> data;  // written before notifying, read by whoever got through
    atomic<int> t1_through;
    bool t1_done = false, t2_took = false;

    void before() {
        notify = new Notify();
        t1_through.store(0, std::memory_order_relaxed);
    }
    void thread(unsigned index) {
        if (index == 0) {
            data($) = 1;
            notify->notify_one();
            notify->notify_one();
        } else if (index == 1) {
            Notified n;
            n.emplace(notify);
            if (start(*n, target)) {
                ++coverage.permit;
            } else {
                finish(*n, target);
                ++coverage.woken;
            }
            RL_ASSERT(data($) == 1);
            t1_done = true;
            t1_through.store(1, std::memory_order_release);
        } else {
            spin_until(t1_through);
            Notified n;
            n.emplace(notify);
            if (n->await_ready()) {
                n->await_resume();
                RL_ASSERT(data($) == 1);
                t2_took = true;
            }
        }  // a Notified that never waited leaves nothing behind
    }
    void after() {
        RL_ASSERT(t1_done);
        const int left = stored_permits(*notify);
        RL_ASSERT(left <= 1);  // at most one stored
        const int used = 1 + (t2_took ? 1 : 0) + left;
        RL_ASSERT(used >= 1 && used <= 2);  // two notifies: one or two notifications, never three
        target.check_done();
        delete notify;
    }
};

// Two waiters race one notify; a second notify only after one of them got through (so the two
// cannot merge into one permit). Both must finish, each woken at most once, nothing stored after.
template <bool Last>
struct NotifyRacesTwoWaiters : rl::test_suite<NotifyRacesTwoWaiters<Last>, 3> {
    Notify* notify = nullptr;
    FlagTarget targets[2];
    atomic<int> done;
    rl::var<int> data;
    bool finished[2] = {};

    void before() {
        notify = new Notify();
        done.store(0, std::memory_order_relaxed);
    }
    void notify_once() {
        if (Last) notify->notify_last();
        else notify->notify_one();
    }
    void thread(unsigned index) {
        if (index == 0) {
            data($) = 1;
            notify_once();
            RL_ASSERT(targets[0].wake_count() + targets[1].wake_count() <= 1);  // one notify, one waiter
            spin_until(done);
            notify_once();
            return;
        }
        FlagTarget& t = targets[index - 1];
        Notified n;
        n.emplace(notify);
        if (start(*n, t)) ++coverage.permit;
        else {
            finish(*n, t);
            ++coverage.woken;
        }
        RL_ASSERT(data($) == 1);
        finished[index - 1] = true;
        done.fetch_add(1, std::memory_order_release);
    }
    void after() {
        RL_ASSERT(finished[0] && finished[1]);
        RL_ASSERT(stored_permits(*notify) == 0);  // two notifies, two consumed
        for (const FlagTarget& t : targets) t.check_done();
        delete notify;
    }
};

// T1 waits, then T2 waits behind it; once both are in line T0 notifies twice: notify_one wakes
// the oldest first, notify_last the newest, and each call exactly one.
template <bool Last>
struct PickOrder : rl::test_suite<PickOrder<Last>, 3> {
    Notify* notify = nullptr;
    FlagTarget targets[2];
    atomic<int> queued[2];

    void before() {
        notify = new Notify();
        for (auto& q : queued) q.store(0, std::memory_order_relaxed);
    }
    void notify_once() {
        if (Last) notify->notify_last();
        else notify->notify_one();
    }
    void thread(unsigned index) {
        if (index == 0) {
            spin_until(queued[0]);
            spin_until(queued[1]);
            notify_once();
            FlagTarget& first = targets[Last ? 1 : 0];
            FlagTarget& second = targets[Last ? 0 : 1];
            RL_ASSERT(first.wake_count() == 1 && second.wake_count() == 0);
            notify_once();
            RL_ASSERT(second.wake_count() == 1);
            return;
        }
        const unsigned i = index - 1;
        if (i == 1) spin_until(queued[0]);  // behind T1
        Notified n;
        n.emplace(notify);
        RL_ASSERT(!start(*n, targets[i]));  // nothing to take: waits
        queued[i].store(1, std::memory_order_release);
        finish(*n, targets[i]);
    }
    void after() {
        RL_ASSERT(stored_permits(*notify) == 0);
        for (const FlagTarget& t : targets) t.check_done();
        delete notify;
    }
};

// T1 waits, then gives up (its Notified destroyed) at some point, maybe after a notify picked it;
// T2 waits too (before or after T1 left); T0 notifies once after T1 is in line. T2 must finish:
// a notification T1 was handed passes on (to T2, or as the permit T2 then takes).
template <bool Last>
struct CancelPassesOn : rl::test_suite<CancelPassesOn<Last>, 3> {
    Notify* notify = nullptr;
    FlagTarget targets[2];
    atomic<int> queued;
    rl::var<int> data;
    bool t2_done = false;

    void before() {
        notify = new Notify();
        queued.store(0, std::memory_order_relaxed);
    }
    void thread(unsigned index) {
        if (index == 0) {
            data($) = 1;
            spin_until(queued);
            if (Last) notify->notify_last();
            else notify->notify_one();
        } else if (index == 1) {
            Notified n;
            n.emplace(notify);
            RL_ASSERT(!start(*n, targets[0]));
            queued.store(1, std::memory_order_release);
            for (int i = 0; i < 2 && !targets[0].woken(); ++i) rl::yield(1, $);
            if (targets[0].woken()) ++coverage.cancel_passed_on;
            n.reset();  // cancelled: the task was aborted before it resumed
        } else {
            Notified n;
            n.emplace(notify);
            if (start(*n, targets[1])) ++coverage.permit;
            else finish(*n, targets[1]);
            RL_ASSERT(data($) == 1);
            t2_done = true;
        }
    }
    void after() {
        RL_ASSERT(t2_done);
        RL_ASSERT(stored_permits(*notify) == 0);  // one notify, consumed by T2
        for (const FlagTarget& t : targets) t.check_done();
        delete notify;
    }
};

// notify_waiters reaches every Notified created before it. WaitForCreation: T0 calls it once
// both waiters created theirs (they then await unconditionally). Otherwise the documented
// condition pattern: T0 sets `ready` then calls notify_waiters; a waiter creates its Notified,
// checks `ready`, and awaits only if it is not set. Either way nobody is left waiting, and no
// permit is stored.
template <bool WaitForCreation>
struct NotifyWaiters : rl::test_suite<NotifyWaiters<WaitForCreation>, 3> {
    Notify* notify = nullptr;
    FlagTarget targets[2];
    atomic<int> created;
    atomic<int> ready;
    rl::var<int> data;
    bool finished[2] = {};

    void before() {
        notify = new Notify();
        created.store(0, std::memory_order_relaxed);
        ready.store(0, std::memory_order_relaxed);
    }
    void thread(unsigned index) {
        if (index == 0) {
            data($) = 1;
            if (WaitForCreation) spin_until(created, 2);
            ready.store(1, std::memory_order_seq_cst);
            notify->notify_waiters();
            return;
        }
        const unsigned i = index - 1;
        Notified n;
        n.emplace(notify);
        created.fetch_add(1, std::memory_order_release);
        if (!WaitForCreation && ready.load(std::memory_order_seq_cst)) {
            ++coverage.completed_early;
        } else if (start(*n, targets[i])) {
            ++coverage.completed_early;
            if (WaitForCreation) RL_ASSERT(data($) == 1);  // completed by the notify_waiters
        } else {
            finish(*n, targets[i]);
            ++coverage.woken;
            RL_ASSERT(data($) == 1);
        }
        finished[i] = true;
    }
    void after() {
        RL_ASSERT(finished[0] && finished[1]);
        RL_ASSERT(stored_permits(*notify) == 0);  // notify_waiters stores nothing
        for (const FlagTarget& t : targets) t.check_done();
        delete notify;
    }
};

// Notified::enable (Tokio's): T1 enables its Notified (it joins the line without a waker), then
// awaits it (arm registers the waker, or finds the notification already there); T0 notifies once
// T1 is enabled; T2, once T0 is done, tries a permit. The notification went to T1: T1 finishes,
// T2 finds no permit, and nothing is left stored.
struct EnableThenNotify : rl::test_suite<EnableThenNotify, 3> {
    Notify* notify = nullptr;
    FlagTarget target;
    atomic<int> enabled;
    atomic<int> notified;
    rl::var<int> data;
    bool t1_done = false, t2_took = false;

    void before() {
        notify = new Notify();
        enabled.store(0, std::memory_order_relaxed);
        notified.store(0, std::memory_order_relaxed);
    }
    void thread(unsigned index) {
        if (index == 0) {
            data($) = 1;
            spin_until(enabled);
            notify->notify_one();
            notified.store(1, std::memory_order_release);
        } else if (index == 1) {
            Notified n;
            n.emplace(notify);
            RL_ASSERT(!n->enable());  // nothing stored yet: it waits in line
            enabled.store(1, std::memory_order_release);
            if (start(*n, target)) ++coverage.completed_early;  // handed the notification meanwhile
            else {
                finish(*n, target);
                ++coverage.woken;
            }
            RL_ASSERT(data($) == 1);
            t1_done = true;
        } else {
            spin_until(notified);
            Notified n;
            n.emplace(notify);
            t2_took = n->await_ready();
            if (t2_took) n->await_resume();
        }
    }
    void after() {
        RL_ASSERT(t1_done);
        RL_ASSERT(!t2_took);  // the enabled Notified was handed it, not a permit
        RL_ASSERT(stored_permits(*notify) == 0);
        target.check_done();
        delete notify;
    }
};

constexpr int kIterations = 100000;

template <class Test>
weft::model::Outcome run() {
    coverage = Coverage{};
    return weft::model::simulate<Test>(weft::model::iterations(kIterations));
}

TEST(NotifyModel, NotifyOneWithoutWaiterStoresOnePermit) {
    const auto o = run<PermitStoredOnce>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.permit, 0);
    EXPECT_GT(coverage.woken, 0);
}

TEST(NotifyModel, NotifyOneRacingTwoWaitersWakesEachOnce) {
    const auto o = run<NotifyRacesTwoWaiters<false>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.woken, 0);
    EXPECT_GT(coverage.permit, 0);
}

TEST(NotifyModel, NotifyLastRacingTwoWaitersWakesEachOnce) {
    const auto o = run<NotifyRacesTwoWaiters<true>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.woken, 0);
}

TEST(NotifyModel, NotifyOneWakesTheOldestWaiter) {
    const auto o = run<PickOrder<false>>();
    EXPECT_TRUE(o.passed) << o.report;
}

TEST(NotifyModel, NotifyLastWakesTheNewestWaiter) {
    const auto o = run<PickOrder<true>>();
    EXPECT_TRUE(o.passed) << o.report;
}

TEST(NotifyModel, CancelledWaiterPassesNotifyOneOn) {
    const auto o = run<CancelPassesOn<false>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.cancel_passed_on, 0);
}

TEST(NotifyModel, CancelledWaiterPassesNotifyLastOn) {
    const auto o = run<CancelPassesOn<true>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.cancel_passed_on, 0);
}

TEST(NotifyModel, NotifyWaitersReachesEveryNotifiedCreatedBefore) {
    const auto o = run<NotifyWaiters<true>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.woken, 0);
    EXPECT_GT(coverage.completed_early, 0);  // created before, awaited after: completes at once
}

TEST(NotifyModel, NotifyWaitersWithConditionCheckLosesNoWakeUp) {
    const auto o = run<NotifyWaiters<false>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.woken, 0);
}

TEST(NotifyModel, EnabledNotifiedIsHandedTheNotifyOne) {
    const auto o = run<EnableThenNotify>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.woken, 0);
    EXPECT_GT(coverage.completed_early, 0);
}

// Seeded bug: notify_one stores its permit with a relaxed CAS. The task that consumes it then
// reads what the notifier wrote without being ordered after it: a data race.
TEST(NotifyModel, SeededBugRelaxedPermitStoreIsCaught) {
    const unsigned line = weft::model::line_of(kHeader, "if (state_.compare_exchange_weak(s, (s & ~kStateMask) | kNotified");
    const auto [o, hits] = weft::model::simulate_with_fault<PermitStoredOnce>(
        weft::model::iterations(kIterations), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed permit store";
}

// Seeded bug: notify_one hands the notification to a waiter's node with a relaxed store. The
// woken waiter then reads the notifier's writes (and may free its node) unordered: a data race.
TEST(NotifyModel, SeededBugRelaxedHandOffStoreIsCaught) {
    const unsigned line =
        weft::model::line_of(kHeader, "// release: our last touch of the node, and what we did before notifying") + 1;
    const auto [o, hits] = weft::model::simulate_with_fault<NotifyRacesTwoWaiters<false>>(
        weft::model::iterations(kIterations), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed hand-off store";
}

// Seeded bug: notify_waiters marks the nodes with a relaxed store.
TEST(NotifyModel, SeededBugRelaxedNotifyWaitersStoreIsCaught) {
    const unsigned line =
        weft::model::line_of(kHeader, "// release: our last touch of the node; the waiter may destroy it") + 1;
    const auto [o, hits] = weft::model::simulate_with_fault<NotifyWaiters<true>>(
        weft::model::iterations(kIterations), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed notify_waiters store";
}

}  // namespace
