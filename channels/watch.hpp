/// @file
/// watch::channel: one value that a sender updates and many receivers observe; receivers see the
/// latest value, not every update.
///
/// @code
/// auto [tx, rx] = weft::watch::channel<Config>(initial);
/// tx.send(next_config);                        // fails (value handed back) with no receivers
/// while (auto changed = co_await rx.changed()) {  // false once every sender is gone
///     Config c = *rx.borrow_and_update();      // the latest; marked seen
/// }
/// auto ready = co_await rx.wait_for([](const Config& c) { return c.ready; });  // a Ref, or closed
/// @endcode
///
/// Semantics follow Tokio's watch. Every update bumps a version; each receiver remembers the
/// version it last saw. changed() completes when the current version is newer than that (several
/// updates in between count as one change: the receiver sees only the latest) and marks it seen, so
/// it does not fire twice for one version. Once every sender is gone, changed() reports closed
/// (after reporting a last unseen version, if there is one). Receivers copy (a copy starts with the
/// same seen version); a sender can subscribe() more, and await closed() (every receiver gone).
/// Senders copy too (as the issue tracker asked, and as recent Tokio releases allow): the channel
/// closes for its receivers when the last copy goes.
///
/// Errors: operations that do not wait report "closed" in a result (HasChangedResult, SendResult),
/// as weft's try_ operations do; awaits yield a result too (ChangedResult, WaitForResult). Nothing
/// here throws for a closed channel.
///
/// borrow() returns a read guard (Ref) holding a shared lock on the value, not a copy. Why: T need
/// not be copyable (a watch of a move-only handle works), a large T is not copied on every look, and
/// send_modify() can change the value in place. The cost: a Ref blocks the sender's next update
/// while it lives (the sender spins until it is released), so keep it short and NEVER hold a Ref
/// across a co_await: on a one-worker runtime the sender could then spin forever waiting for a task
/// that cannot run. Copy the value out (`T v = *rx.borrow();`) if you need it longer. A Ref must not
/// outlive the handle it came from.
///
/// Cancellation: changed() marks a version seen only when it completes, so destroying a pending
/// changed() (its task aborted, a timeout won) loses no change and leaves no waiter behind.
///
/// Threads: every member may be called from any thread; changed() and closed() are awaited inside
/// a task run by a weft runtime. Handles are not synchronised objects: use one Sender or Receiver
/// from one task at a time (copy a Receiver to share it).
//
// Lock-free: changed() finding a newer version, has_changed, mark_changed, mark_unchanged,
// receiver_count, and an
// update with nobody waiting (one seq_cst RMW on the version; no mutex, no system call).
// Not lock-free, and why:
//  - the value itself sits behind a reader/writer spin lock (detail/rw_spin_lock.hpp): borrow takes
//    the shared side, an update the exclusive side. A T of any size and type cannot be swapped
//    atomically without allocating per update; the lock is held for a copy or a look.
//  - a receiver with no change to see, and Sender::closed() with receivers left, queue under a
//    SpinLock (detail/event_waiters.hpp); an update takes it only if someone waits.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include "detail/budgeted_wait.hpp"
#include "detail/event_waiters.hpp"
#include <weft/runtime/detail/rw_spin_lock.hpp>
#include "errors.hpp"

