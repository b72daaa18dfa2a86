// A test-and-test-and-set lock for critical sections of a few pointer writes (the waiter lists).
//
// Why not std::mutex: under contention its unlock is a futex system call, which on this class of
// virtual machine costs more than the whole critical section many times over. Spinners pause,
// then yield the core, so a preempted holder is not starved on a 2-core machine.
//
// Orders: lock is an acquire exchange, unlock a release store; the waiting loop reads relaxed.
#pragma once

#include <atomic>

#include "backoff.hpp"
#include "sync.hpp"

namespace weft::detail {

class SpinLock {
public:
    void lock() noexcept {
        for (unsigned spins = 0;; ++spins) {
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
            while (locked_.load(std::memory_order_relaxed)) backoff(spins++);
        }
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    atomic<bool> locked_{false};  // detail::atomic: the Relacy models see the lock
};

}  // namespace weft::detail
