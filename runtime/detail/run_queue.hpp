// A worker's local run queue: a fixed ring, pushed and popped by its owner, stolen from by others.
//
// Layout: `tail_` is written only by the owner (push). `head_` packs two 32-bit positions:
//   real   the next task the owner pops;
//   steal  where an in-progress steal started (equal to `real` when nobody is stealing).
// Slots in [steal, tail) hold tasks; [steal, real) are being copied out by a stealer, so the owner
// must not overwrite them: the ring is full when tail - steal == capacity. Positions are
// free-running u32 that wrap; distances are computed with unsigned subtraction.
//
// Invariants: tail - steal <= capacity; at most one steal is in progress (a stealer that sees
// steal != real backs off).
//
// Protocol:
//   push (owner)   write the slot, then store tail (release). If full and no steal is in progress,
//                  move half the queue to the injector in one batch (claimed with a CAS on head); if
//                  a steal is in progress the new task goes to the injector alone.
//   pop  (owner)   CAS head.real forward (steal follows when no steal is in progress).
//   steal          1) CAS head.real forward by half the available tasks, leaving steal behind:
//                     this claims [steal, real') for the stealer; 2) copy the tasks into the
//                     thief's own ring; 3) CAS head.steal up to head.real, releasing the slots.
//
// Orders: tail's release store publishes the slot written before it; stealers load tail with
// acquire before reading slots. CASes on head are acq_rel: a stealer's final CAS (release) orders
// its slot reads before the owner's acquire load of head that lets the owner reuse those slots.
// Slots are relaxed atomics only so that the (ordered) reuse of a slot is not a formal data race.
//
// Races worth knowing: the owner may pop concurrently with step 2; it only moves `real`, so step 3
// retries its CAS with the new real. A stealer preempted between steps 1 and 3 blocks other
// stealers and the overflow path (tasks then go to the injector), never the owner's pops.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "task_header.hpp"
#include "sync.hpp"

namespace weft::detail {

#if defined(WEFT_SMALL_QUEUES) && WEFT_SMALL_QUEUES
inline constexpr std::uint32_t kRunQueueCapacity = 4;  // reaches wrap-around and overflow often
#else
inline constexpr std::uint32_t kRunQueueCapacity = 256;
#endif

class RunQueue {
public:
    static constexpr std::uint32_t kCapacity = kRunQueueCapacity;
    static_assert((kCapacity & (kCapacity - 1)) == 0, "capacity must be a power of two");

    RunQueue() {
        for (auto& slot : slots_) slot.store(nullptr, std::memory_order_relaxed);
    }

    // Owner only. Returns false when the ring is full; `overflow` receives the task plus the
    // oldest half of the queue (or just the task if a steal is in progress), which the caller
    // moves to the injector. `overflow` must hold kCapacity / 2 + 1 entries.
    bool push_back(TaskHeader* task, TaskHeader** overflow, std::size_t& overflow_count) noexcept {
        const std::uint32_t tail = tail_.load(std::memory_order_relaxed);  // only we write it
        std::uint64_t head = head_.load(std::memory_order_acquire);
        const std::uint32_t steal = steal_of(head);
        if (tail - steal < kCapacity) {
            slots_[tail & kMask].store(task, std::memory_order_relaxed);
            tail_.store(tail + 1, std::memory_order_release);
            return true;
        }
        overflow_count = 0;
        if (steal != real_of(head)) {
            overflow[overflow_count++] = task;
            return false;
        }
        // Claim the oldest half for the injector. Failing means a stealer or ... only a stealer
        // can move head while we are here; the queue then has room, so just retry the push.
        const std::uint32_t real = real_of(head);
        constexpr std::uint32_t half = kCapacity / 2;
        if (!head_.compare_exchange_strong(head, pack(real + half, real + half), std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
            return push_back(task, overflow, overflow_count);
        }
        for (std::uint32_t i = 0; i < half; ++i)
            overflow[overflow_count++] = slots_[(real + i) & kMask].load(std::memory_order_relaxed);
        overflow[overflow_count++] = task;
        return false;
    }

    // Owner only.
    TaskHeader* pop() noexcept {
        std::uint64_t head = head_.load(std::memory_order_acquire);
        for (;;) {
            const std::uint32_t steal = steal_of(head);
            const std::uint32_t real = real_of(head);
            if (real == tail_.load(std::memory_order_relaxed)) return nullptr;
            const std::uint64_t next = steal == real ? pack(real + 1, real + 1) : pack(steal, real + 1);
            if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel, std::memory_order_acquire))
                return slots_[real & kMask].load(std::memory_order_relaxed);
        }
    }