namespace weft::watch {

template <class T>
class Sender;
template <class T>
class Receiver;

/// The two ends channel() returns; bind them with `auto [tx, rx] = channel(initial);`.
template <class T>
struct Channel {
    Sender<T> sender;      ///< The first sender (copy it for more).
    Receiver<T> receiver;  ///< The first receiver (it has seen `initial`).
};

/// Creates a channel holding `initial` (version 0, seen by the first receiver). From any thread.
/// @throws std::bad_alloc if the shared state cannot be allocated; anything T's move constructor
///         throws.
template <class T>
Channel<T> channel(T initial);

/// Why changed(), wait_for() or has_changed() reported no change.
enum class RecvError {
    closed,  ///< Every sender is gone (for changed(): and every version was seen).
};

/// The outcome of changed(): a newer version (now marked seen), or closed.
///
/// @code
/// while (auto changed = co_await rx.changed()) { ... }
/// @endcode
class [[nodiscard]] ChangedResult {
public:
    /// A change.
    ChangedResult() noexcept = default;
    /// Closed.
    explicit ChangedResult(RecvError) noexcept : closed_(true) {}
    /// True if there was a change.
    bool ok() const noexcept { return !closed_; }
    /// Same as ok().
    explicit operator bool() const noexcept { return ok(); }
    /// True if every sender is gone and every version was seen.
    bool is_closed() const noexcept { return closed_; }
    /// The reason; only meaningful when !ok().
    RecvError error() const noexcept { return RecvError::closed; }

private:
    bool closed_ = false;
};

/// The outcome of Receiver::has_changed(): whether a newer version is there, or closed (every
/// sender is gone), as Tokio's `Result<bool, RecvError>`. Closed wins: once the senders are gone
/// has_changed() reports closed even if a last version was not seen (changed() still yields it).
///
/// @code
/// auto r = rx.has_changed();
/// if (r.is_closed()) return;          // no sender left
/// if (r.value()) refresh();           // a newer version
/// @endcode
class [[nodiscard]] HasChangedResult {
public:
    /// Open, with `changed` telling whether a newer version is there.
    explicit HasChangedResult(bool changed) noexcept : changed_(changed) {}
    /// Closed.
    explicit HasChangedResult(RecvError) noexcept : closed_(true) {}
    /// True if a sender remains (value() is meaningful).
    bool ok() const noexcept { return !closed_; }
    /// True if every sender is gone.
    bool is_closed() const noexcept { return closed_; }
    /// True if a newer version is there.
    /// @throws std::logic_error if closed (check ok() or is_closed() first).
    bool value() const {
        if (closed_) throw std::logic_error("weft: watch has_changed() value() on a closed channel");
        return changed_;
    }
    /// True if a sender remains and a newer version is there: `if (rx.has_changed())` reads as
    /// "is there something new to look at". Not "ok()": a closed channel converts to false.
    explicit operator bool() const noexcept { return !closed_ && changed_; }
    /// The reason; only meaningful when !ok().
    RecvError error() const noexcept { return RecvError::closed; }

private:
    bool changed_ = false;
    bool closed_ = false;
};
namespace detail {

// The value, its version, and who waits.
//
// `version_` holds (version << 1) | kClosed. A version is bumped (seq_cst RMW) while the writer
// holds the exclusive lock, so a reader holding the shared lock reads a version that belongs to
// the value it sees (borrow_and_update marks exactly what it returns). The closed bit is set once,
// when the sender goes.
//
// Orders: the value is published by the lock (writer's release unlock, reader's acquire
// lock_shared). The bump is seq_cst and is followed by a seq_cst load of the waiter count in
// wake_all; a waiting receiver counts itself (seq_cst) and then loads the version (seq_cst): the
// Dekker pair of detail/event_waiters.hpp, so no change is missed. rx_count_ changes are seq_cst
// for the same pair with Sender::closed() waiters.
template <class T>
class Shared {
public:
    static constexpr std::uint64_t kClosed = 1;
    static constexpr std::uint64_t kStep = 2;

    explicit Shared(T&& initial) : value_(std::move(initial)) {}

