// Notify: wakes one waiting task, or all of them, without carrying data. What it does is
// documented on the class (below); these are the implementation notes.
//
// Lock-free: notify_one() or notify_last() with nobody waiting, notified() finding a stored permit
// (one CAS on one word; no mutex, no system call). Not lock-free: a task about to wait (or a
// Notified being enabled), a notify finding a waiter, notify_waiters(), and a cancelled wait take a
// SpinLock around the waiter list for a few pointer writes (see
// channels/detail/sender_wait_list.hpp for why a short lock is the right tool).
//
// Algorithm. `state_` is one word: bits 0-1 are kEmpty, kWaiting (the list is non-empty) or
// kNotified (a permit is stored); bits 2.. count notify_waiters() calls. Invariant: kWaiting iff the
// list is non-empty; kWaiting is entered and left only under the lock (so a thread holding the lock
// that sees kWaiting knows it stays so). kEmpty <-> kNotified move by CAS without the lock (a
// notify_one storing a permit, a notified() consuming it). The call count is bumped only under the
// lock. A Notified remembers the count at creation; a later count means notify_waiters() ran.
// notify_one() takes the list's head, notify_last() its tail; the node records which, so a waiter
// cancelled after being picked passes the notification on the same way (Tokio does the same).
// An enabled Notified (Notified::enable()) is a node in the list with an empty waker: a notify picks
// it like any other, and the co_await that follows finds the notification in the node.
//
// Teardown allocates nothing: notify_waiters() collects the wakers in a fixed-size WakeBatch.
//
// Orders: storing a permit is a release CAS and consuming it an acquire CAS, so what the notifier
// did before notify_one is visible to the task it lets through; a waiter handed a notification
// through the list loads kNotified (acquire) from its node, paired with the notifier's release
// store, its last touch of the node. The waker leaves the node before that store and goes to the
// WakeBatch after it (a waker woken on the spot, past the batch's inline capacity, must find the
// notification already in the node, or the waiter sleeps again for good).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

#include "detail/budgeted_wait.hpp"
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/sync.hpp>
#include <weft/runtime/detail/waiter_list.hpp>
#include <weft/runtime/detail/wake_batch.hpp>

namespace weft {

namespace detail {
struct NotifyTestPeer;  // the Relacy model (tests/model/notify_model.cpp) drives Notified's steps through it
}  // namespace detail

/// Wakes one waiting task, or all of them, without carrying data.
///
/// @code
/// weft::Notify ready;
/// // task A                               // task B
/// co_await ready.notified();              ready.notify_one();
/// @endcode
///
/// Semantics follow Tokio's Notify:
///  - notify_one() wakes the task that has waited longest. If nobody waits, it stores a single
///    permit instead (several calls still store one), and the next notified() completes at once,
///    consuming it. So a notify_one that comes before the wait is not lost.
///  - notify_last() is notify_one() for the task that started waiting most recently (LIFO).
///  - Notified::enable() puts a Notified in the line before it is awaited, so a notify_one() that
///    comes between the enable and the co_await is handed to it rather than stored as a permit
///    for someone else.
///  - notify_waiters() wakes every task waiting now, and every Notified awaitable created before
///    the call (even if not yet awaited: `auto n = notify.notified(); if (!ready) co_await n;`
///    cannot miss it). It stores no permit: a notified() that starts afterwards waits for the next
///    call.
///
/// Cancellation: destroying a pending (or enabled) notified() (its task aborted, a timeout or
/// select won) leaves the list; if notify_one() or notify_last() had already picked it, the
/// notification passes to the next waiter chosen the same way (or becomes the stored permit), so
/// it is not lost.
///
/// Threads: a Notify is shared by reference between tasks and threads; notify_one(),
/// notify_last() and notify_waiters() may be called from any thread, notified() is awaited inside a
/// task run by a weft runtime. Not copyable or movable.
class Notify {
public:
    /// No permit stored, nobody waiting.
    Notify() = default;
    Notify(const Notify&) = delete;
    Notify& operator=(const Notify&) = delete;
    /// Misuse: destroying a Notify while tasks wait on it (or Notified awaitables exist) is
    /// undefined.
    ~Notify() = default;

