// OnceCell<T>: a value set at most once, by set() or by an asynchronous initialiser that tasks take
// turns to run. What it does is documented on the class (below); these are the implementation
// notes.
//
// Why a semaphore: as in Tokio, the right to initialise is the single permit of a FIFO
// Semaphore(1). Whoever holds it runs its initialiser; the others wait in line. Success stores the
// value and closes the semaphore, which wakes every waiter with "closed", meaning "the value is
// there". Failure (the initialiser threw, or its task was cancelled) just destroys the permit: it
// goes to the next waiter in line, which runs its own initialiser. The semaphore's cancellation
// (a waiter that leaves passes on a permit it had been handed) keeps the line moving.
//
// Lock-free: get(), initialized(), and get_or_init() once the value is there (one acquire load;
// get_or_init still allocates its Task's frame). Not lock-free: storing the value (set() or a
// successful initialiser) closes the semaphore, which takes its short SpinLock once; waiting for an
// initialiser takes it too.
//
// Invariant: the value is written only by the holder of the permit, and the semaphore is closed
// (while the permit is still held) only after the value is written. So an acquire that succeeds
// finds the cell empty, and one that fails (closed) finds it set.
//
// Orders: the value is written, then `initialized_` stored true with release; readers load it
// with acquire before touching the value. Closing the semaphore happens after that store, so a
// waiter woken by the close sees the value too.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "semaphore.hpp"
#include <weft/runtime/task.hpp>

namespace weft {

/// Why OnceCell::set() failed.
enum class SetError {
    already_initialized,  ///< The cell already holds a value.
    initializing,         ///< An initialiser (get_or_init) or another set() is running right now.
};

/// The outcome of OnceCell::set(): success, or the error together with the value handed back.
///
/// @code
/// weft::SetResult<Config> r = cell.set(std::move(config));
/// if (!r) keep(r.take_value());
/// @endcode
template <class T>
class [[nodiscard]] SetResult {
public:
    /// The value was stored.
    SetResult() = default;
    /// It was not: `error`, and the value handed back. Throws what T's move constructor throws.
    SetResult(SetError error, T value) : error_(error), value_(std::move(value)) {}

    /// True if the value was stored.
    bool ok() const noexcept { return !value_.has_value(); }
    /// Same as ok().
    explicit operator bool() const noexcept { return ok(); }
    /// True if the cell already held a value.
    bool is_already_initialized() const noexcept { return !ok() && error_ == SetError::already_initialized; }
    /// True if an initialiser was running at the time.
    bool is_initializing() const noexcept { return !ok() && error_ == SetError::initializing; }
    /// The reason; only meaningful when !ok().
    SetError error() const noexcept { return error_; }
    /// The value that was not stored, moved out (call it once).
    /// @throws std::logic_error after a successful set (there is no value).
    T take_value() {
        if (ok()) throw std::logic_error("weft: take_value on a successful OnceCell::set");
        return std::move(*value_);
    }

private:
    SetError error_{};
    std::optional<T> value_;
};

/// A value set at most once: by set(), or by the first asynchronous initialiser to succeed, which
/// tasks take turns to run (Tokio's OnceCell).
///
/// @code
/// weft::OnceCell<Client> client;
/// const Client& c = co_await client.get_or_init([&] { return connect(url); });   // connect: Task<Client>
/// @endcode
///
/// get_or_init(f): if the cell holds a value, yields it. Otherwise the tasks calling it line up
/// (FIFO): the first runs its initialiser `f()`, a Task<T>; the others wait. If it succeeds, the
/// value is stored and every waiter gets it without running its own initialiser. If it throws,
/// the exception propagates to that caller only, the cell stays empty, and the next task in line
/// runs *its* initialiser; the same if the initialising task is cancelled. So exactly one
/// initialiser runs at a time, and once one succeeds no other runs. get_or_try_init(f) is the same
/// with an initialiser that may fail without an exception (returning an empty optional).
///
/// The value is shared, read-only: get() and get_or_init() give `const T` access. take() empties
/// the cell again, with exclusive access.
///
/// Cancellation: get_or_init() is cancellation-safe. Cancelled while it waits in line, it leaves;
/// cancelled while its initialiser runs, the initialiser's frames are destroyed where they wait,
/// nothing is stored, and the next waiter runs its own initialiser.
///
/// Threads: shared by reference; get(), initialized() and set() work from any thread (never
/// blocking); get_or_init() is awaited inside a task run by a weft runtime. Not copyable or
/// movable. Misuse: destroying the cell while an initialiser runs or tasks wait on it is
/// undefined.
template <class T>
class OnceCell {
public:
    /// An empty cell.
    OnceCell() = default;
    /// A cell already holding `value` (Tokio's `new_with(Some(value))`). Throws what T's move
    /// constructor throws.
    explicit OnceCell(T value) : value_(std::move(value)) {
        initialized_.store(true, std::memory_order_relaxed);
        sem_.close();
    }
    OnceCell(const OnceCell&) = delete;
    OnceCell& operator=(const OnceCell&) = delete;
    /// Destroys the value, if any. Misuse: destroying a cell that an initialiser or a waiter is
    /// still using is undefined.
    ~OnceCell() = default;

    /// True once the cell holds a value (a snapshot: an initialiser may finish right after). From
    /// any thread.
    bool initialized() const noexcept { return initialized_.load(std::memory_order_acquire); }