    // ---- handles -------------------------------------------------------------------------------

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }  // a holder exists
    void drop_ref() noexcept {
        // acq_rel: the last owner sees every other owner's use before deleting.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    void add_receiver() noexcept {
        rx_count_.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: see the class comment
        add_ref();
    }
    void drop_receiver() noexcept {
        if (rx_count_.fetch_sub(1, std::memory_order_seq_cst) == 1) rx_gone_waiters_.wake_all();
        drop_ref();
    }
    void add_sender() noexcept {
        tx_count_.fetch_add(1, std::memory_order_relaxed);  // a sender exists: the count is not 0
        add_ref();
    }
    // The last sender closes the channel for the receivers.
    void drop_sender() noexcept {
        // acq_rel: the last sender's close then comes after every sender's updates.
        if (tx_count_.fetch_sub(1, std::memory_order_acq_rel) == 1) close();
        drop_ref();
    }
    std::size_t sender_count() const noexcept { return tx_count_.load(std::memory_order_relaxed); }
    void close() noexcept {
        version_.fetch_or(kClosed, std::memory_order_seq_cst);  // seq_cst: see the class comment
        changed_waiters_.wake_all();
    }

    // ---- updating ------------------------------------------------------------------------------

    // Runs `modify(value)` under the exclusive lock; bumps the version if it returns true, then
    // wakes the receivers waiting for a change. If `modify` throws, nothing is bumped and the
    // exception propagates.
    template <class F>
    bool update(F&& modify) {
        {
            lock_.lock();
            struct Unlock {
                weft::detail::RwSpinLock& lock;
                ~Unlock() { lock.unlock(); }
            } unlock{lock_};
            if (!modify(value_)) return false;
            version_.fetch_add(kStep, std::memory_order_seq_cst);  // see the class comment
        }
        changed_waiters_.wake_all();
        return true;
    }

    // ---- observing -----------------------------------------------------------------------------

    // The version without the closed bit, and whether the sender is gone.
    std::uint64_t state() const noexcept { return version_.load(std::memory_order_seq_cst); }
    static std::uint64_t version_of(std::uint64_t state) noexcept { return state >> 1; }
    static bool is_closed(std::uint64_t state) noexcept { return state & kClosed; }

    weft::detail::RwSpinLock& lock() noexcept { return lock_; }
    const T& value() const noexcept { return value_; }

    std::size_t receiver_count() const noexcept { return rx_count_.load(std::memory_order_seq_cst); }

    weft::detail::EventWaiters& changed_waiters() noexcept { return changed_waiters_; }
    weft::detail::EventWaiters& rx_gone_waiters() noexcept { return rx_gone_waiters_; }

private:
    alignas(64) weft::detail::RwSpinLock lock_;
    T value_;
    alignas(64) std::atomic<std::uint64_t> version_{0};
    std::atomic<std::size_t> rx_count_{1};  // the first receiver
    std::atomic<std::size_t> tx_count_{1};  // the first sender
    std::atomic<std::size_t> refs_{2};      // the first sender and the first receiver
    weft::detail::EventWaiters changed_waiters_;
    weft::detail::EventWaiters rx_gone_waiters_;
};

}  // namespace detail

/// A read guard on the channel's value: holds the shared lock until destroyed (see the file
/// documentation: short, never across a co_await, never past the handle it came from).
/// Move-only; not assignable.
template <class T>
class [[nodiscard]] Ref {
public:
    /// Takes over `other`'s lock.
    Ref(Ref&& other) noexcept
        : lock_(std::exchange(other.lock_, nullptr)), value_(other.value_), has_changed_(other.has_changed_) {}
    Ref& operator=(Ref&&) = delete;
    Ref(const Ref&) = delete;
    /// Releases the shared lock (the sender may update again).
    ~Ref() {
        if (lock_) lock_->unlock_shared();
    }

    /// The value.
    const T& operator*() const noexcept { return *value_; }
    /// The value's members.
    const T* operator->() const noexcept { return value_; }
    /// The value.
    const T& get() const noexcept { return *value_; }
    /// Whether this value was newer than what the receiver had seen when it borrowed it (always
    /// false for a Sender's borrow).
    bool has_changed() const noexcept { return has_changed_; }

private:
    friend class Sender<T>;
    friend class Receiver<T>;
    Ref(weft::detail::RwSpinLock& lock, const T& value, bool has_changed) noexcept
        : lock_(&lock), value_(&value), has_changed_(has_changed) {}

