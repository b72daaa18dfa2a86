// Semaphore: a count of permits that tasks acquire (waiting, in strict FIFO order) and release.
// What it does is documented on the class (below); these are the implementation notes.
//
// Lock-free: try_acquire, an acquire that finds permits and nobody waiting, a release with nobody
// waiting, available_permits (one CAS on one word; no mutex, no system call). Not lock-free: a task
// that has to wait, a release that finds waiters, close, and a cancelled wait take a SpinLock
// around the waiter list for a few pointer writes (see channels/detail/sender_wait_list.hpp for
// why a short lock is the right tool there).
//
// Algorithm. `state_` is one word: bit 0 closed, bit 1 "waiters are queued", bits 2.. the permits
// available. Invariant: while the waiters bit is set, the permit field is zero: every permit
// released goes to the head of the line first (whole or in part: a waiter's `needed` shrinks),
// and only what is left once the line is empty returns to the count. So a newcomer's fast path,
// which refuses to take permits while the bit is set, can never overtake a waiter.
//
// Who writes `state_`: fast acquires (decrement, only with the bit clear), fast releases
// (increment, only with the bit clear), and, under the lock, the slow paths (set or clear the bit,
// move permits between count and line) and close (the closed bit). Since the bit is set and
// cleared only under the lock, a slow path holding the lock that sees it set knows the permit field
// stays zero: only the closed bit can change under it.
//
// Orders: a successful acquire's CAS is acquire, every release's CAS is release: what a task did
// before releasing (the data a Mutex guards) is visible to the next holder. A handed-off grant
// travels through the waiter node: the granter stores kNotified (release) as its last touch of the
// node, the waiter loads it (acquire). The waker is moved out of the node before that store and
// handed to the WakeBatch after it: past the batch's inline capacity a waker is woken on the spot,
// and a waiter woken before its node says so would take the wake as spurious and sleep for good.
//
// Owned permits (acquire_owned, Tokio's Arc<Semaphore> shape) are the same permits with a
// std::shared_ptr to the semaphore beside them; the wait itself is the borrowed AcquireAwaiter.
// blocking_acquire is the same wait with a thread notifier's waker instead of a task's.
//
// Teardown allocates nothing: close() and the releases that wake waiters collect the wakers in a
// fixed-size WakeBatch, and a node is the awaiter's own member.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include "detail/budgeted_wait.hpp"
#include "detail/ensure_not_worker.hpp"
#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/spin_lock.hpp>
#include <weft/runtime/detail/sync.hpp>
#include <weft/runtime/detail/thread_waker.hpp>
#include <weft/runtime/detail/waiter_list.hpp>
#include <weft/runtime/detail/wake_batch.hpp>

namespace weft {

class Semaphore;

namespace detail {
struct SemaphoreTestPeer;  // the tests count the waiters in line, and the Relacy model drives an acquire's steps, through it
}  // namespace detail

/// Why an acquire failed.
enum class AcquireError {
    closed,      ///< The semaphore was closed.
    no_permits,  ///< try_acquire only: not enough permits now, or others are waiting in line.
};

/// Permits held from a Semaphore; destroying it gives them back (waking waiters they satisfy).
/// Move-only; may be moved between tasks and threads, and must not outlive its Semaphore.
class [[nodiscard]] SemaphorePermit {
public:
    /// Takes over `other`'s permits; `other` holds none.
    SemaphorePermit(SemaphorePermit&& other) noexcept
        : sem_(std::exchange(other.sem_, nullptr)), count_(std::exchange(other.count_, 0)) {}
    /// Gives back what this held, then takes over `other`'s permits.
    SemaphorePermit& operator=(SemaphorePermit&& other) noexcept;
    SemaphorePermit(const SemaphorePermit&) = delete;
    SemaphorePermit& operator=(const SemaphorePermit&) = delete;
    /// Gives the permits back to the semaphore.
    ~SemaphorePermit();

    /// How many permits this holds (0 after forget() or a move).
    std::size_t num_permits() const noexcept { return count_; }
    /// Same as num_permits().
    std::size_t count() const noexcept { return count_; }
    /// Drops the permits without returning them: the semaphore has that many fewer for good.
    void forget() noexcept {
        sem_ = nullptr;
        count_ = 0;
    }

