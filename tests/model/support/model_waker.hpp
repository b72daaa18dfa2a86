// Wake targets for models. WakeTarget: a weft::Waker whose wakes are counted, and whose wake reads `payload`,
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

class WakeTarget {
public:
    WakeTarget() : wakes(0), refs(0) {}

    // A new reference to this target.
    Waker waker() {
        refs.fetch_add(1, std::memory_order_relaxed);
        return Waker(&kVtable, this);
    }
    // The waiter's state that a wake must see: write it before handing out a waker.
    void publish() { payload($) = 1; }

    int wake_count() const { return wakes.load(std::memory_order_relaxed); }
    int ref_count() const { return refs.load(std::memory_order_relaxed); }

private:
    static WakeTarget* self(void* p) { return static_cast<WakeTarget*>(p); }
    static void clone(void* p) noexcept { self(p)->refs.fetch_add(1, std::memory_order_relaxed); }
    static void wake_by_ref(void* p) noexcept {
        WakeTarget* t = self(p);
        const int seen = t->payload($);
        RL_ASSERT(seen == 1);  // a wake of a waker nobody published
        t->wakes.fetch_add(1, std::memory_order_relaxed);
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
};

// One wait's wake target: wake sets a flag the waiting side yields on (a task's resume). Each
// wait has its own target, so a late wake of an earlier wait cannot be taken for this one. The
// wake reads `payload`, written before the waker is handed out: a wake not ordered after it is a
// data race Relacy reports.
class FlagTarget {
public:
    FlagTarget() : wakes(0), refs(0) {}

    Waker waker() {
        refs.fetch_add(1, std::memory_order_relaxed);
        return Waker(&kVtable, this);
    }
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
    static FlagTarget* self(void* p) { return static_cast<FlagTarget*>(p); }
    static void clone(void* p) noexcept { self(p)->refs.fetch_add(1, std::memory_order_relaxed); }
    static void wake_by_ref(void* p) noexcept {
        FlagTarget* t = self(p);
        const int seen = t->payload($);
        RL_ASSERT(seen == 1);  // a wake of a waker nobody published
        const int before = t->wakes.fetch_add(1, std::memory_order_release);
        RL_ASSERT(before == 0);  // one wait, one wake
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

}  // namespace weft::model
