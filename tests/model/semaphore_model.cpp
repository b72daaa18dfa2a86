// Model of Semaphore (channels/semaphore.hpp, the real header with its state word, SpinLock and
// waiter nodes on Relacy's atomics). An acquire drives an AcquireAwaiter as BudgetedWait does
// with budget to spare: await_ready (try_now), else wait() registers a FlagTarget's waker and after
// the wake poll_woken() must find the outcome (SemaphoreTestPeer reaches the two private steps);
// await_resume hands out the SemaphorePermit, whose destruction releases. A cancelled acquire
// destroys its awaiter while still pending.
//
// Checked (Tokio's documented guarantees): the permits held never exceed the total (counted in the
// model) and what one holder wrote is visible to the next (a data race otherwise); waiters are
// served in FIFO order, a large request at the head holding back smaller ones, and a newcomer's
// try_acquire cannot take permits set aside for a waiter; an acquire cancelled while a release
// races it gives back (or passes on) what it was given; close wakes every waiter with
// AcquireError::closed and returns the permits set aside; add_permits and forget_permits change the
// total and nothing else; no lost wake-up (a waiter left waiting makes Relacy report a livelock);
// no waiter woken twice (FlagTarget asserts it); the line keeps no waker reference. (Tried once by
// hand: with leave()'s release of a full grant removed, the cancel case loses a permit.)
#include "support/model_waker.hpp"
#include "support/no_runtime.hpp"

#include <weft/channels/semaphore.hpp>

#include <gtest/gtest.h>

struct weft::detail::SemaphoreTestPeer {
    static bool wait(Semaphore::AcquireAwaiter& a, const Waker& w) { return a.wait(w); }
    static bool poll_woken(Semaphore::AcquireAwaiter& a) { return a.poll_woken(); }
};

namespace {

using weft::AcquireResult;
using weft::Semaphore;
using weft::Waker;
using weft::model::atomic;
using weft::model::FlagTarget;
using Peer = weft::detail::SemaphoreTestPeer;
using Acquire = std::optional<Semaphore::AcquireAwaiter>;

constexpr const char* kHeader = "channels/semaphore.hpp";

// co_await's first steps: true if it completed without waiting, false once it waits in line.
bool start(Semaphore::AcquireAwaiter& a, FlagTarget& t) {
    if (a.await_ready()) return true;
    t.publish();
    const Waker w = t.waker();
    return !Peer::wait(a, w);  // the line holds a clone
}

// The rest of co_await once it waits: poll_ready, until it completes, then the result.
AcquireResult finish(Semaphore::AcquireAwaiter& a, FlagTarget& t) {
    // poll_ready may run on any wake of the task (spurious, or another select branch's): poll
    // until it completes, but once our waker was woken the first poll must find the outcome.
    for (;;) {
        const bool woken = t.woken();
        if (Peer::poll_woken(a)) break;
        RL_ASSERT(!woken);
        rl::yield(1, $);
    }
    t.expect_wake();  // after() checks that it came: a real task is polled only after one
    return a.await_resume();
}

AcquireResult acquire(Semaphore& sem, std::size_t n, FlagTarget& t, bool* waited = nullptr) {
    Acquire a;
    a.emplace(&sem, n);
    if (start(*a, t)) return a->await_resume();
    if (waited) *waited = true;
    return finish(*a, t);
}

void spin_until(const atomic<int>& flag, int value = 1) {
    while (flag.load(std::memory_order_acquire) < value) rl::yield(1, $);
}

struct Coverage {
    long waited = 0, cancel_after_grant = 0, cancel_in_line = 0, closed = 0, granted = 0, forgot = 0;
};
Coverage coverage;

constexpr int kRounds = 2;

// Total permits; what each thread acquires, kRounds times. With one permit the holders write a
// shared variable: mutual exclusion and the release -> acquire hand-over are checked by Relacy's
// race detector.
template <int Total, int N0, int N1, int N2>
struct Holders : rl::test_suite<Holders<Total, N0, N1, N2>, 3> {
    Semaphore* sem = nullptr;
    FlagTarget targets[3][kRounds];
    atomic<int> in_use;
    rl::var<int> counter;