    /// Takes over `other`'s permits: this permit then holds both counts and gives them back
    /// together; `other` holds none. An empty permit (moved from, forgotten) merging a non-empty
    /// one takes over its semaphore.
    /// @throws std::invalid_argument if both hold permits of different semaphores (Tokio panics);
    /// neither is changed then.
    void merge(SemaphorePermit&& other) {
        if (other.count_ == 0 || this == &other) return;
        if (count_ != 0 && sem_ != other.sem_)
            throw std::invalid_argument("weft: SemaphorePermit::merge of permits from different semaphores");
        sem_ = std::exchange(other.sem_, nullptr);
        count_ += std::exchange(other.count_, 0);
    }

    /// Splits `n` of this permit's permits off into a new permit of the same semaphore; this one
    /// keeps the rest (possibly none). Empty, and nothing changes, if it holds fewer than `n`.
    std::optional<SemaphorePermit> split(std::size_t n) noexcept {
        if (n > count_) return std::nullopt;
        count_ -= n;
        return SemaphorePermit(sem_, n);
    }

private:
    friend class Semaphore;
    SemaphorePermit(Semaphore* sem, std::size_t count) noexcept : sem_(sem), count_(count) {}

    Semaphore* sem_;
    std::size_t count_;
};

/// Permits held from a Semaphore owned by std::shared_ptr (Tokio's OwnedSemaphorePermit): like
/// SemaphorePermit, and it keeps the semaphore alive, so it may outlive every other reference
/// (handed to a spawned task, stored in a connection). Destroying it gives the permits back, then
/// drops its reference. Move-only; may be moved between tasks and threads.
class [[nodiscard]] OwnedSemaphorePermit {
public:
    /// Takes over `other`'s permits and semaphore reference; `other` holds neither.
    OwnedSemaphorePermit(OwnedSemaphorePermit&& other) noexcept
        : sem_(std::move(other.sem_)), count_(std::exchange(other.count_, 0)) {}
    /// Gives back what this held (then drops its reference), then takes over `other`'s.
    OwnedSemaphorePermit& operator=(OwnedSemaphorePermit&& other) noexcept;
    OwnedSemaphorePermit(const OwnedSemaphorePermit&) = delete;
    OwnedSemaphorePermit& operator=(const OwnedSemaphorePermit&) = delete;
    /// Gives the permits back to the semaphore, then drops the reference to it.
    ~OwnedSemaphorePermit();

    /// How many permits this holds (0 after forget() or a move).
    std::size_t num_permits() const noexcept { return count_; }
    /// The semaphore these permits come from (empty after forget() or a move).
    const std::shared_ptr<Semaphore>& semaphore() const noexcept { return sem_; }

    /// Drops the permits without returning them (the semaphore has that many fewer for good) and
    /// drops the reference to the semaphore.
    void forget() noexcept {
        sem_.reset();
        count_ = 0;
    }

    /// Takes over `other`'s permits, as SemaphorePermit::merge(); `other` then holds none and no
    /// reference.
    /// @throws std::invalid_argument if both hold permits of different semaphores; neither is
    /// changed then.
    void merge(OwnedSemaphorePermit&& other) {
        if (other.count_ == 0 || this == &other) return;
        if (count_ != 0 && sem_ != other.sem_)
            throw std::invalid_argument("weft: OwnedSemaphorePermit::merge of permits from different semaphores");
        sem_ = std::move(other.sem_);
        count_ += std::exchange(other.count_, 0);
    }

    /// Splits `n` permits off into a new owned permit of the same semaphore (another reference to
    /// it); this one keeps the rest. Empty, and nothing changes, if it holds fewer than `n`.
    std::optional<OwnedSemaphorePermit> split(std::size_t n) noexcept {
        if (n > count_) return std::nullopt;
        count_ -= n;
        return OwnedSemaphorePermit(sem_, n);
    }

private:
    friend class Semaphore;
    OwnedSemaphorePermit(std::shared_ptr<Semaphore> sem, std::size_t count) noexcept
        : sem_(std::move(sem)), count_(count) {}