    weft::detail::RwSpinLock* lock_;
    const T* value_;
    bool has_changed_;
};

/// The outcome of `co_await rx.wait_for(pred)`: a read guard on the value `pred` accepted, or
/// closed (every sender gone, and `pred` was false for the final value). While it holds a value it
/// holds the value's shared lock, like a Ref: keep it short and never across a co_await.
/// Move-only; not assignable.
template <class T>
class [[nodiscard]] WaitForResult {
public:
    /// True if it holds the value `pred` accepted.
    bool ok() const noexcept { return ref_.has_value(); }
    /// Same as ok().
    explicit operator bool() const noexcept { return ok(); }
    /// True if every sender is gone and `pred` was false for the final value.
    bool is_closed() const noexcept { return !ok(); }
    /// The reason; only meaningful when !ok().
    RecvError error() const noexcept { return RecvError::closed; }
    /// The value; undefined when closed (check ok() first).
    const T& operator*() const noexcept { return **ref_; }
    /// The value's members; undefined when closed.
    const T* operator->() const noexcept { return &**ref_; }
    /// Releases the shared lock now (the result then reports closed; use it no more).
    void release() noexcept { ref_.reset(); }

private:
    friend class Receiver<T>;
    WaitForResult() noexcept = default;
    explicit WaitForResult(Ref<T>&& ref) noexcept : ref_(std::move(ref)) {}

    std::optional<Ref<T>> ref_;
};