    class WEFT_MUST_AWAIT Notified;

    /// `co_await notify.notified()`: completes when a stored permit is consumed, when notify_one()
    /// or notify_last() picks this waiter, or when notify_waiters() is called after this awaitable was created.
    /// Suspends until then (or yields first, when the task's cooperative budget is spent). Yields
    /// nothing. The awaitable may be created ahead of the co_await (see above); it is not movable,
    /// and is awaited once (ask for a new one for the next wait).
    ///
    /// Cancellation-safe: abandoned (task aborted, timeout or select lost), it consumes nothing and
    /// passes on a notify_one or notify_last that had picked it. Calling notified() is fine from any thread;
    /// awaiting it only inside a task run by a weft runtime.
    Notified notified() noexcept;

    /// Wakes the longest-waiting task, or stores one permit if nobody waits (at most one is
    /// stored). Never blocks (a short spin lock when there are waiters); safe from any thread.
    void notify_one() noexcept { notify(Pick::kFirst); }

    /// As notify_one(), but wakes the task that started waiting most recently (Tokio's
    /// notify_last). With nobody waiting it stores the one permit, as notify_one() does. Never
    /// blocks; safe from any thread.
    void notify_last() noexcept { notify(Pick::kLast); }

    /// Wakes every task waiting now, and every Notified created before this call. Stores no
    /// permit (and leaves one already stored in place). Never blocks, never allocates (however
    /// many wait); safe from any thread.
    void notify_waiters() noexcept;

private:
    static constexpr std::uint64_t kEmpty = 0;
    static constexpr std::uint64_t kWaiting = 1;
    static constexpr std::uint64_t kNotified = 2;
    static constexpr std::uint64_t kStateMask = 3;
    static constexpr std::uint64_t kCallUnit = 4;  // notify_waiters() calls count from bit 2

    // Which waiter a notification went to: passed on the same way if that waiter leaves unused.
    enum class Pick : std::uint8_t { kAll, kFirst, kLast };

    struct Node : detail::Waiter {
        Pick pick = Pick::kAll;  // written before the kNotified release store
    };

    static std::uint64_t calls(std::uint64_t s) noexcept { return s >> 2; }

    void notify(Pick pick) noexcept {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        while ((s & kStateMask) != kWaiting) {
            // release: pairs with the acquire CAS of the notified() that consumes the permit.
            // (Also when a permit is already stored: the consumer must see our writes too.)
            if (state_.compare_exchange_weak(s, (s & ~kStateMask) | kNotified, std::memory_order_release,
                                             std::memory_order_relaxed))
                return;
        }
        detail::WakeBatch batch;
        std::lock_guard lock(lock_);
        notify_locked(pick, batch);
    }

    // Under the lock: hands one notification to the head (kFirst) or tail (kLast) of the list.
    void notify_locked(Pick pick, detail::WakeBatch& batch) noexcept {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        if ((s & kStateMask) != kWaiting) {
            // The list emptied while we took the lock: store the permit instead.
            // release: as in notify_one.
            while (!state_.compare_exchange_weak(s, (s & ~kStateMask) | kNotified, std::memory_order_release,
                                                 std::memory_order_relaxed)) {
            }
            return;
        }
        Node* w = static_cast<Node*>(pick == Pick::kLast ? waiters_.back() : waiters_.front());
        waiters_.remove(*w);
        if (waiters_.empty()) {
            // A plain store: while kWaiting, nothing changes the word without the lock.
            state_.store((s & ~kStateMask) | kEmpty, std::memory_order_relaxed);
        }
        w->pick = pick;
        Waker waker = std::move(w->waker);  // out of the node before it is released
        // release: our last touch of the node, and what we did before notifying, to the waiter.
        w->state.store(detail::Waiter::State::kNotified, std::memory_order_release);
        batch.push(std::move(waker));  // after the store: a wake on the spot must see the outcome
    }