    std::shared_ptr<Semaphore> sem_;
    std::size_t count_;
};

/// The outcome of an acquire: permits, or why there are none. AcquireResult holds a
/// SemaphorePermit, OwnedAcquireResult an OwnedSemaphorePermit.
///
/// @code
/// auto r = co_await sem.acquire(2);
/// if (!r) { assert(r.is_closed()); return; }
/// SemaphorePermit p = r.take();
/// @endcode
/// A permit left inside is given back when the result is destroyed.
/// @tparam Permit SemaphorePermit or OwnedSemaphorePermit.
template <class Permit>
class [[nodiscard]] BasicAcquireResult {
public:
    /// Holds `permit`.
    BasicAcquireResult(Permit permit) noexcept : permit_(std::move(permit)) {}
    /// No permit, because of `error`.
    BasicAcquireResult(AcquireError error) noexcept : error_(error) {}

    /// True if it holds a permit.
    bool has_value() const noexcept { return permit_.has_value(); }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }
    /// True if the acquire failed because the semaphore is closed.
    bool is_closed() const noexcept { return !has_value() && error_ == AcquireError::closed; }
    /// True if a try_acquire found too few permits (or a line of waiters).
    bool is_no_permits() const noexcept { return !has_value() && error_ == AcquireError::no_permits; }
    /// The reason; only meaningful when !has_value().
    AcquireError error() const noexcept { return error_; }

    /// The permit, moved out (call it once).
    /// @throws std::logic_error when there is none.
    Permit take() {
        if (!permit_) throw std::logic_error("weft: AcquireResult::take without a permit");
        return std::move(*permit_);
    }
    /// The permit; undefined without one (check has_value() first).
    Permit& operator*() & { return *permit_; }
    /// The permit's members; undefined without one.
    Permit* operator->() { return &*permit_; }

private:
    std::optional<Permit> permit_;
    AcquireError error_ = AcquireError::closed;
};

/// What acquire(), try_acquire() and blocking_acquire() yield: a SemaphorePermit, or why not.
using AcquireResult = BasicAcquireResult<SemaphorePermit>;
/// What acquire_owned() and try_acquire_owned() yield: an OwnedSemaphorePermit, or why not.
using OwnedAcquireResult = BasicAcquireResult<OwnedSemaphorePermit>;

/// A count of permits that tasks acquire (waiting, in strict FIFO order) and release.
///
/// @code
/// weft::Semaphore connections(8);
/// auto permit = co_await connections.acquire();     // AcquireResult: a permit, or closed
/// if (!permit) co_return;                           // the semaphore was closed
/// ... use one of the 8 ...                          // the permit gives it back when destroyed
/// @endcode
///
/// Semantics follow Tokio's batch semaphore. Waiters are served strictly in the order they started
/// waiting: a large acquire at the head of the line blocks smaller ones behind it, even when there
/// are enough permits for them (no barging, no starvation of large requests). Permits released
/// while the head cannot be satisfied yet are set aside for it. close() wakes every waiter with
/// AcquireError::closed; acquires fail from then on, releases still count.
///
/// Cancellation: destroying a pending acquire (its task aborted, a timeout or select won) leaves
/// the line; permits already set aside for it, or granted to it but not yet taken, go to the next
/// waiters (or back to the count), so none are lost.
///
/// Owned permits: a semaphore held by std::shared_ptr (Tokio's Arc<Semaphore>) also hands out
/// OwnedSemaphorePermit, which keeps it alive: `Semaphore::acquire_owned(sem)`,
/// `Semaphore::try_acquire_owned(sem)`.
///
/// Threads: shared by reference (or by shared_ptr); acquire() is awaited inside a task run by a
/// weft runtime, blocking_acquire() is called on a thread that is not a runtime worker, every other
/// member works from any thread. Not copyable or movable.
class Semaphore {
public:
    /// The most permits a semaphore can hold (2^61 - 1).
    static constexpr std::size_t kMaxPermits = (std::size_t{1} << 61) - 1;