/// The sending end. Copy it for more senders on the same channel; when the last copy goes,
/// receivers see closed.
///
/// Updating never suspends, so every member may be called from any thread (closed() is awaited
/// inside a task); one Sender object is used by one task at a time. Updates from several senders
/// are serialised by the value's lock: each is one version. Using a moved-from Sender throws
/// std::logic_error.
template <class T>
class Sender {
public:
    /// Another sender on the same channel (a moved-from one copies as moved-from). Never throws.
    Sender(const Sender& other) noexcept : shared_(other.shared_) {
        if (shared_) shared_->add_sender();
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    Sender(Sender&& other) noexcept : shared_(std::exchange(other.shared_, nullptr)) {}
    /// Drops this sender (as the destructor does) and takes `other`'s channel.
    Sender& operator=(Sender other) noexcept {
        std::swap(shared_, other.shared_);
        return *this;
    }
    /// Drops this sender; the last one closes the channel: receivers' changed() reports closed
    /// (after a last unseen version).
    ~Sender() { release(); }

    /// Replaces the value and notifies the receivers. Fails, handing the value back and leaving
    /// the channel unchanged, when every receiver is gone. Never suspends (waits, spinning, only
    /// for receivers' Refs alive right now).
    /// Throws whatever swapping two T throws (the receivers are then not notified, and the channel
    /// keeps working: a throw from the first move, into a temporary, leaves the value unchanged).
    /// @throws std::logic_error on a moved-from sender.
    SendResult<T> send(T value) {
        if (shared()->receiver_count() == 0) return SendResult<T>(SendError::closed, std::move(value));
        (void)send_replace(std::move(value));  // the old value dies here, outside the lock
        return {};
    }

    /// Replaces the value, notifies the receivers, and returns the old value. Works with no
    /// receivers too (a later subscribe() sees the new value). Spins like send.
    /// Throws whatever swapping two T throws (the receivers are then not notified).
    /// @throws std::logic_error on a moved-from sender.
    T send_replace(T value) {
        shared()->update([&](T& current) {
            std::swap(current, value);
            return true;
        });
        return value;
    }

    /// Modifies the value in place with `modify(T&)` and notifies the receivers (even with none,
    /// and even if `modify` changed nothing). `modify` runs under the exclusive lock: keep it short
    /// and do not touch this channel from it.
    /// Throws whatever `modify` throws (the receivers are not notified; a partial modification
    /// stays).
    /// @throws std::logic_error on a moved-from sender.
    template <class F>
    void send_modify(F&& modify) {
        shared()->update([&](T& current) {
            modify(current);
            return true;
        });
    }

    /// Like send_modify, but notifies only if `modify(T&)` returns true. Returns what it returned.
    /// Throws whatever `modify` throws (nobody is notified).
    /// @throws std::logic_error on a moved-from sender.
    template <class F>
    bool send_if_modified(F&& modify) {
        return shared()->update([&](T& current) { return static_cast<bool>(modify(current)); });
    }

    /// A read guard on the current value (see Ref); spins while an update is in progress.
    /// @throws std::logic_error on a moved-from sender.
    Ref<T> borrow() const {
        shared()->lock().lock_shared();
        return Ref<T>(shared()->lock(), shared()->value(), false);
    }

    /// A new receiver; the current value counts as seen by it.
    /// @throws std::logic_error on a moved-from sender.
    Receiver<T> subscribe() const;

    /// How many receivers exist now (a snapshot).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t receiver_count() const { return shared()->receiver_count(); }
    /// How many senders exist now, this one included (a snapshot).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t sender_count() const { return shared()->sender_count(); }
    /// True when every receiver is gone (send would fail).
    /// @throws std::logic_error on a moved-from sender.
    bool is_closed() const { return receiver_count() == 0; }
    /// True if both send into the same channel.
    bool same_channel(const Sender& other) const noexcept { return shared_ == other.shared_; }

    class WEFT_MUST_AWAIT ClosedAwaiter;
    /// `co_await tx.closed()`: completes once every receiver is gone (at once if none is left, or
    /// after a yield when the task's cooperative budget is spent). Suspends until then.
    /// Cancellation-safe (it takes nothing). Await inside a task run by a weft runtime; the sender
    /// must outlive the await.
    /// @throws std::logic_error on a moved-from sender.
    ClosedAwaiter closed();

private:
    /// @cond
    template <class U>
    friend Channel<U> channel(U);
    /// @endcond
    explicit Sender(detail::Shared<T>* shared) noexcept : shared_(shared) {}
    detail::Shared<T>* shared() const {
        if (!shared_) throw std::logic_error("weft: use of a moved-from watch::Sender");
        return shared_;
    }
    void release() noexcept {
        if (detail::Shared<T>* s = std::exchange(shared_, nullptr)) s->drop_sender();
    }

    detail::Shared<T>* shared_;
};

/// A receiving end: a view of the value and the version it last saw. Copyable (the copy starts
/// with the same seen version).
///
/// Every member may be called from any thread (changed() is awaited inside a task); one Receiver
/// object is used by one task at a time. Using a moved-from Receiver throws std::logic_error.
template <class T>
class Receiver {
    using Shared = detail::Shared<T>;

public:
    /// Another receiver on the same channel, with the same seen version.
    /// @throws std::logic_error if `other` is moved-from.
    Receiver(const Receiver& other) : shared_(other.shared()), seen_(other.seen_) { shared_->add_receiver(); }
    /// Takes `other`'s place; `other` becomes moved-from.
    Receiver(Receiver&& other) noexcept : shared_(std::exchange(other.shared_, nullptr)), seen_(other.seen_) {}
    /// Drops this receiver (as the destructor does) and takes `other`'s place.
    Receiver& operator=(Receiver other) noexcept {
        std::swap(shared_, other.shared_);
        std::swap(seen_, other.seen_);
        return *this;
    }
    /// Drops this receiver; the last one gone completes the sender's closed().
    ~Receiver() {
        if (shared_) shared_->drop_receiver();
    }

    class WEFT_MUST_AWAIT ChangedAwaiter;

    /// `co_await rx.changed()`: completes when the current version is newer than the one this
    /// receiver last saw, and marks it seen (several updates since count as one change). Yields a
    /// ChangedResult: ok, or RecvError::closed once the sender is gone and the current version was
    /// seen. Suspends until then (or yields first, when the task's cooperative budget is spent).
    ///
    /// Cancellation-safe: the version is marked seen only when it completes, so an abandoned
    /// changed() (task aborted, timeout or select lost) loses no change. Await inside a task run by
    /// a weft runtime; the receiver must stay in place (not moved or destroyed) while it waits.
    /// @throws std::logic_error on a moved-from receiver.
    ChangedAwaiter changed();

