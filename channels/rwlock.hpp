// RwLock<T>: an asynchronous reader-writer lock around a value: many readers, or one writer. What it
// does is documented on the class (below); these are the implementation notes.
//
// Why a semaphore: as in Tokio, the lock is a FIFO Semaphore holding max_readers permits. A read
// takes one, a write takes them all. The semaphore's strict FIFO order is what makes the lock fair
// and writer-preferring: a writer at the head of the line is set aside every permit released, and
// no later reader can overtake it (the semaphore's fast path refuses while anyone waits). Its
// cancellation (a waiter that leaves passes on what it was set aside) carries over unchanged.
//
// Lock-free: an uncontended read, write, try_read or try_write, and an unlock with nobody waiting
// (one CAS on the semaphore's word). A task that has to wait, and an unlock that hands permits to
// waiters, take the semaphore's short SpinLock (see semaphore.hpp).
//
// Guards hold their permits in detail::RwLockPermit rather than a SemaphorePermit, so that a write
// guard can be downgraded (give back all permits but one) in place.
//
// Orders: those of the semaphore. An acquire is an acquire CAS (or a handed-off grant read with
// acquire), a release a release CAS: what a writer did is visible to every later holder.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "semaphore.hpp"
#include <weft/runtime/detail/context.hpp>

namespace weft {

template <class T>
class RwLock;
template <class T>
class RwLockReadGuard;
template <class T>
class RwLockWriteGuard;
template <class T>
class RwLockMappedWriteGuard;
template <class T, class U>
class OwnedRwLockReadGuard;
template <class T>
class OwnedRwLockWriteGuard;
template <class T, class U>
class OwnedRwLockMappedWriteGuard;
template <class Guard, class Source>
class RwLockAwaiter;

namespace detail {

// Permits held from a RwLock's semaphore: 1 for a reader, max_readers for a writer. Gives them
// back when destroyed.
class RwLockPermit {
public:
    RwLockPermit() noexcept = default;
    RwLockPermit(Semaphore* sem, std::uint32_t count) noexcept : sem_(sem), count_(count) {}
    RwLockPermit(RwLockPermit&& other) noexcept
        : sem_(std::exchange(other.sem_, nullptr)), count_(std::exchange(other.count_, 0)) {}
    RwLockPermit& operator=(RwLockPermit&& other) noexcept {
        if (this != &other) {
            release();
            sem_ = std::exchange(other.sem_, nullptr);
            count_ = std::exchange(other.count_, 0);
        }
        return *this;
    }
    RwLockPermit(const RwLockPermit&) = delete;
    RwLockPermit& operator=(const RwLockPermit&) = delete;
    ~RwLockPermit() { release(); }

    // A writer's permits become a reader's: all but one go back (waking readers queued first).
    void downgrade() noexcept {
        if (sem_ && count_ > 1) {
            sem_->release(count_ - 1);
            count_ = 1;
        }
    }

    // Takes over the permit of an acquire that cannot fail (a RwLock never closes its semaphore).
    static RwLockPermit adopt(Semaphore& sem, AcquireResult result) noexcept {
        SemaphorePermit& permit = *result;
        const auto count = static_cast<std::uint32_t>(permit.count());
        permit.forget();
        return RwLockPermit(&sem, count);
    }

private:
    void release() noexcept {
        if (sem_) sem_->release(count_);
        sem_ = nullptr;
        count_ = 0;
    }

    Semaphore* sem_ = nullptr;
    std::uint32_t count_ = 0;
};

template <class F, class Arg>
using mapped_ref_t = std::invoke_result_t<F&, Arg>;

}  // namespace detail

/// Passed first to a RwLock constructor: how many readers may hold the lock at once (Tokio's
/// `with_max_readers`). Between 1 and RwLock<T>::kMaxReaders.
struct RwLockMaxReaders {
    std::uint32_t value;  ///< The most readers at once.
};

/// Shared (read) access to a RwLock's value, or to a part of it (see map()); releases the read
/// lock when destroyed. Move-only. May be held across suspension points and moved between tasks
/// and threads; must not outlive its RwLock.
/// @tparam T the type it gives access to (the lock's value, or the part a map() chose).
template <class T>
class [[nodiscard]] RwLockReadGuard {
public:
    /// Takes over `other`'s read lock; `other` no longer releases it.
    RwLockReadGuard(RwLockReadGuard&&) noexcept = default;
    /// Releases what this guard held, then takes over `other`'s read lock.
    RwLockReadGuard& operator=(RwLockReadGuard&&) noexcept = default;

