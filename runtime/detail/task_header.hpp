// The type-erased header of a spawned task: its state machine and reference count.
//
// Layout: the header lives in a prefix of the root coroutine frame's allocation (see task_cell.hpp),
// so a spawn costs one allocation.
//
// State: one 64-bit atomic holds the flags below in its low 16 bits and the reference count above
// them, so each transition (wake, abort, end of poll) is a single read-modify-write.
//
//   RUNNING        a worker is polling the task
//   NOTIFIED       the task must be polled (again): it is in a run queue, or, while RUNNING, the
//                  worker re-queues it when the poll ends
//   COMPLETE       finished or cancelled; the output slot is written; wakes do nothing
//   CANCELLED      abort() was called; the next poll destroys the frame instead of resuming it
//   JOIN_INTEREST  the JoinHandle is alive and will read the output
//   JOIN_WAKER     `join_waker` holds the waker of a joiner (ownership protocol below)
//
// References are held by: the frame while it exists, a run queue (or the worker polling the task)
// while NOTIFIED/RUNNING, the JoinHandle, and every Waker. The last release deallocates.
//
// Invariants: a task is in at most one run queue, exactly when NOTIFIED and not RUNNING. A wake sets
// NOTIFIED; only the wake that moves the state from idle (none of RUNNING, NOTIFIED, COMPLETE) to
// NOTIFIED schedules the task, so a task is never queued twice; a wake while RUNNING is not lost
// because the end-of-poll transition reads NOTIFIED in the same RMW that clears RUNNING.
//
// join_waker ownership: while JOIN_WAKER is clear only the JoinHandle touches the field; while it
// is set only the completing worker does. The handle writes the waker, then sets the bit (release);
// completion sets COMPLETE and reads the bit in one RMW (acquire), then wakes.
//
// Orders: transitions are acq_rel. Release publishes what the task wrote before suspending or
// completing (its output); acquire makes it visible to the next poller or the joiner.
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>

#include "../waker.hpp"
#include "cancel_scope.hpp"
#include "context.hpp"
#include "sync.hpp"

namespace weft::detail {

class Scheduler;
class TaskHeader;

struct TaskVtable {
    // Moves the root promise's result (or a cancellation) into the output slot and destroys the frame.
    void (*finish)(TaskHeader*, bool cancelled) noexcept;
    // Destroys the output nobody will read; an exception in it is reported to the runtime.
    void (*drop_output)(TaskHeader*) noexcept;
    // Destroys the cell and frees the allocation (called by the last reference).
    void (*deallocate)(TaskHeader*) noexcept;
};

class TaskHeader {
public:
    static constexpr std::uint64_t kRunning = 1u << 0;
    static constexpr std::uint64_t kNotified = 1u << 1;
    static constexpr std::uint64_t kComplete = 1u << 2;
    static constexpr std::uint64_t kCancelled = 1u << 3;
    static constexpr std::uint64_t kJoinInterest = 1u << 4;
    static constexpr std::uint64_t kJoinWaker = 1u << 5;
    static constexpr std::uint64_t kRefOne = std::uint64_t{1} << 16;
    static constexpr std::uint64_t kFlagMask = kRefOne - 1;

    TaskHeader(const TaskVtable* vtable, std::coroutine_handle<> root, Scheduler* scheduler,
               bool join_interest) noexcept
        // References: the frame, the run queue it is about to enter, and the JoinHandle.
        : state_(kNotified | (join_interest ? kJoinInterest | 3 * kRefOne : 2 * kRefOne)),
          vtable_(vtable), resume_point_(root), root_(root), scheduler_(scheduler) {}

    TaskHeader(const TaskHeader&) = delete;
    TaskHeader& operator=(const TaskHeader&) = delete;

    // ---- wakes -----------------------------------------------------------------------------

    enum class WakeResult { kNothing, kSchedule };

    // Sets NOTIFIED (and `extra`, e.g. CANCELLED). Returns kSchedule when the caller must put the
    // task in a run queue; a reference for that queue has then been taken.
    WakeResult transition_to_notified_by_ref(std::uint64_t extra = 0) noexcept {
        std::uint64_t prev = state_.load(std::memory_order_relaxed);
        for (;;) {
            if (prev & kComplete) return WakeResult::kNothing;
            std::uint64_t next = prev | kNotified | extra;
            const bool schedule = (prev & (kRunning | kNotified)) == 0;
            if (schedule) next += kRefOne;
            if (next == prev) return WakeResult::kNothing;
            if (state_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed))
                return schedule ? WakeResult::kSchedule : WakeResult::kNothing;
        }
    }

    // Like the above, but consumes the caller's reference: it is handed to the run queue when the
    // task must be scheduled, and released otherwise. Returns kSchedule when the caller must queue.
    WakeResult transition_to_notified_by_val() noexcept {
        std::uint64_t prev = state_.load(std::memory_order_relaxed);
        for (;;) {
            std::uint64_t next;
            bool schedule = false;
            if (prev & (kComplete | kNotified | kRunning)) {
                next = (prev | ((prev & kComplete) ? 0 : kNotified)) - kRefOne;
            } else {
                next = prev | kNotified;
                schedule = true;
            }
            if (state_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
                if (!schedule && (next >> 16) == 0) vtable_->deallocate(this);
                return schedule ? WakeResult::kSchedule : WakeResult::kNothing;
            }
        }
    }

    // ---- polling (worker only) ---------------------------------------------------------------

    // NOTIFIED -> RUNNING. Returns the state before; the caller checks kCancelled in it.
    std::uint64_t transition_to_running() noexcept {
        // NOTIFIED is set and RUNNING clear for a task taken from a run queue, so one xor swaps them.
        const std::uint64_t prev = state_.fetch_xor(kNotified | kRunning, std::memory_order_acq_rel);
        assert((prev & kNotified) && !(prev & kRunning));
        return prev;
    }

