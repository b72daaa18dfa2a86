// JoinSet<T>: a set of spawned tasks, joined in the order they complete (tokio::task::JoinSet).
//
// Each task has an Entry (one allocation per spawn besides the task's own). The entry is the
// task's join waker: the task's completion wakes it (detail::TaskHeader's join-waker protocol),
// which moves the entry to the set's ready queue and wakes the task waiting in join_next().
// That is Tokio's IdleNotifiedSet, reduced to what a single owner needs.
//
// Who touches what: the owner (the task holding the JoinSet) alone touches `all_` (every entry, for
// abort_all and the destructor), each entry's JoinHandle, and `len_`. A completing task's worker
// touches only the ready queue, the entry's `state` and the waiter's Waker, all under
// Shared::lock_. An entry is freed by its last reference: the set's (until joined or the set is
// destroyed) and the join waker's (until the task's header drops it).
//
// Orders: everything shared goes through the SpinLock. The output is read after the entry was
// found ready, that is after the wake, which the completing worker does after its acq_rel
// transition to COMPLETE; the JoinHandle's own acquire load (is_finished) pairs with it.
#pragma once

#include "detail/language_check.hpp"

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "detail/context.hpp"
#include "detail/scheduler.hpp"
#include "detail/spin_lock.hpp"
#include "join_handle.hpp"
#include "runtime.hpp"
#include "task.hpp"
#include "waker.hpp"

namespace weft {

namespace detail {

class JoinSetShared;

struct JoinSetEntryBase {
    enum class State : std::uint8_t { kRunning, kReady, kDetached };

    std::atomic<std::uint32_t> refs{1};  // the set's; one more while it is the task's join waker
    JoinSetShared* shared = nullptr;     // holds a reference on it
    void (*destroy)(JoinSetEntryBase*) noexcept = nullptr;
    State state = State::kRunning;            // under shared->lock_
    JoinSetEntryBase* ready_next = nullptr;   // the ready queue, under shared->lock_
    JoinSetEntryBase* all_prev = nullptr;     // owner only
    JoinSetEntryBase* all_next = nullptr;     // owner only

    Waker waker() noexcept {
        refs.fetch_add(1, std::memory_order_relaxed);
        return Waker(&kVtable, this);
    }
    void drop_ref() noexcept;

    static const Waker::Vtable kVtable;
};

class JoinSetShared {
public:
    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void drop_ref() noexcept {
        // acq_rel: every owner's use happens before the delete.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // The entry's task completed: queue it, wake the joiner. From any thread; allocates nothing.
    void make_ready(JoinSetEntryBase* e) noexcept {
        Waker joiner;
        {
            std::lock_guard lock(lock_);
            if (e->state != JoinSetEntryBase::State::kRunning) return;
            e->state = JoinSetEntryBase::State::kReady;
            e->ready_next = nullptr;
            if (ready_tail_) ready_tail_->ready_next = e;
            else ready_head_ = e;
            ready_tail_ = e;
            joiner = std::move(joiner_);
        }
        joiner.wake();
    }

    bool has_ready() noexcept {
        std::lock_guard lock(lock_);
        return ready_head_ != nullptr;
    }
    // True if an entry is ready; otherwise registers `waker` for the next one.
    bool has_ready_or_register(const Waker& waker) noexcept {
        std::lock_guard lock(lock_);
        if (ready_head_) return true;
        if (!joiner_.will_wake(waker)) joiner_ = waker;
        return false;
    }
    void unregister() noexcept {
        Waker dropped;
        std::lock_guard lock(lock_);
        dropped = std::move(joiner_);
    }
    JoinSetEntryBase* pop_ready() noexcept {
        std::lock_guard lock(lock_);
        JoinSetEntryBase* e = ready_head_;
        if (!e) return nullptr;
        ready_head_ = e->ready_next;
        if (!ready_head_) ready_tail_ = nullptr;
        e->state = JoinSetEntryBase::State::kDetached;
        return e;
    }
    // The set is going away: a later completion must not queue its entry.
    void detach_all(JoinSetEntryBase* all) noexcept {
        std::lock_guard lock(lock_);
        for (JoinSetEntryBase* e = all; e; e = e->all_next) e->state = JoinSetEntryBase::State::kDetached;
        ready_head_ = ready_tail_ = nullptr;
    }

private:
    std::atomic<std::size_t> refs_{1};  // the set's, plus one per live entry
    SpinLock lock_;
    JoinSetEntryBase* ready_head_ = nullptr;  // under lock_
    JoinSetEntryBase* ready_tail_ = nullptr;  // under lock_
    Waker joiner_;                            // the task in join_next, under lock_
};

inline void JoinSetEntryBase::drop_ref() noexcept {
    // acq_rel: as for any reference count.
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    JoinSetShared* s = shared;
    destroy(this);
    s->drop_ref();
}

inline constexpr Waker::Vtable JoinSetEntryBase::kVtable{
    [](void* p) noexcept { static_cast<JoinSetEntryBase*>(p)->refs.fetch_add(1, std::memory_order_relaxed); },
    [](void* p) noexcept {
        auto* e = static_cast<JoinSetEntryBase*>(p);
        e->shared->make_ready(e);
        e->drop_ref();
    },
    [](void* p) noexcept {
        auto* e = static_cast<JoinSetEntryBase*>(p);
        e->shared->make_ready(e);
    },
    [](void* p) noexcept { static_cast<JoinSetEntryBase*>(p)->drop_ref(); },
};

}  // namespace detail

/// A set of spawned tasks whose results are collected in the order they complete.
///
/// @code
/// weft::JoinSet<int> set;
/// for (int i = 0; i < 10; ++i) set.spawn(work(i));
/// while (auto r = co_await set.join_next()) total += *r;   // in completion order
/// @endcode
///
/// Semantics follow tokio::task::JoinSet:
///  - spawn() starts the task at once on the current runtime (spawn_on: on a given one) and adds
///    it to the set.
///  - join_next() waits for the next task to complete and removes it from the set. It yields an
///    empty optional when the set is empty. A task's result comes back the way `co_await handle`
///    gives it: its value; its exception rethrown; JoinError if it was aborted (or its runtime
///    shut down). The task has left the set either way, so a loop may catch and go on. For
///    JoinSet<void> the value is std::monostate.
///  - abort_all() aborts every task; they stay in the set and join_next() reports JoinError for
///    those that had not finished. shutdown() aborts them all and waits until the set is empty.
///  - Destroying the set aborts every task still in it (each is destroyed at its next suspension
///    point). An exception a task ended with that nobody joined is reported to the runtime's
///    on_unhandled_exception, as for a detached JoinHandle.
///
/// One owner: a JoinSet is used by one task at a time (it is movable, not copyable). Tasks it
/// holds may run and complete on any worker.
template <class T>
class JoinSet {
public:
    /// What join_next() yields for one task: T, or std::monostate for JoinSet<void>.
    using Output = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