    /// The value (undefined on a moved-from guard).
    const T& operator*() const noexcept { return *value_; }
    /// The value's members (undefined on a moved-from guard).
    const T* operator->() const noexcept { return value_; }
    /// The value (undefined on a moved-from guard).
    const T& get() const noexcept { return *value_; }

    /// A guard to a part of the value, keeping the same read lock: `f(const T&)` must return a
    /// `const U&` that stays valid while the lock is held (a member, an element). `guard` is
    /// consumed; if `f` throws, the exception propagates and the read lock is released.
    ///
    /// @code
    /// auto g = co_await lock.read();                                    // RwLockReadGuard<Config>
    /// auto name = RwLockReadGuard<Config>::map(std::move(g), [](const Config& c) -> const std::string& {
    ///     return c.name;
    /// });                                                               // RwLockReadGuard<std::string>
    /// @endcode
    template <class F>
    static auto map(RwLockReadGuard guard, F&& f) {
        using R = detail::mapped_ref_t<F, const T&>;
        static_assert(std::is_lvalue_reference_v<R>, "weft: RwLockReadGuard::map: f must return a reference into the value");
        using U = std::remove_cvref_t<R>;
        const U& part = std::invoke(f, *guard.value_);
        return RwLockReadGuard<U>(std::move(guard.permit_), &part);
    }

private:
    template <class>
    friend class RwLockReadGuard;
    template <class>
    friend class RwLockWriteGuard;
    template <class, class>
    friend class RwLockAwaiter;
    template <class>
    friend class RwLock;

    RwLockReadGuard(detail::RwLockPermit permit, const T* value) noexcept
        : permit_(std::move(permit)), value_(value) {}
    template <class L>
    RwLockReadGuard(RwLock<L>* lock, detail::RwLockPermit permit) noexcept
        : permit_(std::move(permit)), value_(&lock->value_) {}

    detail::RwLockPermit permit_;  // its destructor is the unlock
    const T* value_;
};

/// Exclusive (write) access to a RwLock's value, or to a part of it (see map()); releases the
/// write lock when destroyed. Move-only. May be held across suspension points and moved between
/// tasks and threads; must not outlive its RwLock.
/// @tparam T the type it gives access to (the part a RwLockWriteGuard::map() chose).
template <class T>
class [[nodiscard]] RwLockMappedWriteGuard {
public:
    /// Takes over `other`'s write lock; `other` no longer releases it.
    RwLockMappedWriteGuard(RwLockMappedWriteGuard&&) noexcept = default;
    /// Releases what this guard held, then takes over `other`'s write lock.
    RwLockMappedWriteGuard& operator=(RwLockMappedWriteGuard&&) noexcept = default;

    /// The value (undefined on a moved-from guard).
    T& operator*() const noexcept { return *value_; }
    /// The value's members (undefined on a moved-from guard).
    T* operator->() const noexcept { return value_; }
    /// The value (undefined on a moved-from guard).
    T& get() const noexcept { return *value_; }

    /// A guard to a part of this part, keeping the same write lock: `f(T&)` returns a `U&`. As
    /// RwLockWriteGuard::map().
    template <class F>
    static auto map(RwLockMappedWriteGuard guard, F&& f) {
        using R = detail::mapped_ref_t<F, T&>;
        static_assert(std::is_lvalue_reference_v<R>,
                      "weft: RwLockMappedWriteGuard::map: f must return a reference into the value");
        using U = std::remove_reference_t<R>;
        U& part = std::invoke(f, *guard.value_);
        return RwLockMappedWriteGuard<U>(std::move(guard.permit_), &part);
    }

private:
    template <class>
    friend class RwLockMappedWriteGuard;
    template <class>
    friend class RwLockWriteGuard;