    void before() {
        sem = new Semaphore(Total);
        in_use.store(0, std::memory_order_relaxed);
        counter($) = 0;
    }
    void thread(unsigned index) {
        const int n = index == 0 ? N0 : index == 1 ? N1 : N2;
        for (int r = 0; r < kRounds; ++r) {
            bool waited = false;
            AcquireResult res = acquire(*sem, n, targets[index][r], &waited);
            RL_ASSERT(res.has_value() && res->num_permits() == static_cast<std::size_t>(n));
            if (waited) ++coverage.waited;
            const int before = in_use.fetch_add(n, std::memory_order_relaxed);
            RL_ASSERT(before + n <= Total);  // never more held than there are
            if (Total == 1) counter($) += 1;
            in_use.fetch_sub(n, std::memory_order_relaxed);
        }  // each round's permit released here
    }
    void after() {
        if (Total == 1) RL_ASSERT(counter($) == 3 * kRounds);
        RL_ASSERT(sem->available_permits() == static_cast<std::size_t>(Total));
        for (auto& row : targets)
            for (const FlagTarget& t : row) t.check_done();
        delete sem;
    }
};

using Mutex3 = Holders<1, 1, 1, 1>;
using Mixed = Holders<2, 2, 1, 1>;

// Empty semaphore. T1 asks for 2 and waits; T2 asks for 1 and waits behind it. Then T0 gives one
// permit (it goes to the head, which still needs one: nobody wakes), a try_acquire(1) fails (the
// permit is set aside for the head), add_permits(1) wakes T1 only, release(1) wakes T2. T1 holds
// its permits until T0 has looked.
struct Fifo : rl::test_suite<Fifo, 3> {
    Semaphore* sem = nullptr;
    FlagTarget targets[2];
    atomic<int> queued[2];
    atomic<int> checked;  // T0 is done: T1 may give its permits back (to T2) only then
    bool got[2] = {};

    void before() {
        sem = new Semaphore(0);
        for (auto& q : queued) q.store(0, std::memory_order_relaxed);
        checked.store(0, std::memory_order_relaxed);
    }
    void thread(unsigned index) {
        if (index == 0) {
            spin_until(queued[0]);
            spin_until(queued[1]);
            sem->release(1);
            RL_ASSERT(targets[0].wake_count() == 0 && targets[1].wake_count() == 0);
            {
                AcquireResult r = sem->try_acquire(1);
                RL_ASSERT(r.is_no_permits());  // a newcomer cannot take what the head was given
            }
            RL_ASSERT(sem->available_permits() == 0);
            sem->add_permits(1);
            RL_ASSERT(targets[0].wake_count() == 1 && targets[1].wake_count() == 0);  // the head first
            sem->release(1);
            RL_ASSERT(targets[1].wake_count() == 1);
            checked.store(1, std::memory_order_release);
            return;
        }
        const unsigned i = index - 1;
        if (i == 1) spin_until(queued[0]);  // behind T1
        Acquire a;
        a.emplace(sem, i == 0 ? 2 : 1);
        RL_ASSERT(!start(*a, targets[i]));  // nothing free: waits
        queued[i].store(1, std::memory_order_release);
        AcquireResult r = finish(*a, targets[i]);
        RL_ASSERT(r.has_value());
        got[i] = true;
        if (i == 0) spin_until(checked);
    }
    void after() {
        RL_ASSERT(got[0] && got[1]);
        RL_ASSERT(sem->available_permits() == 3);
        for (const FlagTarget& t : targets) t.check_done();
        delete sem;
    }
};

// Empty semaphore. T1 asks for 2, waits, and is cancelled at some point (before any grant, after
// a partial one, after the full one); T2 asks for 1 (before or after T1 left); T0 releases 1 and
// then 1 more once T1 is in line. T2 must be served and no permit lost: 2 at the end.
struct CancelRacesRelease : rl::test_suite<CancelRacesRelease, 3> {
    Semaphore* sem = nullptr;
    FlagTarget targets[2];
    atomic<int> queued;
    bool t2_done = false;

    void before() {
        sem = new Semaphore(0);
        queued.store(0, std::memory_order_relaxed);
    }
    void thread(unsigned index) {
        if (index == 0) {
            spin_until(queued);
            sem->release(1);
            sem->release(1);
        } else if (index == 1) {
            Acquire a;
            a.emplace(sem, 2);
            RL_ASSERT(!start(*a, targets[0]));
            queued.store(1, std::memory_order_release);
            for (int i = 0; i < 2 && !targets[0].woken(); ++i) rl::yield(1, $);
            if (targets[0].woken()) ++coverage.cancel_after_grant;
            else ++coverage.cancel_in_line;
            a.reset();  // cancelled: the task was aborted before it resumed
        } else {
            AcquireResult r = acquire(*sem, 1, targets[1]);
            RL_ASSERT(r.has_value());
            t2_done = true;
        }
    }
    void after() {
        RL_ASSERT(t2_done);
        RL_ASSERT(sem->available_permits() == 2);  // nothing lost, nothing made up
        for (const FlagTarget& t : targets) t.check_done();
        delete sem;
    }
};

// Empty semaphore. T1 asks for 2, T2 for 1; T0 releases 1, then closes. Every waiter finishes,
// with the permits or AcquireError::closed; the permit set aside for a waiter that got closed
// returns to the count; later acquires fail. With CancelFirst, T1 gives up at some point instead
// (in line, after a partial grant, after close woke it): the permit still ends up in the count.
template <bool CancelFirst>
struct CloseWakesAll : rl::test_suite<CloseWakesAll<CancelFirst>, 3> {
    Semaphore* sem = nullptr;
    FlagTarget targets[2];
    bool finished[2] = {};