    /// The value, or nullptr if the cell is empty (even while an initialiser runs). Never waits;
    /// from any thread. The pointer stays valid until take() or the cell's destruction.
    const T* get() const noexcept { return initialized() ? &*value_ : nullptr; }

    /// Stores `value` if the cell is empty and no initialiser is running; otherwise hands it back
    /// in the result (SetError::already_initialized or SetError::initializing). Never waits; from
    /// any thread. Throws what T's move constructor throws (then nothing is stored).
    SetResult<T> set(T value) {
        if (initialized()) return SetResult<T>(SetError::already_initialized, std::move(value));
        AcquireResult r = sem_.try_acquire(1);
        if (!r) {
            // Closed: set meanwhile. No permits: someone holds the right to initialise (it may
            // have finished just now).
            if (r.is_closed() || initialized()) return SetResult<T>(SetError::already_initialized, std::move(value));
            return SetResult<T>(SetError::initializing, std::move(value));
        }
        publish(std::move(value));
        return SetResult<T>();
    }

    /// `const T& v = co_await cell.get_or_init(f);`: the value, initialising it first if the cell
    /// is empty. `f()` must return a Task<T>; it is called only when this task's turn comes and the
    /// cell is still empty, and awaited inline (so it may suspend: I/O, locks, timers). Tasks take
    /// turns in FIFO order; at most one initialiser runs at a time.
    ///
    /// Yields a std::reference_wrapper<const T> (it converts to `const T&`), valid until take() or
    /// the cell's destruction. Rethrows what `f` or its task throws; then the cell stays empty and
    /// the next waiter runs its own initialiser. Throws std::logic_error if awaited outside a task
    /// run by a weft runtime and it has to wait; std::bad_alloc if its frame cannot be allocated.
    ///
    /// Cancellation-safe (see the class). A Task, not a leaf awaitable: bound it with
    /// timeout(d, cell.get_or_init(f)); to select() over it, spawn it. Await inside a task run by
    /// a weft runtime; `f` (copied or moved into the task) lives until it returns.
    ///
    /// g++ 12: bind the Task to a variable before awaiting it (`auto init = cell.get_or_init(f);
    /// const T& v = co_await std::move(init);`) when `f` is a lambda written in the co_await
    /// expression that captures by copy something with a destructor (g++ 12 destroys that closure
    /// twice), or when the initialiser may throw (g++ 12 destroys an awaited temporary twice when
    /// its operation throws). See the README's g++ 12 notes; clang is not affected.
    template <class F>
        requires std::is_same_v<std::invoke_result_t<F&>, Task<T>>
    [[nodiscard("get_or_init does nothing unless it is co_awaited")]] Task<std::reference_wrapper<const T>> get_or_init(
        F f) {
        if (const T* v = get()) co_return std::cref(*v);
        AcquireResult turn = co_await sem_.acquire(1);
        if (turn) {
            // Our turn, and the cell is empty (see the invariant at the top of the header). The
            // permit (`turn`) goes to the next waiter if this throws or is cancelled.
            Task<T> init = std::invoke(f);
            T value = co_await std::move(init);
            publish(std::move(value));
        }
        co_return std::cref(*get());
    }

    /// `const T* v = co_await cell.get_or_try_init(f);`: as get_or_init(), with an initialiser
    /// that may fail without throwing: `f()` returns a Task<std::optional<T>>. An empty optional
    /// leaves the cell empty (the next waiter runs its own initialiser) and yields nullptr to this
    /// caller only; otherwise yields the value. Exceptions and cancellation as get_or_init().
    template <class F>
        requires std::is_same_v<std::invoke_result_t<F&>, Task<std::optional<T>>>
    [[nodiscard("get_or_try_init does nothing unless it is co_awaited")]] Task<const T*> get_or_try_init(F f) {
        if (const T* v = get()) co_return v;
        AcquireResult turn = co_await sem_.acquire(1);
        if (turn) {
            Task<std::optional<T>> init = std::invoke(f);
            std::optional<T> value = co_await std::move(init);
            if (!value) co_return nullptr;  // `turn` passes to the next waiter
            publish(std::move(*value));
        }
        co_return get();
    }

    /// Empties the cell and returns the value it held (empty if none); the cell can then be set or
    /// initialised again. Needs exclusive access (Rust's `&mut self`, which C++ cannot check): no
    /// other task or thread may use the cell meanwhile, nor hold a pointer or reference from
    /// get()/get_or_init(). Throws what T's move constructor throws.
    std::optional<T> take() {
        if (!initialized_.load(std::memory_order_relaxed)) return std::nullopt;
        std::optional<T> out(std::move(value_));
        value_.reset();
        initialized_.store(false, std::memory_order_relaxed);
        // A closed semaphore cannot be reopened: start a fresh one (nobody uses the old one).
        std::destroy_at(&sem_);
        std::construct_at(&sem_, std::size_t{1});
        return out;
    }

private:
    // By the holder of the permit: stores the value, then lets everyone see it.
    void publish(T&& value) {
        value_.emplace(std::move(value));
        initialized_.store(true, std::memory_order_release);  // pairs with initialized()'s acquire
        sem_.close();  // wakes the waiters: they find the value
    }

    Semaphore sem_{1};
    std::atomic<bool> initialized_{false};
    std::optional<T> value_;  // written once, by the permit's holder, before initialized_
};

}  // namespace weft