    RwLockMappedWriteGuard(detail::RwLockPermit permit, T* value) noexcept : permit_(std::move(permit)), value_(value) {}

    detail::RwLockPermit permit_;  // its destructor is the unlock
    T* value_;
};

/// Exclusive (write) access to a RwLock's value; releases the write lock when destroyed.
/// Move-only. May be held across suspension points and moved between tasks and threads; must not
/// outlive its RwLock.
template <class T>
class [[nodiscard]] RwLockWriteGuard {
public:
    /// Takes over `other`'s write lock; `other` no longer releases it.
    RwLockWriteGuard(RwLockWriteGuard&&) noexcept = default;
    /// Releases what this guard held, then takes over `other`'s write lock.
    RwLockWriteGuard& operator=(RwLockWriteGuard&&) noexcept = default;

    /// The value (undefined on a moved-from guard).
    T& operator*() const noexcept { return *value_; }
    /// The value's members (undefined on a moved-from guard).
    T* operator->() const noexcept { return value_; }
    /// The value (undefined on a moved-from guard).
    T& get() const noexcept { return *value_; }

    /// A guard to a part of the value, keeping the same write lock: `f(T&)` must return a `U&`
    /// that stays valid while the lock is held. `guard` is consumed; if `f` throws, the exception
    /// propagates and the write lock is released. The mapped guard cannot be downgraded.
    template <class F>
    static auto map(RwLockWriteGuard guard, F&& f) {
        using R = detail::mapped_ref_t<F, T&>;
        static_assert(std::is_lvalue_reference_v<R>, "weft: RwLockWriteGuard::map: f must return a reference into the value");
        using U = std::remove_reference_t<R>;
        U& part = std::invoke(f, *guard.value_);
        return RwLockMappedWriteGuard<U>(std::move(guard.permit_), &part);
    }

    /// Turns the write lock into a read lock without letting a writer in between: the readers
    /// waiting at the head of the line (up to the first queued writer) get in alongside. Never
    /// suspends; never throws.
    static RwLockReadGuard<T> downgrade(RwLockWriteGuard guard) noexcept {
        guard.permit_.downgrade();
        return RwLockReadGuard<T>(std::move(guard.permit_), guard.value_);
    }

private:
    template <class, class>
    friend class RwLockAwaiter;
    template <class>
    friend class RwLock;

    template <class L>
    RwLockWriteGuard(RwLock<L>* lock, detail::RwLockPermit permit) noexcept
        : permit_(std::move(permit)), value_(&lock->value_) {}

    detail::RwLockPermit permit_;  // its destructor is the unlock
    T* value_;
};

/// Shared (read) access to the value of a RwLock held by std::shared_ptr, or to a part of it:
/// keeps the lock alive (a reference on the shared_ptr) and releases the read lock when destroyed.
/// Move-only. May be held across suspension points and moved between tasks and threads.
/// @tparam T the lock's value type.
/// @tparam U the type it gives access to (T, or the part a map() chose).
template <class T, class U = T>
class [[nodiscard]] OwnedRwLockReadGuard {
public:
    /// Takes over `other`'s read lock and lock reference.
    OwnedRwLockReadGuard(OwnedRwLockReadGuard&&) noexcept = default;
    /// Releases what this guard held (the lock first, then its reference on the RwLock), then
    /// takes over `other`'s.
    OwnedRwLockReadGuard& operator=(OwnedRwLockReadGuard&& other) noexcept {
        if (this != &other) {
            permit_ = std::move(other.permit_);  // unlocks while our reference still keeps the lock alive
            lock_ = std::move(other.lock_);
            value_ = other.value_;
        }
        return *this;
    }

    /// The value (undefined on a moved-from guard).
    const U& operator*() const noexcept { return *value_; }
    /// The value's members (undefined on a moved-from guard).
    const U* operator->() const noexcept { return value_; }
    /// The value (undefined on a moved-from guard).
    const U& get() const noexcept { return *value_; }
    /// The RwLock this guard keeps alive (empty on a moved-from guard).
    const std::shared_ptr<RwLock<T>>& rwlock() const noexcept { return lock_; }