    /// An empty set.
    /// @throws std::bad_alloc
    JoinSet() : shared_(new detail::JoinSetShared()) {}
    /// Takes `other`'s tasks; `other` may then only be destroyed or assigned to.
    JoinSet(JoinSet&& other) noexcept
        : shared_(std::exchange(other.shared_, nullptr)), all_(std::exchange(other.all_, nullptr)),
          len_(std::exchange(other.len_, 0)) {}
    /// Aborts this set's tasks, then takes `other`'s.
    JoinSet& operator=(JoinSet&& other) noexcept {
        if (this != &other) {
            release();
            shared_ = std::exchange(other.shared_, nullptr);
            all_ = std::exchange(other.all_, nullptr);
            len_ = std::exchange(other.len_, 0);
        }
        return *this;
    }
    JoinSet(const JoinSet&) = delete;
    JoinSet& operator=(const JoinSet&) = delete;
    /// Aborts every task still in the set (see the class comment); does not wait for them.
    ~JoinSet() { release(); }

    /// Spawns `task` on the current runtime and adds it to the set.
    /// @throws std::logic_error outside a runtime; RuntimeShutdownError once it shuts down;
    /// std::invalid_argument for an empty task; std::bad_alloc. On a throw nothing was spawned.
    void spawn(Task<T> task) {
        insert([&] { return weft::spawn(std::move(task)); });
    }
    /// Spawns `task` on `runtime` and adds it to the set. From any thread (that owns the set).
    /// @throws as Runtime::spawn, or std::bad_alloc. On a throw nothing was spawned.
    void spawn_on(Runtime& runtime, Task<T> task) {
        insert([&] { return runtime.spawn(std::move(task)); });
    }

    /// The number of tasks in the set (running, or finished and not joined yet).
    std::size_t len() const noexcept { return len_; }
    /// True if the set holds no task.
    bool is_empty() const noexcept { return len_ == 0; }

    /// Aborts every task in the set; they stay in it (join_next() gives JoinError for each that
    /// had not finished). Does not wait.
    void abort_all() noexcept {
        for (detail::JoinSetEntryBase* e = all_; e; e = e->all_next) entry(e)->handle.abort();
    }

    class WEFT_MUST_AWAIT JoinNext;
    /// `co_await set.join_next()`: the output of the next task to complete, removed from the set;
    /// an empty optional if the set is empty. Rethrows the task's exception, or throws JoinError
    /// for an aborted task (see the class comment). Suspends while tasks run and none finished. A
    /// leaf awaitable (select and timeout accept it), cancellation-safe: abandoned, it takes no
    /// task out of the set. Await inside a task run by a weft runtime.
    JoinNext join_next() noexcept { return JoinNext(*this); }