    /// A read guard on the current value, without marking it seen (see Ref); spins while an update
    /// is in progress.
    /// @throws std::logic_error on a moved-from receiver.
    Ref<T> borrow() const {
        Shared* s = shared();
        s->lock().lock_shared();
        // Stable while we hold the shared lock: versions are bumped under the exclusive one.
        const bool changed = Shared::version_of(s->state()) != seen_;
        return Ref<T>(s->lock(), s->value(), changed);
    }
    /// A read guard on the current value, marking its version seen.
    /// @throws std::logic_error on a moved-from receiver.
    Ref<T> borrow_and_update() {
        Shared* s = shared();
        s->lock().lock_shared();
        const std::uint64_t version = Shared::version_of(s->state());
        const bool changed = version != seen_;
        seen_ = version;
        return Ref<T>(s->lock(), s->value(), changed);
    }

    /// Whether the current version is newer than the one this receiver last saw (or mark_changed()
    /// was called), or closed once every sender is gone, as Tokio's has_changed: see
    /// HasChangedResult. Does not mark anything seen.
    /// @throws std::logic_error on a moved-from receiver.
    HasChangedResult has_changed() const {
        const std::uint64_t state = shared()->state();
        if (Shared::is_closed(state)) return HasChangedResult(RecvError::closed);
        return HasChangedResult(Shared::version_of(state) != seen_);
    }
    /// Marks the current version seen, without looking at the value.
    /// @throws std::logic_error on a moved-from receiver.
    void mark_unchanged() { seen_ = Shared::version_of(shared()->state()); }
    /// Marks the current value as not seen: has_changed() and borrow().has_changed() say true and
    /// changed() completes at once (once), whether or not a new value was sent. Useful to have a
    /// new receiver handle the current value through its usual changed() loop.
    /// @throws std::logic_error on a moved-from receiver.
    void mark_changed() {
        (void)shared();
        seen_ = kUnseen;
    }

    template <class Pred>
    class WEFT_MUST_AWAIT WaitFor;
    /// `co_await rx.wait_for(pred)`: the first value for which `pred(const T&)` is true, as a
    /// WaitForResult holding a read guard (a Ref) on it; or closed, once every sender is gone and
    /// `pred` was false for the final value. `pred` is tried on the current value first (even if
    /// already seen), then on each newer version; every version it looks at is marked seen. Suspends
    /// in between (or yields first, when the task's cooperative budget is spent).
    ///
    /// `pred` runs under the value's shared lock: keep it short, do not touch the channel from it.
    /// If it throws, the exception comes out of the co_await (the version it looked at stays
    /// unseen). The result holds the lock like a Ref: drop it before the next co_await.
    ///
    /// Cancellation-safe: an abandoned wait_for takes nothing and holds no lock. Await inside a task
    /// run by a weft runtime; the receiver and `pred` must stay in place while it waits.
    /// @throws std::logic_error on a moved-from receiver.
    template <class Pred>
    WaitFor<std::decay_t<Pred>> wait_for(Pred&& pred) {
        return WaitFor<std::decay_t<Pred>>(this, std::forward<Pred>(pred));
    }

    /// True once every sender is gone.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_closed() const { return Shared::is_closed(shared()->state()); }
    /// True if both observe the same channel.
    bool same_channel(const Receiver& other) const noexcept { return shared_ == other.shared_; }

private:
    friend class Sender<T>;
    /// @cond
    template <class U>
    friend Channel<U> channel(U);
    /// @endcond
    Receiver(Shared* shared, std::uint64_t seen) noexcept : shared_(shared), seen_(seen) {}
    Shared* shared() const {
        if (!shared_) throw std::logic_error("weft: use of a moved-from watch::Receiver");
        return shared_;
    }
    // For WaitFor: results from a shared lock it already holds, or closed.
    static WaitForResult<T> found(Shared* s, bool changed) noexcept {
        return WaitForResult<T>(Ref<T>(s->lock(), s->value(), changed));
    }
    static WaitForResult<T> closed_result() noexcept { return WaitForResult<T>(); }