    /// A guard to a part of the value, keeping the same read lock and lock reference: as
    /// RwLockReadGuard::map().
    template <class F>
    static auto map(OwnedRwLockReadGuard guard, F&& f) {
        using R = detail::mapped_ref_t<F, const U&>;
        static_assert(std::is_lvalue_reference_v<R>,
                      "weft: OwnedRwLockReadGuard::map: f must return a reference into the value");
        using V = std::remove_cvref_t<R>;
        const V& part = std::invoke(f, *guard.value_);
        return OwnedRwLockReadGuard<T, V>(std::move(guard.lock_), std::move(guard.permit_), &part);
    }

private:
    template <class, class>
    friend class OwnedRwLockReadGuard;
    template <class>
    friend class OwnedRwLockWriteGuard;
    template <class, class>
    friend class RwLockAwaiter;
    template <class>
    friend class RwLock;

    OwnedRwLockReadGuard(std::shared_ptr<RwLock<T>> lock, detail::RwLockPermit permit, const U* value) noexcept
        : lock_(std::move(lock)), permit_(std::move(permit)), value_(value) {}
    OwnedRwLockReadGuard(std::shared_ptr<RwLock<T>> lock, detail::RwLockPermit permit) noexcept
        : lock_(std::move(lock)), permit_(std::move(permit)), value_(&lock_->value_) {}

    std::shared_ptr<RwLock<T>> lock_;  // declared first: destroyed after the permit goes back
    detail::RwLockPermit permit_;
    const U* value_;
};

/// Exclusive (write) access to a part of the value of a RwLock held by std::shared_ptr (made by
/// OwnedRwLockWriteGuard::map()): keeps the lock alive and releases the write lock when destroyed.
/// Move-only. May be held across suspension points and moved between tasks and threads.
/// @tparam T the lock's value type.
/// @tparam U the type it gives access to.
template <class T, class U = T>
class [[nodiscard]] OwnedRwLockMappedWriteGuard {
public:
    /// Takes over `other`'s write lock and lock reference.
    OwnedRwLockMappedWriteGuard(OwnedRwLockMappedWriteGuard&&) noexcept = default;
    /// Releases what this guard held (the lock first, then its reference on the RwLock), then
    /// takes over `other`'s.
    OwnedRwLockMappedWriteGuard& operator=(OwnedRwLockMappedWriteGuard&& other) noexcept {
        if (this != &other) {
            permit_ = std::move(other.permit_);
            lock_ = std::move(other.lock_);
            value_ = other.value_;
        }
        return *this;
    }

    /// The value (undefined on a moved-from guard).
    U& operator*() const noexcept { return *value_; }
    /// The value's members (undefined on a moved-from guard).
    U* operator->() const noexcept { return value_; }
    /// The value (undefined on a moved-from guard).
    U& get() const noexcept { return *value_; }
    /// The RwLock this guard keeps alive (empty on a moved-from guard).
    const std::shared_ptr<RwLock<T>>& rwlock() const noexcept { return lock_; }

    /// A guard to a part of this part, keeping the same write lock: as RwLockWriteGuard::map().
    template <class F>
    static auto map(OwnedRwLockMappedWriteGuard guard, F&& f) {
        using R = detail::mapped_ref_t<F, U&>;
        static_assert(std::is_lvalue_reference_v<R>,
                      "weft: OwnedRwLockMappedWriteGuard::map: f must return a reference into the value");
        using V = std::remove_reference_t<R>;
        V& part = std::invoke(f, *guard.value_);
        return OwnedRwLockMappedWriteGuard<T, V>(std::move(guard.lock_), std::move(guard.permit_), &part);
    }

private:
    template <class, class>
    friend class OwnedRwLockMappedWriteGuard;
    template <class>
    friend class OwnedRwLockWriteGuard;

    OwnedRwLockMappedWriteGuard(std::shared_ptr<RwLock<T>> lock, detail::RwLockPermit permit, U* value) noexcept
        : lock_(std::move(lock)), permit_(std::move(permit)), value_(value) {}

