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

// Awaiting a JoinHandle (`co_await handle`) suspends until the task finishes, then yields its
// value, rethrows its exception, or throws JoinError if it was aborted or its runtime shut down.
// A handle can be awaited to completion once; awaiting it again throws std::logic_error. An await
// that is itself cancelled (its task aborted) leaves the handle usable.
//
// Destroying the handle detaches the task: it keeps running, and if it then ends with an
// exception nobody reads, the runtime reports it (RuntimeOptions::on_unhandled_exception).
template <class T>
class [[nodiscard]] JoinHandle {
public:
    JoinHandle() noexcept = default;
    explicit JoinHandle(detail::TaskCell<T>* cell) noexcept : cell_(cell) {}
    JoinHandle(JoinHandle&& other) noexcept : cell_(std::exchange(other.cell_, nullptr)) {}
    JoinHandle& operator=(JoinHandle&& other) noexcept {
        if (this != &other) {
            detach();
            cell_ = std::exchange(other.cell_, nullptr);
        }
        return *this;
    }
    JoinHandle(const JoinHandle&) = delete;
    JoinHandle& operator=(const JoinHandle&) = delete;
    ~JoinHandle() { detach(); }

    // Requests cancellation. A task that has not finished is destroyed at its next suspension
    // point (or before its next poll), running the destructors of everything it holds; awaiting
    // the handle then throws JoinError. Does nothing if the task already finished.
    void abort() const noexcept {
        if (cell_ && cell_->transition_to_notified_by_ref(detail::TaskHeader::kCancelled) ==
                         detail::TaskHeader::WakeResult::kSchedule)
            detail::schedule_woken(cell_);
    }

    // True once the task completed or was cancelled (its result can be read without waiting).
    bool is_finished() const noexcept { return cell_ && cell_->is_complete(); }

    // False once the result was taken, or for a moved-from or default handle.
    bool valid() const noexcept { return cell_ != nullptr; }

    // Lets the task run on with nobody waiting for it.
    void detach() noexcept {
        if (detail::TaskCell<T>* cell = std::exchange(cell_, nullptr)) release(cell);
    }

    class Awaiter final : public detail::Pollable {
    public:
        explicit Awaiter(JoinHandle& handle) noexcept : handle_(handle) {}
        bool await_ready() const {
            if (!handle_.cell_) throw std::logic_error("weft: JoinHandle awaited twice (or empty)");
            return handle_.cell_->is_complete();
        }
        bool await_suspend(std::coroutine_handle<>) {
            if (!handle_.cell_->try_set_join_waker(detail::current_task_waker())) return false;
            detail::set_pending_poll(this);
            return true;
        }
        T await_resume() { return handle_.take_output(); }
        bool poll_ready() noexcept override { return handle_.cell_->is_complete(); }

    private:
        JoinHandle& handle_;
    };
    Awaiter operator co_await() & noexcept { return Awaiter{*this}; }
    Awaiter operator co_await() && noexcept { return Awaiter{*this}; }

    // Blocks this thread (which must not be a runtime worker) until the task finishes, then
    // returns like `co_await`. Used by block_on.
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