    // Consumes a stored permit, if any.
    bool try_take_permit() noexcept {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        while ((s & kStateMask) == kNotified) {
            // acquire: pairs with the release CAS that stored the permit.
            if (state_.compare_exchange_weak(s, (s & ~kStateMask) | kEmpty, std::memory_order_acquire,
                                             std::memory_order_relaxed))
                return true;
        }
        return false;
    }

    enum class Enqueue { kQueued, kDone };

    // Under the lock: completes at once if a permit is stored or notify_waiters ran since `calls`,
    // otherwise joins the list.
    Enqueue enqueue(Node& w, std::uint64_t since_calls, const Waker& waker) {
        std::lock_guard lock(lock_);
        std::uint64_t s = state_.load(std::memory_order_acquire);  // pairs with notify_waiters' bump
        for (;;) {
            if (calls(s) != since_calls) return Enqueue::kDone;
            if ((s & kStateMask) == kNotified) {
                // acquire: pairs with the release CAS that stored the permit.
                if (state_.compare_exchange_weak(s, (s & ~kStateMask) | kEmpty, std::memory_order_acquire,
                                                 std::memory_order_acquire))
                    return Enqueue::kDone;
                continue;
            }
            if ((s & kStateMask) == kWaiting) break;
            // kEmpty -> kWaiting races only with a notify_one storing a permit (CAS decides).
            if (state_.compare_exchange_weak(s, (s & ~kStateMask) | kWaiting, std::memory_order_acquire,
                                             std::memory_order_acquire))
                break;
        }
        w.waker = waker;
        w.state.store(detail::Waiter::State::kQueued, std::memory_order_relaxed);
        waiters_.push_back(w);
        return Enqueue::kQueued;
    }

    // An enabled node's first wait: registers `waker` if the node is still in the list (true), or
    // returns false if a notifier picked it meanwhile.
    bool arm(Node& w, const Waker& waker) noexcept {
        std::lock_guard lock(lock_);  // the node's state and waker change only under it
        if (w.state.load(std::memory_order_relaxed) != detail::Waiter::State::kQueued) return false;
        w.waker = waker;
        return true;
    }

    // A Notified is done with its node without having used a notification (cancelled, or destroyed
    // after notify_one picked it but before it resumed): leave, and pass a notify_one on.
    void leave(Node& w) noexcept {
        using State = detail::Waiter::State;
        // acquire: pairs with the notifier's release store, its last touch of the node.
        State state = w.state.load(std::memory_order_acquire);
        if (state == State::kIdle || (state == State::kNotified && w.pick == Pick::kAll)) return;
        detail::WakeBatch batch;
        std::lock_guard lock(lock_);
        if (state == State::kQueued) state = w.state.load(std::memory_order_relaxed);
        if (state == State::kQueued) {
            waiters_.remove(w);
            w.waker.reset();
            if (waiters_.empty()) {
                const std::uint64_t s = state_.load(std::memory_order_relaxed);
                state_.store((s & ~kStateMask) | kEmpty, std::memory_order_relaxed);  // as in notify_one_locked
            }
        } else if (state == State::kNotified) {
            notify_locked(w.pick, batch);  // picked by notify_one or notify_last: pass it on
        }
        w.state.store(State::kIdle, std::memory_order_relaxed);
    }

    detail::atomic<std::uint64_t> state_{kEmpty};  // detail::atomic: the Relacy model sees it
    detail::SpinLock lock_;
    detail::WaiterList waiters_;  // of Node, under lock_
};

/// The awaitable Notify::notified() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// (so a loop that always finds a permit still lets other tasks run) and try to complete now (a
/// stored permit, a notify_waiters() since creation, or a notification handed to it after
/// enable()), else queue the task's waker; it is a leaf awaitable, so select() and timeout() accept
/// it. Destroying it before it completes leaves the list and passes on a notify_one or notify_last
/// that had picked it.
class WEFT_MUST_AWAIT Notify::Notified final : public detail::BudgetedWait<Notified> {
public:
    /// Made by Notify::notified(); from here on it sees notify_waiters() calls.
    // seq_cst: pairs with notify_waiters' bump (a call after this creation is seen as one).
    explicit Notified(Notify* n) noexcept : notify_(n), calls_(calls(n->state_.load(std::memory_order_seq_cst))) {}
    /// Leaves the list, or passes on a notification it did not use.
    ~Notified() {
        if (!done_) notify_->leave(node_);
    }