    /// A semaphore holding `permits` permits.
    /// @throws std::invalid_argument if `permits` exceeds kMaxPermits.
    explicit Semaphore(std::size_t permits) : state_(checked(permits) << kShift) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;
    /// Misuse: destroying a semaphore while tasks wait on it, or while permits are outstanding, is
    /// undefined (they point at it).
    ~Semaphore() = default;

    class WEFT_MUST_AWAIT AcquireAwaiter;
    class WEFT_MUST_AWAIT OwnedAcquireAwaiter;

    /// `co_await sem.acquire(n)`: waits until `n` permits can be taken, in FIFO order with other
    /// waiters, then yields an AcquireResult holding a permit for `n`; or AcquireError::closed if
    /// the semaphore is (or gets) closed. Suspends only when it must wait (or to yield, when the
    /// task's cooperative budget is spent). `n == 0` completes at once unless closed. An acquire
    /// for more permits than will ever be released waits forever (and blocks everyone behind it).
    ///
    /// Cancellation-safe: abandoned (task aborted, timeout or select lost), it leaves the line and
    /// passes on whatever permits it had been given. Await inside a task run by a weft runtime.
    /// @throws std::invalid_argument if `n` exceeds kMaxPermits (from this call).
    AcquireAwaiter acquire(std::size_t n = 1);

    /// Takes `n` permits now if they are available and nobody is waiting (so it never overtakes a
    /// waiter): a permit, or AcquireError::no_permits, or AcquireError::closed. Never suspends;
    /// never throws; from any thread.
    AcquireResult try_acquire(std::size_t n = 1) {
        switch (try_take(n)) {
            case Take::kTaken: return AcquireResult(SemaphorePermit(this, n));
            case Take::kClosed: return AcquireResult(AcquireError::closed);
            case Take::kNoPermits: break;
        }
        return AcquireResult(AcquireError::no_permits);
    }

    /// `co_await Semaphore::acquire_owned(sem, n)`: as acquire(n), through a shared_ptr; yields an
    /// OwnedAcquireResult, whose OwnedSemaphorePermit keeps the semaphore alive (Tokio's
    /// acquire_owned, and acquire_many_owned for n > 1). The awaitable holds a reference too while
    /// it waits. Suspends, fails and is cancellation-safe as acquire(); a leaf awaitable, so
    /// select() and timeout() accept it.
    /// @throws std::invalid_argument if `sem` is empty, or `n` exceeds kMaxPermits (from this
    /// call).
    static OwnedAcquireAwaiter acquire_owned(std::shared_ptr<Semaphore> sem, std::size_t n = 1);

    /// As try_acquire(n), through a shared_ptr: an OwnedSemaphorePermit that keeps the semaphore
    /// alive, or AcquireError::no_permits, or AcquireError::closed (Tokio's try_acquire_owned and
    /// try_acquire_many_owned). Never suspends; from any thread.
    /// @throws std::invalid_argument if `sem` is empty.
    static OwnedAcquireResult try_acquire_owned(std::shared_ptr<Semaphore> sem, std::size_t n = 1) {
        Semaphore& s = non_null(sem);
        switch (s.try_take(n)) {
            case Take::kTaken: return OwnedAcquireResult(OwnedSemaphorePermit(std::move(sem), n));
            case Take::kClosed: return OwnedAcquireResult(AcquireError::closed);
            case Take::kNoPermits: break;
        }
        return OwnedAcquireResult(AcquireError::no_permits);
    }

    /// For plain threads (not runtime workers): blocks the thread until `n` permits can be taken,
    /// in the same FIFO line as the tasks' acquire(), and returns an AcquireResult holding them;
    /// or AcquireError::closed if the semaphore is (or gets) closed. `n == 0` returns at once
    /// unless closed.
    /// @throws std::logic_error on a runtime worker thread (it would stall every task queued
    /// there; use co_await acquire() in a task), std::invalid_argument if `n` exceeds
    /// kMaxPermits, std::bad_alloc if the thread's parker cannot be allocated.
    AcquireResult blocking_acquire(std::size_t n = 1);

