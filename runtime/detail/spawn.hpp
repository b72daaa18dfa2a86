// Turning a Task<T> into a spawned task: the cell in the frame's prefix and its vtable.
#pragma once

#include <coroutine>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "../join_handle.hpp"
#include "../task.hpp"
#include "scheduler.hpp"
#include "task_cell.hpp"

namespace weft::detail {

template <class T>
struct TaskCellOps {
    using Promise = TaskPromise<T>;

    static void finish(TaskHeader* header, bool cancelled) noexcept {
        auto* cell = static_cast<TaskCell<T>*>(header);
        auto frame = std::coroutine_handle<Promise>::from_address(cell->root().address());
        if (cancelled) cell->output.set_cancelled();
        else cell->output = std::move(frame.promise().result_);
        // Destroys the frame (and, through the awaited-Task locals, every frame below it); the
        // promise's operator delete then drops the frame's reference on the cell.
        frame.destroy();
    }
    static void drop_output(TaskHeader* header) noexcept {
        auto* cell = static_cast<TaskCell<T>*>(header);
        if (cell->output.has_exception()) report_unhandled_exception(cell->scheduler(), cell->output.exception());
        cell->output.reset();
    }
    static void deallocate(TaskHeader* header) noexcept { destroy_cell_and_free(static_cast<TaskCell<T>*>(header)); }

    static constexpr TaskVtable kVtable{&finish, &drop_output, &deallocate};
};

template <class T>
JoinHandle<T> spawn_on(Scheduler& scheduler, Task<T> task) {
    if (!task.valid()) throw std::invalid_argument("weft: spawn of an empty Task (moved from?)");
    auto frame = task.release();
    void* address = frame.address();
    auto* cell = ::new (cell_storage<T>(address))
        TaskCell<T>(&TaskCellOps<T>::kVtable, frame, &scheduler, true);
    frame_tag<T>(address) = cell;
    try {
        bind_and_schedule(scheduler, cell);
    } catch (...) {
        // Not spawned after all: undo, so the frame is freed as an ordinary Task.
        frame_tag<T>(address) = nullptr;
        cell->~TaskCell<T>();
        frame.destroy();
        throw;
    }
    return JoinHandle<T>(cell);
}

// ---- spawn_blocking ---------------------------------------------------------------------------

template <class R>
struct BlockingCallState {
    std::atomic<bool> done{false};
    TaskOutput<R> output;
    Waker waker;  // written before the job is submitted, read by the pool thread
};

// Awaits a function run on the blocking pool.
template <class F, class R>
class WEFT_MUST_AWAIT BlockingCall final : public Pollable {
public:
    BlockingCall(Scheduler& scheduler, F fn) : scheduler_(scheduler), fn_(std::move(fn)) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) {
        state_->waker = current_task_waker();
        submit_blocking(scheduler_, [state = state_, fn = std::move(fn_)]() mutable {
            try {
                if constexpr (std::is_void_v<R>) {
                    std::invoke(fn);
                    state->output.set_void();
                } else {
                    state->output.set_value(std::invoke(fn));
                }
            } catch (...) {
                state->output.set_exception(std::current_exception());
            }
            state->done.store(true, std::memory_order_release);  // pairs with poll_ready's acquire
            state->waker.wake_by_ref();
        });
        set_pending_poll(this);
    }
    bool poll_ready() noexcept override { return state_->done.load(std::memory_order_acquire); }
    R await_resume() { return state_->output.take(); }

private:
    Scheduler& scheduler_;
    F fn_;
    std::shared_ptr<BlockingCallState<R>> state_ = std::make_shared<BlockingCallState<R>>();
};

template <class F, class R = std::invoke_result_t<F&>>
Task<R> run_blocking(Scheduler& scheduler, F fn) {
    co_return co_await BlockingCall<F, R>(scheduler, std::move(fn));
}

}  // namespace weft::detail