    std::shared_ptr<RwLock<T>> lock_;  // declared first: destroyed after the permit goes back
    detail::RwLockPermit permit_;
    U* value_;
};

/// Exclusive (write) access to the value of a RwLock held by std::shared_ptr: keeps the lock alive
/// and releases the write lock when destroyed. Move-only. May be held across suspension points and
/// moved between tasks and threads.
template <class T>
class [[nodiscard]] OwnedRwLockWriteGuard {
public:
    /// Takes over `other`'s write lock and lock reference.
    OwnedRwLockWriteGuard(OwnedRwLockWriteGuard&&) noexcept = default;
    /// Releases what this guard held (the lock first, then its reference on the RwLock), then
    /// takes over `other`'s.
    OwnedRwLockWriteGuard& operator=(OwnedRwLockWriteGuard&& other) noexcept {
        if (this != &other) {
            permit_ = std::move(other.permit_);
            lock_ = std::move(other.lock_);
            value_ = other.value_;
        }
        return *this;
    }

    /// The value (undefined on a moved-from guard).
    T& operator*() const noexcept { return *value_; }
    /// The value's members (undefined on a moved-from guard).
    T* operator->() const noexcept { return value_; }
    /// The value (undefined on a moved-from guard).
    T& get() const noexcept { return *value_; }
    /// The RwLock this guard keeps alive (empty on a moved-from guard).
    const std::shared_ptr<RwLock<T>>& rwlock() const noexcept { return lock_; }

    /// A guard to a part of the value, keeping the same write lock and lock reference: as
    /// RwLockWriteGuard::map().
    template <class F>
    static auto map(OwnedRwLockWriteGuard guard, F&& f) {
        using R = detail::mapped_ref_t<F, T&>;
        static_assert(std::is_lvalue_reference_v<R>,
                      "weft: OwnedRwLockWriteGuard::map: f must return a reference into the value");
        using U = std::remove_reference_t<R>;
        U& part = std::invoke(f, *guard.value_);
        return OwnedRwLockMappedWriteGuard<T, U>(std::move(guard.lock_), std::move(guard.permit_), &part);
    }

    /// Turns the write lock into a read lock without letting a writer in between: as
    /// RwLockWriteGuard::downgrade(). Never suspends; never throws.
    static OwnedRwLockReadGuard<T> downgrade(OwnedRwLockWriteGuard guard) noexcept {
        guard.permit_.downgrade();
        return OwnedRwLockReadGuard<T>(std::move(guard.lock_), std::move(guard.permit_), guard.value_);
    }

private:
    template <class, class>
    friend class RwLockAwaiter;
    template <class>
    friend class RwLock;

    OwnedRwLockWriteGuard(std::shared_ptr<RwLock<T>> lock, detail::RwLockPermit permit) noexcept
        : lock_(std::move(lock)), permit_(std::move(permit)), value_(&lock_->value_) {}