    /// Removes up to `n` of the available permits for good (Tokio's forget_permits) and returns
    /// how many it removed: fewer than `n` (possibly 0) when fewer are available. Permits held
    /// by others, and permits already set aside for a waiting acquire, are not touched (with tasks
    /// waiting, none are available). Never blocks; from any thread.
    std::size_t forget_permits(std::size_t n) noexcept {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        for (;;) {
            const std::uint64_t take = std::min<std::uint64_t>(n, s >> kShift);
            if (take == 0) return 0;
            // relaxed: the permits vanish, nobody is handed anything to see.
            if (state_.compare_exchange_weak(s, s - (take << kShift), std::memory_order_relaxed,
                                             std::memory_order_relaxed))
                return static_cast<std::size_t>(take);
        }
    }

    /// Adds `n` permits, waking waiters they satisfy (in order). Works after close() too (the count
    /// grows; nobody waits).
    /// @throws std::overflow_error if the count would exceed kMaxPermits.
    void add_permits(std::size_t n) {
        if (n > kMaxPermits - std::min<std::size_t>(available_permits(), kMaxPermits))
            throw std::overflow_error("weft: Semaphore::add_permits would exceed kMaxPermits");
        release(n);
    }
    /// Returns `n` permits, such as ones taken earlier and detached from their SemaphorePermit
    /// with forget(). Like add_permits, without the overflow check (so it is noexcept): returning
    /// more than was taken is the caller's bug.
    void release(std::size_t n) noexcept;

    /// Closes the semaphore: every waiter wakes with AcquireError::closed, and later acquires fail
    /// at once. Permits set aside for the waiters return to the count; permits held stay valid.
    /// Allocates nothing, however many wait.
    void close() noexcept;

    /// True once close() was called.
    bool is_closed() const noexcept { return state_.load(std::memory_order_acquire) & kClosed; }
    /// Permits available now (approximate while others acquire and release). Zero while tasks
    /// wait.
    std::size_t available_permits() const noexcept {
        return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) >> kShift);
    }