    // A seen version no real version equals (versions have 63 bits): mark_changed().
    static constexpr std::uint64_t kUnseen = ~std::uint64_t{0};

    Shared* shared_;
    std::uint64_t seen_;  // the version this receiver last saw
};

/// The awaitable Receiver::changed() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// and check for a newer version, else queue the task's waker; it is a leaf awaitable, so select()
/// and timeout() accept it. Destroying it before it completes leaves the wait and marks nothing.
template <class T>
class WEFT_MUST_AWAIT Receiver<T>::ChangedAwaiter final : public weft::detail::BudgetedWait<ChangedAwaiter> {
public:
    /// Made by Receiver::changed().
    /// @throws std::logic_error on a moved-from receiver.
    explicit ChangedAwaiter(Receiver* rx) : rx_(rx), shared_(rx->shared()) {}
    /// Leaves the wait list if still queued.
    ~ChangedAwaiter() { shared_->changed_waiters().remove(node_); }

    /// A change (now marked seen), or closed.
    ChangedResult await_resume() const noexcept { return result_; }

private:
    friend weft::detail::BudgetedWait<ChangedAwaiter>;

    // Completes if there is a newer version (marking it seen) or the sender is gone.
    bool try_now() noexcept {
        const std::uint64_t state = shared_->state();
        if (Shared::version_of(state) != rx_->seen_) {
            rx_->seen_ = Shared::version_of(state);
            return true;
        }
        if (!Shared::is_closed(state)) return false;
        result_ = ChangedResult(RecvError::closed);
        return true;
    }
    // Called after try_now found nothing. Returns true if the task must suspend (queued); false
    // once there is a result.
    bool wait(const Waker& waker) noexcept {
        for (;;) {
            const std::uint64_t seen = rx_->seen_;
            const bool queued = shared_->changed_waiters().wait(node_, waker, [&] {
                const std::uint64_t state = shared_->state();  // seq_cst: see detail::Shared
                return Shared::version_of(state) != seen || Shared::is_closed(state);
            });
            if (queued) return true;
            if (try_now()) return false;
        }
    }

    Receiver* rx_;
    Shared* shared_;
    weft::detail::Waiter node_;
    ChangedResult result_;
};

template <class T>
typename Receiver<T>::ChangedAwaiter Receiver<T>::changed() {
    return ChangedAwaiter(this);
}

/// The awaitable Receiver::wait_for() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// and try `pred` on the value if it is new to this wait, else queue the task's waker; it is a leaf
/// awaitable, so select() and timeout() accept it. Destroying it before it completes leaves the
/// wait and releases the lock it may hold.
template <class T>
template <class Pred>
class WEFT_MUST_AWAIT Receiver<T>::WaitFor final : public weft::detail::BudgetedWait<WaitFor<Pred>> {
public:
    /// Made by Receiver::wait_for().
    /// @throws std::logic_error on a moved-from receiver.
    WaitFor(Receiver* rx, Pred pred) : rx_(rx), shared_(rx->shared()), pred_(std::move(pred)) {}
    /// Leaves the wait list if still queued; releases the value's lock if it holds it.
    ~WaitFor() {
        shared_->changed_waiters().remove(node_);
        if (locked_) shared_->lock().unlock_shared();
    }

    /// The value `pred` accepted (its lock passes to the result), or closed.
    /// Throws whatever `pred` threw while the task was suspended.
    WaitForResult<T> await_resume() {
        if (error_) std::rethrow_exception(error_);
        if (!std::exchange(locked_, false)) return Receiver::closed_result();
        return Receiver::found(shared_, changed_);
    }

private:
    friend weft::detail::BudgetedWait<WaitFor>;