    // A stealer's mark: the position the next task queued will take. Every task queued before
    // the call is below it.
    std::uint32_t mark() const noexcept { return tail_.load(std::memory_order_acquire); }
    // Whether a task queued before `mark` (from mark()) is still in the queue.
    bool holds_before(std::uint32_t mark) const noexcept {
        const std::uint32_t real = real_of(head_.load(std::memory_order_acquire));
        return static_cast<std::int32_t>(mark - real) > 0;
    }

    // Called by the owner of `dst` (a different queue). Moves about half of this queue's tasks,
    // but none queued at or after `limit` (a mark()), into `dst` and returns one of them to run
    // now, or nullptr.
    TaskHeader* steal_into(RunQueue& dst, std::uint32_t& stolen_count, std::uint32_t limit) noexcept {
        stolen_count = 0;
        const std::uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
        const std::uint32_t dst_steal = steal_of(dst.head_.load(std::memory_order_acquire));
        if (dst_tail - dst_steal > kCapacity / 2) return nullptr;  // no room: we have work anyway

        // Step 1: claim.
        std::uint64_t head = head_.load(std::memory_order_acquire);
        std::uint32_t first, n;
        for (;;) {
            const std::uint32_t steal = steal_of(head);
            const std::uint32_t real = real_of(head);
            if (steal != real) return nullptr;  // another stealer is at work
            const std::uint32_t tail = tail_.load(std::memory_order_acquire);
            const std::uint32_t available = tail - real;
            n = available - available / 2;
            const std::int32_t waited = static_cast<std::int32_t>(limit - real);
            if (waited <= 0) return nullptr;
            n = std::min(n, static_cast<std::uint32_t>(waited));
            if (n == 0) return nullptr;
            if (head_.compare_exchange_weak(head, pack(steal, real + n), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                first = real;
                break;
            }
        }
        // Step 2: copy. Slots of dst past its tail are free and invisible to its stealers.
        for (std::uint32_t i = 0; i < n; ++i) {
            TaskHeader* t = slots_[(first + i) & kMask].load(std::memory_order_relaxed);
            dst.slots_[(dst_tail + i) & kMask].store(t, std::memory_order_relaxed);
        }
        // Step 3: release the claimed slots.
        head = head_.load(std::memory_order_acquire);
        for (;;) {
            const std::uint32_t real = real_of(head);
            if (head_.compare_exchange_weak(head, pack(real, real), std::memory_order_acq_rel,
                                            std::memory_order_acquire))
                break;
        }
        stolen_count = n;
        // Run the last stolen task now; publish the rest.
        TaskHeader* run_now = dst.slots_[(dst_tail + n - 1) & kMask].load(std::memory_order_relaxed);
        if (n > 1) dst.tail_.store(dst_tail + n - 1, std::memory_order_release);
        return run_now;
    }

    // Steals from every task queued so far.
    TaskHeader* steal_into(RunQueue& dst, std::uint32_t& stolen_count) noexcept {
        return steal_into(dst, stolen_count, mark());
    }

    // Approximate: exact only for the owner with no steal in progress.
    std::uint32_t len() const noexcept {
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        return tail_.load(std::memory_order_acquire) - real_of(head);
    }
    bool is_empty() const noexcept { return len() == 0; }

    // Stealers and the idle protocol ask this of other workers' queues.
    bool has_stealable_tasks() const noexcept { return len() > 0; }

private:
    static constexpr std::uint32_t kMask = kCapacity - 1;
    static std::uint32_t steal_of(std::uint64_t head) noexcept { return static_cast<std::uint32_t>(head >> 32); }
    static std::uint32_t real_of(std::uint64_t head) noexcept { return static_cast<std::uint32_t>(head); }
    static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
        return (std::uint64_t{steal} << 32) | real;
    }

    alignas(64) atomic<std::uint64_t> head_{0};  // written by the owner's pops and by stealers
    alignas(64) atomic<std::uint32_t> tail_{0};  // written only by the owner
    alignas(64) std::array<atomic<TaskHeader*>, kCapacity> slots_;
};

}  // namespace weft::detail