    /// Yields nothing; the notification is used.
    void await_resume() noexcept { done_ = true; }

    /// Tokio's Notified::enable: joins the line now, without waiting, so that a notify_one() or
    /// notify_last() from here on can pick this Notified (it is then handed the notification,
    /// which a later co_await finds) rather than store a permit for someone else. Completes it
    /// instead when it is ready already.
    ///
    /// Returns true if the Notified is ready (the co_await will not wait): notify_waiters() was
    /// called since it was created, or a stored permit was consumed now, or it was enabled before
    /// and a notification has reached it since. Returns false once it waits in line. Calling it
    /// again is allowed (it reports readiness again); it registers no waker and never suspends.
    /// notify_waiters() reaches every Notified created before it, enabled or not. Destroyed
    /// unawaited, an enabled Notified leaves the line and passes on a notification it was handed
    /// by notify_one() or notify_last(). From any thread, but not concurrently with its co_await.
    bool enable() noexcept {
        if (try_now()) return true;
        if (queued_) return false;
        return !wait(Waker());
    }

private:
    friend detail::BudgetedWait<Notified>;
    friend struct detail::NotifyTestPeer;

    bool try_now() noexcept {
        if (done_) return true;
        if (queued_) return poll_woken();  // enabled: only a notification handed to the node counts
        if (calls(notify_->state_.load(std::memory_order_acquire)) != calls_ || notify_->try_take_permit()) {
            done_ = true;
            return true;
        }
        return false;
    }
    // Returns true if the task must suspend.
    bool wait(const Waker& waker) noexcept {
        if (queued_) {
            if (notify_->arm(node_, waker)) return true;
            return !poll_woken();  // a notifier picked the node since try_now looked
        }
        if (notify_->enqueue(node_, calls_, waker) == Enqueue::kQueued) {
            queued_ = true;
            return true;
        }
        done_ = true;
        return false;
    }
    // Queued: done only once a notifier handed us the notification (a wake may be spurious).
    bool poll_woken() noexcept {
        // acquire: pairs with the notifier's release store.
        if (node_.state.load(std::memory_order_acquire) != detail::Waiter::State::kNotified) return false;
        node_.state.store(detail::Waiter::State::kIdle, std::memory_order_relaxed);
        done_ = true;
        return true;
    }

    Notify* notify_;
    std::uint64_t calls_;
    Node node_;
    bool queued_ = false;  // the node joined the list (on a wait, or enable())
    bool done_ = false;    // completed: the notification (if any) was used
};

inline Notify::Notified Notify::notified() noexcept { return Notified(this); }

inline void Notify::notify_waiters() noexcept {
    detail::WakeBatch batch;
    std::lock_guard lock(lock_);
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (Node* w = static_cast<Node*>(waiters_.front())) {
        waiters_.remove(*w);
        w->pick = Pick::kAll;
        Waker waker = std::move(w->waker);  // out of the node before it is released
        // release: our last touch of the node; the waiter may destroy it once it sees this.
        w->state.store(detail::Waiter::State::kNotified, std::memory_order_release);
        batch.push(std::move(waker));  // after the store: a wake on the spot must see the outcome
    }
    for (;;) {
        std::uint64_t next = s + kCallUnit;
        if ((s & kStateMask) == kWaiting) next = (next & ~kStateMask) | kEmpty;  // the list is empty now
        // seq_cst, with the seq_cst load in Notified's constructor: a task that creates its
        // Notified and then checks its condition, and a notifier that makes the condition true
        // and then calls notify_waiters(), cannot miss each other.
        if (state_.compare_exchange_weak(s, next, std::memory_order_seq_cst, std::memory_order_relaxed)) break;
    }
}

}  // namespace weft