    // Tries `pred` on the value, the first time whatever its version, then only on a version this
    // wait has not looked at. Completes if it holds (keeping the shared lock) or the channel closed.
    bool try_now() {
        if (!first_) {
            const std::uint64_t state = shared_->state();
            if (Shared::version_of(state) == rx_->seen_ && !Shared::is_closed(state)) return false;
        }
        shared_->lock().lock_shared();
        // Stable under the shared lock: versions are bumped under the exclusive one; a closed bit
        // seen here comes after every update, so this value is the final one.
        const std::uint64_t state = shared_->state();
        bool accepted;
        try {
            accepted = static_cast<bool>(pred_(shared_->value()));
        } catch (...) {
            shared_->lock().unlock_shared();
            throw;
        }
        first_ = false;
        changed_ = Shared::version_of(state) != rx_->seen_;
        rx_->seen_ = Shared::version_of(state);
        if (accepted) {
            locked_ = true;
            return true;
        }
        shared_->lock().unlock_shared();
        return Shared::is_closed(state);
    }
    // Called after try_now found nothing. Returns true if the task must suspend (queued); false
    // once there is a result.
    bool wait(const Waker& waker) {
        for (;;) {
            const std::uint64_t seen = rx_->seen_;
            const bool queued = shared_->changed_waiters().wait(node_, waker, [&] {
                const std::uint64_t state = shared_->state();  // seq_cst: see detail::Shared
                return Shared::version_of(state) != seen || Shared::is_closed(state);
            });
            if (queued) return true;
            if (try_now()) return false;
        }
    }
    bool poll_failed() noexcept {
        error_ = std::current_exception();  // pred threw: rethrown by await_resume
        return true;
    }

    Receiver* rx_;
    Shared* shared_;
    Pred pred_;
    weft::detail::Waiter node_;
    bool first_ = true;     // pred has not looked at any value yet
    bool locked_ = false;   // holding the shared lock on the value pred accepted
    bool changed_ = false;  // that value was newer than what the receiver had seen
    std::exception_ptr error_;
};

/// The awaitable Sender::closed() returns. Not copyable or movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// and check the receivers, else queue the task's waker: a loop on closed() of a closed channel
/// yields to the other tasks once the budget is spent. A leaf awaitable: select() and timeout()
/// accept it.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ClosedAwaiter final : public weft::detail::BudgetedWait<ClosedAwaiter> {
public:
    /// Made by Sender::closed().
    explicit ClosedAwaiter(detail::Shared<T>* shared) noexcept : shared_(shared) {}
    /// Leaves the wait list if still queued.
    ~ClosedAwaiter() { shared_->rx_gone_waiters().remove(node_); }

    /// Yields nothing.
    void await_resume() const noexcept {}

private:
    friend weft::detail::BudgetedWait<ClosedAwaiter>;

    bool try_now() const noexcept { return shared_->receiver_count() == 0; }
    // Returns true if the task must suspend.
    bool wait(const Waker& waker) noexcept {
        // receiver_count is a seq_cst load: the Dekker pair with drop_receiver.
        return shared_->rx_gone_waiters().wait(node_, waker, [&] { return shared_->receiver_count() == 0; });
    }

    detail::Shared<T>* shared_;
    weft::detail::Waiter node_;
};

template <class T>
typename Sender<T>::ClosedAwaiter Sender<T>::closed() {
    return ClosedAwaiter(shared());
}

template <class T>
Receiver<T> Sender<T>::subscribe() const {
    detail::Shared<T>* s = shared();
    s->add_receiver();
    return Receiver<T>(s, detail::Shared<T>::version_of(s->state()));
}

template <class T>
Channel<T> channel(T initial) {
    auto* shared = new detail::Shared<T>(std::move(initial));
    return Channel<T>{Sender<T>(shared), Receiver<T>(shared, 0)};
}

}  // namespace weft::watch