private:
    friend class SemaphorePermit;
    friend class OwnedSemaphorePermit;
    friend struct detail::SemaphoreTestPeer;

    static constexpr std::uint64_t kClosed = 1;
    static constexpr std::uint64_t kWaiters = 2;
    static constexpr int kShift = 2;

    enum class Take { kTaken, kNoPermits, kClosed };
    enum class Enqueue { kTaken, kQueued, kClosed };

    // A waiting acquire. `needed` and `requested` are read and written only under lock_.
    struct Node : detail::Waiter {
        std::uint64_t requested = 0;
        std::uint64_t needed = 0;  // still to be granted; requested - needed is set aside for it
    };

    static std::uint64_t checked(std::size_t n) {
        if (n > kMaxPermits) throw std::invalid_argument("weft: Semaphore permit count exceeds Semaphore::kMaxPermits");
        return static_cast<std::uint64_t>(n);
    }
    static Semaphore& non_null(const std::shared_ptr<Semaphore>& sem) {
        if (!sem) throw std::invalid_argument("weft: Semaphore owned acquire through an empty shared_ptr");
        return *sem;
    }

    Take try_take(std::uint64_t n) noexcept {
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        for (;;) {
            if (s & kClosed) return Take::kClosed;
            if (n == 0) return Take::kTaken;
            if ((s & kWaiters) || (s >> kShift) < n) return Take::kNoPermits;
            // acquire: pairs with the release of whoever returned these permits.
            if (state_.compare_exchange_weak(s, s - (n << kShift), std::memory_order_acquire, std::memory_order_relaxed))
                return Take::kTaken;
        }
    }

    // Slow path of an acquire: under the lock, take the permits if they are free and nobody is in
    // line; otherwise join the line, keeping whatever partial count was free (the line is empty
    // then, so this waiter is its head).
    Enqueue enqueue(Node& w, std::uint64_t n, const Waker& waker) {
        std::lock_guard lock(lock_);
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        std::uint64_t taken = 0;
        for (;;) {
            if (s & kClosed) return Enqueue::kClosed;
            if (s & kWaiters) break;  // the permit field is zero (invariant): join with nothing
            const std::uint64_t available = s >> kShift;
            // acquire, both CASes: pairs with the release of whoever returned the permits.
            if (available >= n) {
                if (state_.compare_exchange_weak(s, s - (n << kShift), std::memory_order_acquire,
                                                 std::memory_order_relaxed))
                    return Enqueue::kTaken;
                continue;
            }
            if (state_.compare_exchange_weak(s, kWaiters, std::memory_order_acquire, std::memory_order_relaxed)) {
                taken = available;
                break;
            }
        }
        w.requested = n;
        w.needed = n - taken;
        w.waker = waker;
        w.state.store(detail::Waiter::State::kQueued, std::memory_order_relaxed);  // only we read it until granted
        waiters_.push_back(w);
        return Enqueue::kQueued;
    }

    // Under the lock: gives `n` permits to the line in order, waking each waiter fully served;
    // what is left once the line is empty goes back to the count (and the waiters bit is cleared).
    void grant_locked(std::uint64_t n, detail::WakeBatch& batch) noexcept {
        while (n > 0) {
            Node* w = static_cast<Node*>(waiters_.front());
            if (!w) break;
            const std::uint64_t give = std::min(n, w->needed);
            w->needed -= give;
            n -= give;
            if (w->needed == 0) {
                waiters_.remove(*w);
                Waker waker = std::move(w->waker);  // out of the node before it is released
                // release: the grant (and our last touch of the node) is published to the waiter.
                w->state.store(detail::Waiter::State::kNotified, std::memory_order_release);
                batch.push(std::move(waker));  // after the store: a wake on the spot must see the outcome
            }
        }
        if (!waiters_.empty()) return;  // n is 0 here
        std::uint64_t s = state_.load(std::memory_order_relaxed);
        // release: pairs with the acquire of the next fast-path taker. Only the closed bit can
        // change under us (we hold the lock, and the fast paths stay off while kWaiters is set).
        while (!state_.compare_exchange_weak(s, (s & ~kWaiters) + (n << kShift), std::memory_order_release,
                                             std::memory_order_relaxed)) {
        }
    }

    // An acquire is done with its node without having taken a grant: it was cancelled, or it is
    // being destroyed after a grant it never used. Hands on whatever it was given.
    void leave(Node& w) noexcept {
        using State = detail::Waiter::State;
        // acquire: pairs with the granter's release store, its last touch of the node.
        State state = w.state.load(std::memory_order_acquire);
        if (state == State::kQueued) {
            detail::WakeBatch batch;
            std::lock_guard lock(lock_);
            state = w.state.load(std::memory_order_relaxed);
            if (state == State::kQueued) {
                waiters_.remove(w);
                w.waker.reset();
                w.state.store(State::kIdle, std::memory_order_relaxed);
                // Even with nothing set aside, this clears the waiters bit if the line is now empty.
                grant_locked(w.requested - w.needed, batch);
                return;
            }
        }
        if (state == State::kNotified) {
            w.state.store(State::kIdle, std::memory_order_relaxed);
            release(w.requested);  // granted in full but never taken: pass it on
        }
    }

    detail::atomic<std::uint64_t> state_;  // detail::atomic: the Relacy model sees it
    detail::SpinLock lock_;
    detail::WaiterList waiters_;  // of Node, under lock_
};

/// The awaitable Semaphore::acquire() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// and try to take the permits now, else join the line; it is a leaf awaitable, so select() and
/// timeout() accept it. Destroyed before handing out its permits, it leaves the line and passes
/// on what it had been given.
class WEFT_MUST_AWAIT Semaphore::AcquireAwaiter final : public detail::BudgetedWait<AcquireAwaiter> {
public:
    /// Made by Semaphore::acquire().
    AcquireAwaiter(Semaphore* sem, std::uint64_t n) noexcept : sem_(sem), n_(n) {}
    /// Leaves the line, or gives back permits granted but not handed out.
    ~AcquireAwaiter() {
        switch (outcome_) {
            case Outcome::kPending: sem_->leave(node_); break;  // cancelled: leave the line
            case Outcome::kGranted: sem_->release(n_); break;   // never handed out
            case Outcome::kClosed:
            case Outcome::kHandedOut: break;
        }
    }