    std::shared_ptr<RwLock<T>> lock_;  // declared first: destroyed after the permit goes back
    detail::RwLockPermit permit_;
    T* value_;
};

/// The awaitable RwLock's read(), write(), read_owned() and write_owned() return; yields the
/// `Guard`. Not movable: it may sit in the semaphore's waiter list.
///
/// It is a leaf awaitable, so select() and timeout() accept it: `co_await weft::timeout(d,
/// lock.write())` yields a TimeoutResult holding the guard, or timed out. Its await_ready and
/// await_suspend spend one unit of the task's cooperative budget and take the lock now if it is
/// free and nobody waits, else join the line. Destroyed before it handed out its guard (its task
/// aborted, a timeout or select lost), it leaves the line and passes on the permits it had been
/// given, so nothing is lost and a writer's place does not block the line any more.
/// @tparam Guard what it yields (RwLockReadGuard<T>, RwLockWriteGuard<T>, or the owned kinds).
/// @tparam Source how it refers to the lock: `RwLock<T>*`, or `std::shared_ptr<RwLock<T>>` for
/// the owned kinds (then it keeps the lock alive while it waits).
template <class Guard, class Source>
class [[nodiscard("a RwLock read or write does nothing unless it is co_awaited")]] RwLockAwaiter final
    : public detail::Pollable {
public:
    /// Spends one unit of the task's cooperative budget and takes the lock if it is free and
    /// nobody waits.
    bool await_ready() noexcept { return acquire_.await_ready(); }
    /// Joins the line (or yields, with the budget spent); false (do not suspend) if the lock came
    /// meanwhile.
    /// @throws std::logic_error outside a task run by a weft runtime.
    bool await_suspend(std::coroutine_handle<> h) {
        if (!acquire_.await_suspend(h)) return false;
        detail::set_pending_poll(this);  // in place of the acquire's own registration: we poll it
        return true;
    }
    /// Called by the worker (or by select/timeout) after a wake: true once the lock is held.
    bool poll_ready() noexcept override { return static_cast<detail::Pollable&>(acquire_).poll_ready(); }
    /// The guard; the lock is now held.
    Guard await_resume() noexcept {
        // The semaphore of a RwLock is never closed: the acquire always yields its permits.
        detail::RwLockPermit permit = detail::RwLockPermit::adopt(source_->sem_, acquire_.await_resume());
        return Guard(std::move(source_), std::move(permit));
    }

private:
    template <class>
    friend class RwLock;

    RwLockAwaiter(Source source, std::uint32_t permits)
        : source_(std::move(source)), acquire_(source_->sem_.acquire(permits)) {}

    Source source_;                      // declared first: outlives the acquire, which may touch the semaphore
    Semaphore::AcquireAwaiter acquire_;  // the semaphore's leaf awaitable, polled through us
};

/// An asynchronous reader-writer lock around a value: many readers at once, or one writer. Waiting
/// for it suspends the task, not the thread.
///
/// @code
/// weft::RwLock<Config> config(load());
/// {
///     auto r = co_await config.read();     // RwLockReadGuard<Config>: shared, const access
///     use(r->name);
/// }
/// {
///     auto w = co_await config.write();    // RwLockWriteGuard<Config>: exclusive access
///     w->name = "new";
///     co_await save(*w);                   // guards may be held across suspension points
/// }                                        // unlocked here
/// @endcode
///
/// Semantics follow Tokio's RwLock. It is fair, which makes it writer-preferring: tasks get the
/// lock in the order they started waiting (one FIFO line for readers and writers), so once a
/// writer waits, readers that come after it wait behind it even while other readers hold the lock;
/// readers cannot starve a writer. Readers at the head of the line get in together. Unlike
/// std::shared_mutex, nothing depends on the platform.
///
/// Built on a Semaphore holding max_readers permits (kMaxReaders unless given with
/// RwLockMaxReaders or with_max_readers()): a read takes one, a write takes all of them. So at most
/// max_readers readers hold the lock at once; further readers wait.
///
/// Guards: read() yields a RwLockReadGuard (const access), write() a RwLockWriteGuard; both may be
/// narrowed to a part of the value with their static map(), and a write guard may be downgraded to
/// a read guard (RwLockWriteGuard::downgrade()). read_owned() and write_owned() take the lock
/// through a std::shared_ptr and yield guards that keep it alive (to hand to another task without
/// tying it to a scope).
///
/// Cancellation: a pending read() or write() destroyed (its task aborted, a timeout or select
/// lost) leaves the line and passes on whatever it had been given: a cancelled writer that had
/// permits set aside does not keep the readers behind it waiting.
///
/// Threads: shared by reference (or by shared_ptr for the owned forms); read() and write() are
/// awaited inside a task run by a weft runtime, try_read() and try_write() work from any thread.
/// Misuse: taking the lock again from a task that holds it may deadlock that task (it is not
/// re-entrant; a read behind a queued writer waits for that writer). Destroying the RwLock while
/// it is held or waited on is undefined. Not copyable or movable.
template <class T>
class RwLock {
public:
    /// The most readers a RwLock can admit at once (2^29 - 1, as Tokio's MAX_READS).
    static constexpr std::uint32_t kMaxReaders = (std::uint32_t{1} << 29) - 1;

