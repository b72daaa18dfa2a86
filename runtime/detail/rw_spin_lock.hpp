// A reader/writer spin lock for short critical sections: copying one value out of a broadcast slot,
// borrowing a watch value.
//
// Layout: one word. The top bit is the writer flag; the low bits count readers inside (or about to
// back out). A reader announces itself with fetch_add and, if it finds the writer flag, takes
// itself back out and waits for the flag to clear; a writer sets the flag (one writer at a time,
// by CAS) and then waits for the reader count to drain. The writer flag wins: once it is set no new
// reader gets in, so a stream of readers cannot starve a writer.
//
// Invariant: while the writer flag is set and the count is zero, the writer is alone; while the
// flag is clear, only readers are inside.
//
// Orders: a reader's fetch_add is acquire (pairs with the writer's release when it clears the
// flag, so the reader sees what the writer wrote); unlock_shared is release (pairs with the
// writer's acquire load of the count, so a reader's use of the old value happens before the writer
// overwrites it). The writer's flag CAS is acquire for the previous writer's release. Waiting loops
// read relaxed and re-validate with the ordered operation.
//
// Why a spin lock: holders copy or inspect one value and leave; a std::shared_mutex would cost a
// futex call on every contended release, more than the section itself. Spinners pause, then yield
// the core (backoff), so a preempted holder on a 2-core machine still gets to run.
#pragma once

#include <atomic>
#include <cstdint>

#include "backoff.hpp"

namespace weft::detail {

class RwSpinLock {
public:
    void lock_shared() noexcept {
        for (unsigned spins = 0;;) {
            // acquire: pairs with the release in unlock().
            if (!(state_.fetch_add(1, std::memory_order_acquire) & kWriter)) return;
            state_.fetch_sub(1, std::memory_order_relaxed);  // back out: we touched nothing
            while (state_.load(std::memory_order_relaxed) & kWriter) backoff(spins++);
        }
    }
    // release: pairs with the acquire load in lock(), which waits for us.
    void unlock_shared() noexcept { state_.fetch_sub(1, std::memory_order_release); }

    void lock() noexcept {
        for (unsigned spins = 0;;) {
            std::uint32_t s = state_.load(std::memory_order_relaxed);
            // acquire: pairs with the previous writer's release in unlock().
            if (!(s & kWriter) &&
                state_.compare_exchange_weak(s, s | kWriter, std::memory_order_acquire, std::memory_order_relaxed))
                break;
            backoff(spins++);
        }
        // acquire: pairs with each departing reader's release in unlock_shared().
        for (unsigned spins = 0; state_.load(std::memory_order_acquire) & kReaders;) backoff(spins++);
    }
    // fetch_and, not a store: readers may be passing through their back-out step right now.
    // release: pairs with the acquire in lock_shared() and lock().
    void unlock() noexcept { state_.fetch_and(~kWriter, std::memory_order_release); }

private:
    static constexpr std::uint32_t kWriter = 1u << 31;
    static constexpr std::uint32_t kReaders = kWriter - 1;

    std::atomic<std::uint32_t> state_{0};
};

// RAII for the shared side (std::shared_lock needs lock_shared/unlock_shared too, but this keeps
// the header free of <shared_mutex>).
class SharedSpinGuard {
public:
    explicit SharedSpinGuard(RwSpinLock& lock) noexcept : lock_(lock) { lock_.lock_shared(); }
    ~SharedSpinGuard() { lock_.unlock_shared(); }
    SharedSpinGuard(const SharedSpinGuard&) = delete;
    SharedSpinGuard& operator=(const SharedSpinGuard&) = delete;

private:
    RwSpinLock& lock_;
};

}  // namespace weft::detail
