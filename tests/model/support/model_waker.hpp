// Wake targets for models: a weft::Waker whose wakes are counted, and whose wake reads `payload`,
// a Relacy variable the waiting side writes before it hands the waker out. A wake not ordered
// after that write (a publish that lost its release, a take that lost its acquire) is then a data
// race Relacy reports, as it would be on a real task's frame.
#pragma once

#include "relacy_sync.hpp"

#include <weft/runtime/detail/waiter_list.hpp>
#include <weft/runtime/waker.hpp>

namespace weft::detail {
// For Relacy's history of Waiter::state (found by ADL where Relacy prints an atomic's value).
inline std::ostream& operator<<(std::ostream& out, Waiter::State s) { return out << static_cast<int>(s); }
}  // namespace weft::detail

namespace weft::model {

// A waker's target whose wakes and references are counted, and whose wake reads `payload`, written
// by publish() before the waker is handed out: a wake not ordered after it is a data race Relacy
// reports. Two kinds, one code:
//  - WakeTarget: any number of wakes, counted relaxed (the model reads the count once joined).
//  - FlagTarget: one wait's target: at most one wake, stored with release so the waiting side may
//    yield on woken() (acquire), as a task's resume would. Each wait has its own, so a late wake
//    of an earlier wait cannot be taken for this one.
template <bool kOneWait>
class BasicWakeTarget {
public:
    BasicWakeTarget() : wakes(0), refs(0) {}

    // A new reference to this target.
    Waker waker() {
        refs.fetch_add(1, std::memory_order_relaxed);
        return Waker(&kVtable, this);
    }
    // The waiter's state that a wake must see: write it before handing out a waker.
    void publish() { payload($) = 1; }
    bool woken() const { return wakes.load(std::memory_order_acquire) != 0; }
    int wake_count() const { return wakes.load(std::memory_order_relaxed); }
    int ref_count() const { return refs.load(std::memory_order_relaxed); }
    // The waiting side completed through the line (it may poll before the wake comes).
    void expect_wake() { must_wake = true; }
    // In after(): the line kept no waker reference, and a wait completed through the line was woken.
    void check_done() const {
        RL_ASSERT(ref_count() == 0);
        if (must_wake) RL_ASSERT(wake_count() == 1);  // no lost wake-up
    }

private:
    static BasicWakeTarget* self(void* p) { return static_cast<BasicWakeTarget*>(p); }
    static void clone(void* p) noexcept { self(p)->refs.fetch_add(1, std::memory_order_relaxed); }
    static void wake_by_ref(void* p) noexcept {
        BasicWakeTarget* t = self(p);
        const int seen = t->payload($);
        RL_ASSERT(seen == 1);  // a wake of a waker nobody published
        if constexpr (kOneWait) {
            const int before = t->wakes.fetch_add(1, std::memory_order_release);
            RL_ASSERT(before == 0);  // one wait, one wake
        } else {
            t->wakes.fetch_add(1, std::memory_order_relaxed);
        }
    }
    static void drop(void* p) noexcept {
        const int prev = self(p)->refs.fetch_sub(1, std::memory_order_relaxed);
        RL_ASSERT(prev > 0);  // a reference dropped twice
    }
    static void wake(void* p) noexcept {
        wake_by_ref(p);
        drop(p);
    }
    static constexpr Waker::Vtable kVtable{&clone, &wake, &wake_by_ref, &drop};

    atomic<int> wakes;
    atomic<int> refs;
    rl::var<int> payload;
    bool must_wake = false;
};

using WakeTarget = BasicWakeTarget<false>;
using FlagTarget = BasicWakeTarget<true>;

}  // namespace weft::model
