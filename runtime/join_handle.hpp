// JoinHandle<T>: the owner's view of a spawned task.
#pragma once

#include "detail/language_check.hpp"

#include <coroutine>
#include <stdexcept>
#include <utility>

#include "detail/context.hpp"
#include "detail/scheduler.hpp"
#include "detail/task_cell.hpp"
#include "detail/thread_waker.hpp"
#include "errors.hpp"

namespace weft {

class Runtime;
template <class T>
class JoinSet;

/// The owner's handle to a spawned task: await its result, abort it, or detach it.
///
/// Awaiting a JoinHandle (`co_await handle`) suspends until the task finishes, then yields its
/// value, rethrows its exception, or throws JoinError if it was aborted or its runtime shut down.
/// A handle can be awaited to completion once; awaiting it again throws std::logic_error. An await
/// that is itself cancelled (its task aborted, or a timeout or select that another branch won)
/// leaves the handle usable: cancellation-safe.
///
/// Destroying the handle detaches the task: it keeps running, and if it then ends with an
/// exception nobody reads, the runtime reports it (RuntimeOptions::on_unhandled_exception).
///
/// abort(), is_finished() and detach() may be called from any thread; awaiting only inside a task;
/// blocking_join() only outside the runtime's workers. One handle is not for concurrent use.
template <class T>
class [[nodiscard]] JoinHandle {
public:
    /// An empty handle: valid() is false.
    JoinHandle() noexcept = default;
    /// Adopts the join reference on `cell` (used by spawn).
    explicit JoinHandle(detail::TaskCell<T>* cell) noexcept : cell_(cell) {}
    /// Takes `other`'s task, leaving it empty.
    JoinHandle(JoinHandle&& other) noexcept : cell_(std::exchange(other.cell_, nullptr)) {}
    /// Detaches this handle's task, if any, and takes `other`'s.
    JoinHandle& operator=(JoinHandle&& other) noexcept {
        if (this != &other) {
            detach();
            cell_ = std::exchange(other.cell_, nullptr);
        }
        return *this;
    }
    JoinHandle(const JoinHandle&) = delete;
    JoinHandle& operator=(const JoinHandle&) = delete;
    /// Detaches the task (see detach()).
    ~JoinHandle() { detach(); }

    /// Requests cancellation. A task that has not finished is destroyed at its next suspension
    /// point (or before its next poll), running the destructors of everything it holds; awaiting
    /// the handle then throws JoinError. Does nothing if the task already finished (or the
    /// handle is empty). From any thread.
    void abort() const noexcept {
        if (cell_) detail::wake_task_by_ref(cell_, detail::TaskHeader::kCancelled);
    }

    /// True once the task completed or was cancelled (its result can be read without waiting).
    bool is_finished() const noexcept { return cell_ && cell_->is_complete(); }

    /// False once the result was taken or the task detached, or for a moved-from or default handle.
    bool valid() const noexcept { return cell_ != nullptr; }

    /// Lets the task run on with nobody waiting for it; the handle becomes empty. If the task
    /// already ended with an exception nobody read, it is reported now.
    void detach() noexcept {
        if (detail::TaskCell<T>* cell = std::exchange(cell_, nullptr)) release(cell);
    }

    /// What `co_await handle` returns. Await only inside a task run by a weft runtime; also a
    /// leaf for select() and timeout(). Cancellation-safe (see JoinHandle).
    class WEFT_MUST_AWAIT Awaiter final : public detail::Pollable {
    public:
        /// Refers to `handle`, which must outlive the await.
        explicit Awaiter(JoinHandle& handle) noexcept : handle_(handle) {}
        /// True if the task already finished.
        /// @throws std::logic_error if the handle is empty (already joined, detached, or moved from).
        bool await_ready() const {
            if (!handle_.cell_) throw std::logic_error("weft: JoinHandle awaited twice (or empty)");
            return handle_.cell_->is_complete();
        }
        /// Registers this task's waker with the spawned task; false (resume at once) if it finished
        /// meanwhile.
        /// @throws std::logic_error outside a task run by a weft runtime.
        bool await_suspend(std::coroutine_handle<>) {
            if (!handle_.cell_->try_set_join_waker(detail::current_task_waker())) return false;
            detail::set_pending_poll(this);
            return true;
        }
        /// Takes the result, emptying the handle: the value, the task's exception rethrown, or
        /// JoinError if it was cancelled.
        T await_resume() { return handle_.take_output(); }
        /// True once the task finished (for the runtime and combinators).
        bool poll_ready() noexcept override { return handle_.cell_->is_complete(); }

    private:
        JoinHandle& handle_;
    };
    /// `co_await handle`: waits for the task's result.
    Awaiter operator co_await() & noexcept { return Awaiter{*this}; }
    /// `co_await std::move(handle)`: the same; the handle must outlive the await.
    Awaiter operator co_await() && noexcept { return Awaiter{*this}; }

    /// Blocks this thread (which must not be a runtime worker) until the task finishes, then
    /// returns like `co_await`. Used by block_on.
    /// @throws std::logic_error if the handle is empty or this is a runtime worker thread.
    /// @throws JoinError if the task was cancelled; rethrows the task's own exception.
    T blocking_join() {
        if (!cell_) throw std::logic_error("weft: JoinHandle awaited twice (or empty)");
        if (detail::is_worker_thread())
            throw std::logic_error("weft: blocking_join called on a runtime worker; use co_await");
        if (!cell_->is_complete()) {
            detail::ScopedThreadNotifier notifier;
            if (cell_->try_set_join_waker(notifier->waker())) {
                while (!cell_->is_complete()) notifier->park();
            }
        }
        return take_output();
    }

private:
    friend class Handle;      // block_on joins through cell_ and take_output, without allocating
    friend class JoinSet<T>;  // installs its own join waker, and takes the output once woken

    T take_output() {
        struct Release {
            detail::TaskCell<T>* cell;
            ~Release() { JoinHandle::release(cell); }
        } release{std::exchange(cell_, nullptr)};
        return release.cell->output.take();
    }

    static void release(detail::TaskCell<T>* cell) noexcept {
        if (cell->unset_join_interest()) cell->vtable()->drop_output(cell);
        cell->drop_ref();
    }

    detail::TaskCell<T>* cell_ = nullptr;
};

}  // namespace weft
