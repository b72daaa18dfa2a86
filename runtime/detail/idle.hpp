// Which workers are awake and which are searching for work; decides when to wake a parked one.
//
// `state_` packs the number of searching workers (low 16 bits) and of unparked workers (high 16).
// A searching worker is one with an empty queue looking to steal; at most half the workers search
// at once, so idle workers do not all hammer the same queues.
//
// No lost wakeups: a worker about to park decrements `unparked` (and `searching`) with an RMW, and,
// if it was the last searcher, re-checks every queue afterwards. A thread that queued work checks
// `state_` with an RMW too (fetch_add of 0, never a plain load): RMWs on one atomic are totally
// ordered and each reads the latest value, so either the queuer's RMW sees the worker as parked
// (and wakes someone), or the worker's RMW comes after it and acquires the queuer's release, so
// the worker's re-check sees the new work. The one exception is a worker that queued work on
// its own queue: it may skip that RMW when a plain load says no wakeup is needed
// (may_need_notify), since a missed one only delays sharing a task its own worker will run.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "sync.hpp"

namespace weft::detail {

class Idle {
public:
    explicit Idle(std::uint32_t num_workers) : num_workers_(num_workers), state_(num_workers << kUnparkShift) {
        sleepers_.reserve(num_workers);
    }

    // Tries to become a searcher. Fails when half the workers already search.
    bool transition_worker_to_searching() noexcept {
        const std::uint32_t state = state_.load(std::memory_order_seq_cst);
        if (2 * num_searching(state) >= num_workers_) return false;
        // Racy by design (as in Tokio): a few extra searchers cost only some spinning.
        state_.fetch_add(1, std::memory_order_seq_cst);
        return true;
    }

    // A searcher found work. Returns true if it was the last searcher: the caller then wakes
    // another worker to search, so work queued behind it is not stranded.
    bool transition_worker_from_searching() noexcept {
        const std::uint32_t prev = state_.fetch_sub(1, std::memory_order_seq_cst);
        return num_searching(prev) == 1;
    }

    // Records `worker` as parked. Returns true if it was the last searcher (see above).
    bool transition_worker_to_parked(std::uint32_t worker, bool is_searching) {
        std::lock_guard lock(mutex_);
        const std::uint32_t dec = (1u << kUnparkShift) + (is_searching ? 1u : 0u);
        const std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
        sleepers_.push_back(worker);
        return is_searching && num_searching(prev) == 1;
    }

    // Picks a parked worker to wake, if waking one is needed: nobody is searching and somebody is
    // parked. The woken worker starts as a searcher. Returns the worker's index or -1.
    int worker_to_notify() {
        if (!should_notify()) return -1;
        std::lock_guard lock(mutex_);
        if (!should_notify() || sleepers_.empty()) return -1;
        // One more unparked, searching worker.
        state_.fetch_add((1u << kUnparkShift) + 1, std::memory_order_seq_cst);
        const std::uint32_t worker = sleepers_.back();
        sleepers_.pop_back();
        return static_cast<int>(worker);
    }

    // A parked worker that found work of its own (the driver it slept in woke tasks onto its
    // queue) takes itself off the list, as a searcher. Returns false if someone already did.
    bool unpark_worker_by_id(std::uint32_t worker) {
        std::lock_guard lock(mutex_);
        const auto it = std::find(sleepers_.begin(), sleepers_.end(), worker);
        if (it == sleepers_.end()) return false;
        sleepers_.erase(it);
        state_.fetch_add((1u << kUnparkShift) + 1, std::memory_order_seq_cst);
        return true;
    }

    // After a wakeup: true if `worker` is still listed as parked (the wakeup was spurious).
    bool is_parked(std::uint32_t worker) {
        std::lock_guard lock(mutex_);
        return std::find(sleepers_.begin(), sleepers_.end(), worker) != sleepers_.end();
    }

    // For shutdown: forget every sleeper so woken workers do not park again.
    void unpark_all_for_shutdown(std::vector<std::uint32_t>& woken) {
        std::lock_guard lock(mutex_);
        woken = sleepers_;
        state_.fetch_add(static_cast<std::uint32_t>(sleepers_.size()) << kUnparkShift, std::memory_order_seq_cst);
        sleepers_.clear();
    }

    // A relaxed guess at whether a wakeup is needed, for callers that can afford to miss one
    // (see Worker::notify_others); notify through worker_to_notify() when it says yes.
    bool may_need_notify() const noexcept { return wants_wakeup(state_.load(std::memory_order_relaxed)); }

    // A relaxed guess at whether some worker has nothing to do (searching or parked).
    bool has_idle_worker() const noexcept {
        const std::uint32_t state = state_.load(std::memory_order_relaxed);
        return num_searching(state) > 0 || num_unparked(state) < num_workers_;
    }

    std::uint32_t num_searching_for_test() const { return num_searching(state_.load()); }

private:
    static constexpr std::uint32_t kUnparkShift = 16;
    static constexpr std::uint32_t kSearchMask = (1u << kUnparkShift) - 1;
    static std::uint32_t num_searching(std::uint32_t s) noexcept { return s & kSearchMask; }
    static std::uint32_t num_unparked(std::uint32_t s) noexcept { return s >> kUnparkShift; }

    // Nobody searches (a searcher would find the work) and somebody is parked (to wake).
    bool wants_wakeup(std::uint32_t state) const noexcept {
        return num_searching(state) == 0 && num_unparked(state) < num_workers_;
    }
    bool should_notify() noexcept {
        // An RMW, not a load: see the header comment.
        return wants_wakeup(state_.fetch_add(0, std::memory_order_seq_cst));
    }

    const std::uint32_t num_workers_;
    atomic<std::uint32_t> state_;
    mutex mutex_;                          // guards sleepers_; parking is not a fast path
    std::vector<std::uint32_t> sleepers_;
};

}  // namespace weft::detail