    /// Constructs the value in place from `args` (throws what that constructor throws); up to
    /// kMaxReaders readers at once.
    template <class... Args>
        requires(!(std::is_same_v<std::remove_cvref_t<Args>, RwLockMaxReaders> || ...))
    explicit RwLock(Args&&... args) : sem_(kMaxReaders), max_readers_(kMaxReaders), value_(std::forward<Args>(args)...) {}

    /// Constructs the value in place from `args`; up to `max_readers.value` readers at once.
    /// @throws std::invalid_argument if `max_readers.value` is 0 or exceeds kMaxReaders. Also
    /// throws what T's constructor throws.
    template <class... Args>
    explicit RwLock(RwLockMaxReaders max_readers, Args&&... args)
        : sem_(checked(max_readers.value)), max_readers_(max_readers.value), value_(std::forward<Args>(args)...) {}

    /// Tokio's `with_max_readers`: a RwLock admitting up to `max_readers` readers at once, its
    /// value constructed in place from `args` (`auto lock = RwLock<int>::with_max_readers(4, 0);`).
    /// @throws std::invalid_argument if `max_readers` is 0 or exceeds kMaxReaders. Also throws
    /// what T's constructor throws.
    template <class... Args>
    static RwLock with_max_readers(std::uint32_t max_readers, Args&&... args) {
        return RwLock(RwLockMaxReaders{max_readers}, std::forward<Args>(args)...);
    }

    RwLock(const RwLock&) = delete;
    RwLock& operator=(const RwLock&) = delete;

    /// What read() returns (see RwLockAwaiter).
    using ReadAwaiter = RwLockAwaiter<RwLockReadGuard<T>, RwLock*>;
    /// What write() returns (see RwLockAwaiter).
    using WriteAwaiter = RwLockAwaiter<RwLockWriteGuard<T>, RwLock*>;
    /// What read_owned() returns (see RwLockAwaiter).
    using ReadOwnedAwaiter = RwLockAwaiter<OwnedRwLockReadGuard<T>, std::shared_ptr<RwLock>>;
    /// What write_owned() returns (see RwLockAwaiter).
    using WriteOwnedAwaiter = RwLockAwaiter<OwnedRwLockWriteGuard<T>, std::shared_ptr<RwLock>>;

    /// `co_await lock.read()`: waits for shared access (FIFO with other waiters, behind any writer
    /// that waits already) and yields a RwLockReadGuard. Suspends only when a writer holds the
    /// lock, others wait, or max_readers readers hold it (or to yield, when the task's cooperative
    /// budget is spent). Never fails.
    ///
    /// Cancellation-safe: abandoned (task aborted, timeout or select lost), it leaves the line and
    /// passes on what it had been given. Await inside a task run by a weft runtime: awaiting it
    /// elsewhere throws std::logic_error when it has to wait.
    [[nodiscard("a RwLock read does nothing unless it is co_awaited")]] ReadAwaiter read() {
        return ReadAwaiter(this, 1);
    }

    /// `co_await lock.write()`: waits for exclusive access (FIFO with other waiters) and yields a
    /// RwLockWriteGuard. While it waits, readers that come later wait behind it. Suspends only
    /// when the lock is held or others wait (or to yield, when the budget is spent). Never fails.
    ///
    /// Cancellation-safe: abandoned, it leaves the line and passes on the permits set aside for it
    /// (readers queued behind it get in). Await inside a task run by a weft runtime: awaiting it
    /// elsewhere throws std::logic_error when it has to wait.
    [[nodiscard("a RwLock write does nothing unless it is co_awaited")]] WriteAwaiter write() {
        return WriteAwaiter(this, max_readers_);
    }

    /// `co_await RwLock<T>::read_owned(lock)`: as read(), through a shared_ptr; yields an
    /// OwnedRwLockReadGuard that keeps the lock alive. The awaitable holds a reference too while it
    /// waits. Cancellation-safe as read().
    /// @throws std::invalid_argument if `lock` is empty (from this call).
    [[nodiscard("a RwLock read does nothing unless it is co_awaited")]] static ReadOwnedAwaiter read_owned(
        std::shared_ptr<RwLock> lock) {
        non_null(lock);
        return ReadOwnedAwaiter(std::move(lock), 1);
    }