    enum class IdleResult { kIdle, kRequeue };

    // End of a poll that suspended. If a wake (or `yielded`) arrived, the task stays NOTIFIED and
    // the caller re-queues it with the poll's reference; otherwise that reference is released.
    IdleResult transition_to_idle(bool yielded) noexcept {
        std::uint64_t prev = state_.load(std::memory_order_relaxed);
        for (;;) {
            std::uint64_t next = prev & ~kRunning;
            // An abort still pending re-queues the task too, so the next poll carries it out (a
            // poll after an abort happens when the wait had completed: Pollable::settle_for_abort).
            const bool requeue = yielded || (prev & (kNotified | kCancelled));
            if (yielded || (prev & kCancelled)) next |= kNotified;
            if (!requeue) next -= kRefOne;
            if (state_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
                // The frame still holds a reference, so this cannot be the last one.
                assert((next >> 16) != 0);
                return requeue ? IdleResult::kRequeue : IdleResult::kIdle;
            }
        }
    }

    // Sets COMPLETE (clearing RUNNING). Returns the state before, for the join-interest and
    // join-waker checks.
    std::uint64_t transition_to_complete() noexcept {
        std::uint64_t prev = state_.load(std::memory_order_relaxed);
        while (!state_.compare_exchange_weak(prev, (prev & ~kRunning) | kComplete,
                                             std::memory_order_acq_rel, std::memory_order_relaxed)) {
        }
        return prev;
    }

    // ---- the JoinHandle's side -----------------------------------------------------------------

    bool is_complete() const noexcept { return state_.load(std::memory_order_acquire) & kComplete; }
    // abort() was called (a hint while the task runs: the abort may land just after).
    bool is_cancelled() const noexcept { return state_.load(std::memory_order_relaxed) & kCancelled; }

    // Installs `waker` to be woken on completion. Returns false if the task is already complete
    // (the caller reads the output at once).
    bool try_set_join_waker(Waker waker) noexcept {
        std::uint64_t prev = state_.load(std::memory_order_acquire);
        if (prev & kComplete) return false;
        if (prev & kJoinWaker) {
            // A previous await was cancelled: take the field back before overwriting it.
            while (!state_.compare_exchange_weak(prev, prev & ~kJoinWaker, std::memory_order_acq_rel,
                                                 std::memory_order_acquire)) {
                if (prev & kComplete) return false;
            }
            prev &= ~kJoinWaker;
        }
        join_waker_ = std::move(waker);
        while (!state_.compare_exchange_weak(prev, prev | kJoinWaker, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
            if (prev & kComplete) return false;
        }
        return true;
    }

    // Drops join interest. Returns true if the task had already completed, in which case the
    // caller owns the output and must drop it.
    bool unset_join_interest() noexcept {
        // acquire on every read: seeing COMPLETE must make the output written before it visible
        // (pairs with transition_to_complete). Not a relaxed load plus a fence: same meaning, but
        // ThreadSanitizer does not model fences and would report the output read as a race.
        std::uint64_t prev = state_.load(std::memory_order_acquire);
        while (!(prev & kComplete)) {
            if (state_.compare_exchange_weak(prev, prev & ~kJoinInterest, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
                return false;
        }
        return true;
    }

    // ---- references ------------------------------------------------------------------------

    void add_ref() noexcept { state_.fetch_add(kRefOne, std::memory_order_relaxed); }

    void drop_ref() noexcept {
        // acq_rel: the releasing thread's writes must be visible to whoever deallocates.
        const std::uint64_t prev = state_.fetch_sub(kRefOne, std::memory_order_acq_rel);
        assert((prev >> 16) >= 1);
        if ((prev >> 16) == 1) vtable_->deallocate(this);
    }

    // ---- fields used by the scheduler -----------------------------------------------------

    const TaskVtable* vtable() const noexcept { return vtable_; }
    std::coroutine_handle<> root() const noexcept { return root_; }
    std::coroutine_handle<> resume_point() const noexcept { return resume_point_; }
    void set_resume_point(std::coroutine_handle<> h) noexcept { resume_point_ = h; }
    Scheduler* scheduler() const noexcept { return scheduler_; }
    Waker take_join_waker() noexcept { return std::move(join_waker_); }
    Pollable* pending() const noexcept { return pending_; }
    void set_pending(Pollable* p) noexcept { pending_ = p; }
    // The cancel scopes open in this task (see cancel_scope.hpp), touched only by the polling worker.
    OpenCancelScopes& cancel_scopes() noexcept { return cancel_scopes_; }
    std::uint64_t state_for_test() const noexcept { return state_.load(std::memory_order_acquire); }

    // Intrusive links of the owned-tasks list, guarded by that list's shard lock. `is_owned` says
    // the task is in that list; it joins at the end of its first poll that did not finish it (see
    // OwnedTasks), so only the polling worker and shutdown, with the workers stopped, touch it.
    TaskHeader* owned_prev = nullptr;
    TaskHeader* owned_next = nullptr;
    bool is_owned = false;
    // Open weft::unconstrained sections in the task's await chain: while above zero each poll gets
    // an unlimited budget. Touched only by the thread polling the task.
    std::uint16_t unconstrained_depth = 0;

private:
    atomic<std::uint64_t> state_;
    const TaskVtable* vtable_;
    std::coroutine_handle<> resume_point_;  // touched only by the polling worker
    Pollable* pending_ = nullptr;           // likewise
    OpenCancelScopes cancel_scopes_;        // likewise
    std::coroutine_handle<> root_;
    Scheduler* scheduler_;
    Waker join_waker_;
};

}  // namespace weft::detail