    void before() { sem = new Semaphore(0); }
    void thread(unsigned index) {
        if (index == 0) {
            sem->release(1);
            sem->close();
            RL_ASSERT(sem->is_closed());
            return;
        }
        const unsigned i = index - 1;
        if (CancelFirst && i == 0) {
            Acquire a;
            a.emplace(sem, 2);
            if (!start(*a, targets[0])) {
                for (int k = 0; k < 2 && !targets[0].woken(); ++k) rl::yield(1, $);
                if (targets[0].woken()) ++coverage.cancel_after_grant;
                else ++coverage.cancel_in_line;
            }
            a.reset();  // cancelled (or, completed at once, its result never taken)
            finished[0] = true;
            return;
        }
        AcquireResult r = acquire(*sem, i == 0 ? 2 : 1, targets[i]);
        if (r.has_value()) ++coverage.granted;
        else {
            RL_ASSERT(r.is_closed());
            ++coverage.closed;
        }
        finished[i] = true;
    }
    void after() {
        RL_ASSERT(finished[0] && finished[1]);
        RL_ASSERT(sem->available_permits() == 1);  // the one released, whoever held it meanwhile
        AcquireResult r = sem->try_acquire(1);
        RL_ASSERT(r.is_closed());
        for (const FlagTarget& t : targets) t.check_done();
        delete sem;
    }
};

// One permit. T1 asks for 2 (takes the one as a partial grant and waits, or waits after T0's
// forget); T0 forgets one permit (only if it is available, not once set aside for T1); T2 adds 2.
// T1 is served; the total is 3 minus what was forgotten.
struct ForgetAndAdd : rl::test_suite<ForgetAndAdd, 3> {
    Semaphore* sem = nullptr;
    FlagTarget target;
    std::size_t forgotten = 0;
    bool t1_done = false;

    void before() { sem = new Semaphore(1); }
    void thread(unsigned index) {
        if (index == 0) {
            forgotten = sem->forget_permits(1);
            RL_ASSERT(forgotten <= 1);
            if (forgotten) ++coverage.forgot;
        } else if (index == 1) {
            AcquireResult r = acquire(*sem, 2, target);
            RL_ASSERT(r.has_value());
            t1_done = true;
        } else {
            sem->add_permits(2);
        }
    }
    void after() {
        RL_ASSERT(t1_done);
        RL_ASSERT(sem->available_permits() == 3 - forgotten);
        target.check_done();
        delete sem;
    }
};

constexpr int kIterations = 100000;

template <class Test>
weft::model::Outcome run() {
    coverage = Coverage{};
    return weft::model::simulate<Test>(weft::model::iterations(kIterations));
}

TEST(SemaphoreModel, OnePermitIsMutualExclusion) {
    const auto o = run<Mutex3>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.waited, 0);
}

TEST(SemaphoreModel, PermitsHeldNeverExceedTheTotal) {
    const auto o = run<Mixed>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.waited, 0);
}

TEST(SemaphoreModel, WaitersAreServedInOrderAndNewcomersCannotOvertake) {
    const auto o = run<Fifo>();
    EXPECT_TRUE(o.passed) << o.report;
}

TEST(SemaphoreModel, CancelledAcquireGivesBackWhatItWasGiven) {
    const auto o = run<CancelRacesRelease>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.cancel_after_grant, 0);
    EXPECT_GT(coverage.cancel_in_line, 0);
}

TEST(SemaphoreModel, CloseWakesEveryWaiterWithAnError) {
    const auto o = run<CloseWakesAll<false>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.closed, 0);
    EXPECT_GT(coverage.granted, 0);
}

TEST(SemaphoreModel, AcquireCancelledWhileCloseRacesLosesNoPermit) {
    const auto o = run<CloseWakesAll<true>>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.cancel_after_grant, 0);
    EXPECT_GT(coverage.cancel_in_line, 0);
}

TEST(SemaphoreModel, ForgetPermitsTakesOnlyAvailablePermits) {
    const auto o = run<ForgetAndAdd>();
    EXPECT_TRUE(o.passed) << o.report;
    EXPECT_GT(coverage.forgot, 0);
}

// Seeded bug: a release with nobody waiting returns its permits with a relaxed CAS. The next
// holder then touches the guarded variable unordered after the last one: a data race.
TEST(SemaphoreModel, SeededBugRelaxedReleaseIsCaught) {
    const unsigned line = weft::model::line_of(
        kHeader, "if (state_.compare_exchange_weak(s, s + (n << kShift), std::memory_order_release");
    const auto [o, hits] = weft::model::simulate_with_fault<Mutex3>(weft::model::iterations(kIterations), kHeader,
                                                                    line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed release";
}

// Seeded bug: a grant is handed to a waiter's node with a relaxed store. The woken waiter then
// holds the permit without being ordered after the previous holder: a data race.
TEST(SemaphoreModel, SeededBugRelaxedGrantStoreIsCaught) {
    const unsigned line =
        weft::model::line_of(kHeader, "// release: the grant (and our last touch of the node) is published") + 1;
    const auto [o, hits] = weft::model::simulate_with_fault<Mutex3>(weft::model::iterations(kIterations), kHeader,
                                                                    line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed grant store";
}

}  // namespace