    /// `co_await RwLock<T>::write_owned(lock)`: as write(), through a shared_ptr; yields an
    /// OwnedRwLockWriteGuard that keeps the lock alive. Cancellation-safe as write().
    /// @throws std::invalid_argument if `lock` is empty (from this call).
    [[nodiscard("a RwLock write does nothing unless it is co_awaited")]] static WriteOwnedAwaiter write_owned(
        std::shared_ptr<RwLock> lock) {
        const std::uint32_t n = non_null(lock).max_readers_;
        return WriteOwnedAwaiter(std::move(lock), n);
    }

    /// Shared access now if no writer holds or waits for the lock and fewer than max_readers
    /// readers hold it; otherwise empty. Never suspends; never overtakes a waiter; from any thread.
    std::optional<RwLockReadGuard<T>> try_read() {
        AcquireResult r = sem_.try_acquire(1);
        if (!r) return std::nullopt;
        return RwLockReadGuard<T>(this, detail::RwLockPermit::adopt(sem_, std::move(r)));
    }

    /// Exclusive access now if nobody holds or waits for the lock; otherwise empty. Never
    /// suspends; from any thread.
    std::optional<RwLockWriteGuard<T>> try_write() {
        AcquireResult r = sem_.try_acquire(max_readers_);
        if (!r) return std::nullopt;
        return RwLockWriteGuard<T>(this, detail::RwLockPermit::adopt(sem_, std::move(r)));
    }

    /// As try_read(), through a shared_ptr: an OwnedRwLockReadGuard, or empty.
    /// @throws std::invalid_argument if `lock` is empty.
    static std::optional<OwnedRwLockReadGuard<T>> try_read_owned(std::shared_ptr<RwLock> lock) {
        RwLock& l = non_null(lock);
        AcquireResult r = l.sem_.try_acquire(1);
        if (!r) return std::nullopt;
        return OwnedRwLockReadGuard<T>(std::move(lock), detail::RwLockPermit::adopt(l.sem_, std::move(r)));
    }

    /// As try_write(), through a shared_ptr: an OwnedRwLockWriteGuard, or empty.
    /// @throws std::invalid_argument if `lock` is empty.
    static std::optional<OwnedRwLockWriteGuard<T>> try_write_owned(std::shared_ptr<RwLock> lock) {
        RwLock& l = non_null(lock);
        AcquireResult r = l.sem_.try_acquire(l.max_readers_);
        if (!r) return std::nullopt;
        return OwnedRwLockWriteGuard<T>(std::move(lock), detail::RwLockPermit::adopt(l.sem_, std::move(r)));
    }

    /// How many readers may hold the lock at once.
    std::uint32_t max_readers() const noexcept { return max_readers_; }

    /// The value, without locking: Rust's `get_mut(&mut self)`, whose exclusivity C++ cannot
    /// check. Only while no other task or thread can reach the lock (before it is shared, or
    /// after every user is done); with a guard alive or a task waiting, using it is a data race.
    T& get_mut() noexcept { return value_; }

    /// Moves the value out (Tokio's `into_inner`): `T v = std::move(lock).into_inner();`. The
    /// lock keeps a moved-from value. Same precondition as get_mut(). Throws what T's move
    /// constructor throws.
    T into_inner() && { return std::move(value_); }

private:
    template <class>
    friend class RwLockReadGuard;
    template <class>
    friend class RwLockWriteGuard;
    template <class, class>
    friend class OwnedRwLockReadGuard;
    template <class>
    friend class OwnedRwLockWriteGuard;
    template <class, class>
    friend class RwLockAwaiter;

    static std::size_t checked(std::uint32_t max_readers) {
        if (max_readers == 0 || max_readers > kMaxReaders)
            throw std::invalid_argument("weft: RwLock max_readers must be between 1 and RwLock::kMaxReaders");
        return max_readers;
    }
    static RwLock& non_null(const std::shared_ptr<RwLock>& lock) {
        if (!lock) throw std::invalid_argument("weft: RwLock owned lock through an empty shared_ptr");
        return *lock;
    }

    Semaphore sem_;
    std::uint32_t max_readers_;
    T value_;
};

}  // namespace weft