    /// A permit for `n`, or AcquireError::closed.
    AcquireResult await_resume() noexcept {
        if (outcome_ == Outcome::kClosed) return AcquireResult(AcquireError::closed);
        outcome_ = Outcome::kHandedOut;
        return AcquireResult(SemaphorePermit(sem_, static_cast<std::size_t>(n_)));
    }

private:
    friend detail::BudgetedWait<AcquireAwaiter>;
    friend struct detail::SemaphoreTestPeer;
    enum class Outcome { kPending, kGranted, kClosed, kHandedOut };

    bool try_now() noexcept {
        switch (sem_->try_take(n_)) {
            case Take::kTaken: outcome_ = Outcome::kGranted; return true;
            case Take::kClosed: outcome_ = Outcome::kClosed; return true;
            case Take::kNoPermits: break;
        }
        return false;
    }
    // Returns true if the task must suspend.
    bool wait(const Waker& waker) noexcept {
        switch (sem_->enqueue(node_, n_, waker)) {
            case Enqueue::kTaken: outcome_ = Outcome::kGranted; return false;
            case Enqueue::kClosed: outcome_ = Outcome::kClosed; return false;
            case Enqueue::kQueued: break;
        }
        return true;
    }
    // In line: done once a release granted us the permits or close() woke us.
    bool poll_woken() noexcept {
        switch (node_.state.load(std::memory_order_acquire)) {  // pairs with grant_locked / close
            case detail::Waiter::State::kNotified:
                node_.state.store(detail::Waiter::State::kIdle, std::memory_order_relaxed);
                outcome_ = Outcome::kGranted;
                return true;
            case detail::Waiter::State::kClosed:
                outcome_ = Outcome::kClosed;
                return true;
            default:
                return false;  // still in line: a spurious wake (our waker stays registered)
        }
    }

    Semaphore* sem_;
    std::uint64_t n_;
    Node node_;
    Outcome outcome_ = Outcome::kPending;
};

inline Semaphore::AcquireAwaiter Semaphore::acquire(std::size_t n) { return AcquireAwaiter(this, checked(n)); }

/// The awaitable Semaphore::acquire_owned() returns; yields an OwnedAcquireResult. Not movable: it
/// may sit in the waiter list.
///
/// A leaf awaitable wrapping the borrowed AcquireAwaiter (the worker, or select() and timeout(),
/// poll it through this one), so it spends the budget, waits and is cancelled exactly as acquire()
/// does; it holds a reference to the semaphore while it waits.
class WEFT_MUST_AWAIT Semaphore::OwnedAcquireAwaiter final : public detail::Pollable {
public:
    /// Spends one unit of the task's cooperative budget and takes the permits if they are free and
    /// nobody waits.
    bool await_ready() noexcept { return acquire_.await_ready(); }
    /// Joins the line (or yields, with the budget spent); false (do not suspend) if the permits
    /// came meanwhile.
    /// @throws std::logic_error outside a task run by a weft runtime.
    bool await_suspend(std::coroutine_handle<> h) {
        if (!acquire_.await_suspend(h)) return false;
        detail::set_pending_poll(this);  // in place of the acquire's own registration: we poll it
        return true;
    }
    /// Called by the worker (or by select/timeout) after a wake: true once the acquire is done.
    bool poll_ready() noexcept override { return static_cast<detail::Pollable&>(acquire_).poll_ready(); }
    /// An OwnedSemaphorePermit for the permits, or AcquireError::closed.
    OwnedAcquireResult await_resume() noexcept {
        AcquireResult r = acquire_.await_resume();
        if (!r) return OwnedAcquireResult(r.error());
        const std::size_t n = r->num_permits();
        r->forget();  // now carried by the owned permit
        return OwnedAcquireResult(OwnedSemaphorePermit(sem_, n));
    }

private:
    friend class Semaphore;
    OwnedAcquireAwaiter(std::shared_ptr<Semaphore> sem, std::uint64_t n)
        : sem_(std::move(sem)), acquire_(sem_.get(), n) {}