    /// A task that already finished, removed from the set, as join_next() would give it; an empty
    /// optional if none has finished (even if the set is not empty). Never suspends.
    std::optional<Output> try_join_next() {
        if (len_ == 0) return std::nullopt;
        detail::JoinSetEntryBase* e = shared_->pop_ready();
        if (!e) return std::nullopt;
        return take(e);
    }

    /// Aborts every task and waits until each has finished and left the set (their results,
    /// errors included, are dropped). Await inside a task run by a weft runtime.
    Task<void> shutdown() {
        abort_all();
        while (len_ > 0) {
            try {
                [[maybe_unused]] std::optional<Output> dropped = co_await join_next();
            } catch (...) {  // the tasks' own exceptions and JoinErrors: dropped, as Tokio does
            }
        }
    }

private:
    struct Entry final : detail::JoinSetEntryBase {
        JoinHandle<T> handle;
        static void destroy_entry(detail::JoinSetEntryBase* e) noexcept { delete static_cast<Entry*>(e); }
    };
    static Entry* entry(detail::JoinSetEntryBase* e) noexcept { return static_cast<Entry*>(e); }

    template <class Spawn>
    void insert(Spawn&& spawn) {
        auto* e = new Entry();  // before the spawn: a failed allocation must not leave a task behind
        try {
            e->handle = spawn();
        } catch (...) {
            delete e;
            throw;
        }
        e->shared = shared_;
        e->destroy = &Entry::destroy_entry;
        shared_->add_ref();
        e->all_next = all_;
        if (all_) all_->all_prev = e;
        all_ = e;
        ++len_;
        // The waker goes in last: from here on the completion may queue the entry on any thread.
        if (!e->handle.cell_->try_set_join_waker(e->waker())) shared_->make_ready(e);
    }

    // An entry popped from the ready queue: out of the set, its output taken.
    std::optional<Output> take(detail::JoinSetEntryBase* e) {
        if (e->all_prev) e->all_prev->all_next = e->all_next;
        else all_ = e->all_next;
        if (e->all_next) e->all_next->all_prev = e->all_prev;
        --len_;
        JoinHandle<T> handle = std::move(entry(e)->handle);
        e->drop_ref();
        assert(handle.is_finished());
        if constexpr (std::is_void_v<T>) {
            handle.take_output();
            return Output{};
        } else {
            return handle.take_output();
        }
    }

    void release() noexcept {
        if (!shared_) return;
        shared_->detach_all(all_);
        while (detail::JoinSetEntryBase* e = all_) {
            all_ = e->all_next;
            entry(e)->handle.abort();
            entry(e)->handle.detach();
            e->drop_ref();
        }
        len_ = 0;
        std::exchange(shared_, nullptr)->drop_ref();
    }

    detail::JoinSetShared* shared_;
    detail::JoinSetEntryBase* all_ = nullptr;  // every entry in the set, owner only
    std::size_t len_ = 0;
};

/// The awaitable JoinSet::join_next() returns: a leaf (select and timeout accept it). Refers to the
/// set, which must outlive it.
template <class T>
class WEFT_MUST_AWAIT JoinSet<T>::JoinNext final : public detail::Pollable {
public:
    /// Made by JoinSet::join_next().
    explicit JoinNext(JoinSet& set) noexcept : set_(set) {}
    JoinNext(const JoinNext&) = delete;
    JoinNext& operator=(const JoinNext&) = delete;
    /// Stops waiting (drops the registered waker) if it still waits.
    ~JoinNext() {
        if (registered_) set_.shared_->unregister();
    }

    /// True if the set is empty or a task finished.
    bool await_ready() noexcept { return set_.len_ == 0 || set_.shared_->has_ready(); }
    /// Registers the task's waker; false (resume at once) if a task finished meanwhile.
    bool await_suspend(std::coroutine_handle<>) {
        if (set_.shared_->has_ready_or_register(detail::current_task_waker())) return false;
        registered_ = true;
        detail::set_pending_poll(this);
        return true;
    }
    /// True once a task finished (re-registers the waker otherwise).
    bool poll_ready() noexcept override {
        try {
            return set_.shared_->has_ready_or_register(detail::current_task_waker());
        } catch (...) {  // no waker to be had: resume, await_resume reports it
            return true;
        }
    }
    /// The next finished task's output (see JoinSet::join_next), or an empty optional.
    std::optional<Output> await_resume() {
        if (std::exchange(registered_, false)) set_.shared_->unregister();
        if (set_.len_ == 0) return std::nullopt;
        detail::JoinSetEntryBase* e = set_.shared_->pop_ready();
        if (!e) throw std::logic_error("weft: JoinSet::join_next resumed with no finished task");
        return set_.take(e);
    }

private:
    JoinSet& set_;
    bool registered_ = false;
};

}  // namespace weft
