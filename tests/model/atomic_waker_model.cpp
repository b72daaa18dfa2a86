// Model of runtime/detail/atomic_waker.hpp (the real header, its atomics replaced by Relacy's):
// register_waker racing wake never loses the wakeup, and a wake sees what the waiter published
// before registering.
//
// ReregisterVsTwoWakers found a real bug: after a contended registration the header reset the
// state with a plain release store, which did not acquire a second waker's event, so the
// waiter's re-check could miss it and nobody woke the new waker (fixed with an acq_rel exchange,
// as Tokio's swap(WAITING, AcqRel)). Relacy treats even a relaxed RMW as reading the newest value
// with its release sequence, so weakening the exchange does not bring that bug back: the seeded
// bug below is the registration's publish instead.
#include "support/model_waker.hpp"

#include <weft/runtime/detail/atomic_waker.hpp>



namespace {

using weft::model::WakeTarget;
using weft::model::atomic;

constexpr const char* kHeader = "runtime/detail/atomic_waker.hpp";

// Thread 0 registers and then checks the event; thread 1 signals the event and wakes. Either the
// check sees the event or the wake reaches the registered waker.
struct RegisterVsWake : rl::test_suite<RegisterVsWake, 2> {
    weft::detail::AtomicWaker waker;
    WakeTarget target;
    atomic<bool> event{false};
    bool saw_event = false;

    void thread(unsigned index) {
        if (index == 0) {
            target.publish();
            waker.register_waker(target.waker());
            saw_event = event.load(std::memory_order_acquire);
        } else {
            event.store(true, std::memory_order_release);
            waker.wake();
        }
    }
    void after() { RL_ASSERT(saw_event || target.wake_count() >= 1); }
};

// A waiter that re-registers with a new waker (a task polled again), against two wakers. The
// last registered waker is woken unless the last check saw both events.
struct ReregisterVsTwoWakers : rl::test_suite<ReregisterVsTwoWakers, 3> {
    weft::detail::AtomicWaker waker;
    WakeTarget first, second;
    atomic<int> events{0};
    int seen_last = 0;

    void thread(unsigned index) {
        if (index == 0) {
            first.publish();
            waker.register_waker(first.waker());
            if (events.load(std::memory_order_acquire) == 2) {
                seen_last = 2;
                return;
            }
            second.publish();
            waker.register_waker(second.waker());
            seen_last = events.load(std::memory_order_acquire);
        } else {
            events.fetch_add(1, std::memory_order_release);
            waker.wake();
        }
    }
    void after() { RL_ASSERT(seen_last == 2 || second.wake_count() >= 1); }
};

TEST(AtomicWakerModel, WakeRacingRegistrationIsNeverLost) {
    const auto o = weft::model::simulate<RegisterVsWake>(weft::model::iterations(500000));
    EXPECT_TRUE(o.passed) << o.report;
}

TEST(AtomicWakerModel, ReregistrationRacingTwoWakersWakesTheLastWaker) {
    const auto o = weft::model::simulate<ReregisterVsTwoWakers>(weft::model::iterations(500000));
    EXPECT_TRUE(o.passed) << o.report;
}

// Seeded bug: the registration's closing CAS without release. The waking thread then reads a
// waker that was not published to it; the model must report it.
TEST(AtomicWakerModel, SeededBugRelaxedRegistrationIsCaught) {
    const unsigned line = weft::model::line_of(kHeader, "compare_exchange_strong(expected, kWaiting");
    const auto [o, hits] = weft::model::simulate_with_fault<RegisterVsWake>(
        weft::model::iterations(500000), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed registration";
}

}  // namespace
