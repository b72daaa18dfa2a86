// A wake target for models: a weft::Waker whose wakes are counted, and whose wake reads `payload`,
// a Relacy variable the waiting side writes before it hands the waker out. A wake not ordered
// after that write (a publish that lost its release, a take that lost its acquire) is then a data
// race Relacy reports, as it would be on a real task's frame.
#pragma once

#include "relacy_sync.hpp"

#include <weft/runtime/waker.hpp>

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

}  // namespace weft::model