    std::shared_ptr<Semaphore> sem_;  // declared first: outlives the acquire, which may touch the semaphore
    AcquireAwaiter acquire_;
};

inline Semaphore::OwnedAcquireAwaiter Semaphore::acquire_owned(std::shared_ptr<Semaphore> sem, std::size_t n) {
    non_null(sem);
    const std::uint64_t count = checked(n);
    return OwnedAcquireAwaiter(std::move(sem), count);
}

inline AcquireResult Semaphore::blocking_acquire(std::size_t n) {
    detail::ensure_not_worker("Semaphore::blocking_acquire");
    const std::uint64_t count = checked(n);
    switch (try_take(count)) {
        case Take::kTaken: return AcquireResult(SemaphorePermit(this, n));
        case Take::kClosed: return AcquireResult(AcquireError::closed);
        case Take::kNoPermits: break;
    }
    detail::ScopedThreadNotifier notifier;
    Node node;
    switch (enqueue(node, count, notifier->waker())) {
        case Enqueue::kTaken: return AcquireResult(SemaphorePermit(this, n));
        case Enqueue::kClosed: return AcquireResult(AcquireError::closed);
        case Enqueue::kQueued: break;
    }
    for (;;) {
        // acquire: pairs with the granter's (or close's) release store, its last touch of the node.
        switch (node.state.load(std::memory_order_acquire)) {
            case detail::Waiter::State::kNotified: return AcquireResult(SemaphorePermit(this, n));
            case detail::Waiter::State::kClosed: return AcquireResult(AcquireError::closed);
            default: notifier->park(); break;  // a wake may be spurious: look again
        }
    }
}

inline void Semaphore::release(std::size_t count) noexcept {
    const std::uint64_t n = count;
    if (n == 0) return;
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    while (!(s & kWaiters)) {
        // release: pairs with the acquire of whoever takes these permits next.
        if (state_.compare_exchange_weak(s, s + (n << kShift), std::memory_order_release, std::memory_order_relaxed))
            return;
    }
    detail::WakeBatch batch;
    std::lock_guard lock(lock_);
    grant_locked(n, batch);  // the line may have emptied meanwhile: then this just adds to the count
}

inline void Semaphore::close() noexcept {
    detail::WakeBatch batch;
    std::lock_guard lock(lock_);
    state_.fetch_or(kClosed, std::memory_order_release);  // pairs with is_closed()'s acquire
    std::uint64_t returned = 0;
    while (Node* w = static_cast<Node*>(waiters_.front())) {
        waiters_.remove(*w);
        returned += w->requested - w->needed;
        Waker waker = std::move(w->waker);  // out of the node before it is released
        // release: our last touch of the node (see grant_locked).
        w->state.store(detail::Waiter::State::kClosed, std::memory_order_release);
        batch.push(std::move(waker));  // after the store: a wake on the spot must see the outcome
    }
    std::uint64_t s = state_.load(std::memory_order_relaxed);
    // release: the returned permits, as in grant_locked.
    while (!state_.compare_exchange_weak(s, (s & ~kWaiters) + (returned << kShift), std::memory_order_release,
                                         std::memory_order_relaxed)) {
    }
}

inline SemaphorePermit& SemaphorePermit::operator=(SemaphorePermit&& other) noexcept {
    if (this != &other) {
        if (sem_) sem_->release(count_);
        sem_ = std::exchange(other.sem_, nullptr);
        count_ = std::exchange(other.count_, 0);
    }
    return *this;
}

inline SemaphorePermit::~SemaphorePermit() {
    if (sem_) sem_->release(count_);
}

inline OwnedSemaphorePermit& OwnedSemaphorePermit::operator=(OwnedSemaphorePermit&& other) noexcept {
    if (this != &other) {
        if (sem_) sem_->release(count_);  // while our reference still keeps the semaphore alive
        sem_ = std::move(other.sem_);
        count_ = std::exchange(other.count_, 0);
    }
    return *this;
}

inline OwnedSemaphorePermit::~OwnedSemaphorePermit() {
    if (sem_) sem_->release(count_);  // before the member's destructor drops our reference
}

}  // namespace weft
