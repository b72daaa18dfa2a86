// InlineChild: one of several child tasks run inline inside the awaiting task (select and join
// over Tasks), driven by the combinator the way the worker drives a spawned task.
#pragma once

#include <coroutine>
#include <utility>

#include "cancel_scope.hpp"
#include "context.hpp"
#include "task_header.hpp"

namespace weft::detail {

// A spawned task has one resume point, one pending leaf and one list of cancel scopes, and the
// worker drives it (Worker::poll). `co_await task` and `timeout(d, task)` run a single child in
// that state: the child simply becomes where the task waits. Several children cannot share it, so
// each keeps its own copies here, and the combinator awaiting them registers itself as the task's
// pending leaf with the parent coroutine as the resume point.
//
// Wakes: every leaf a child waits on registers the task's own waker, so any child's wake polls the
// task, and the worker calls the combinator's poll_ready, which drives each child exactly as the
// worker drives a task: a triggered cancel scope of the child first (its timeout expired: destroy
// what runs inside it, resume the coroutine that opened it), then the child's pending leaf
// (poll_ready false: a spurious wake for this child, it stays put), then the child's frames from
// its resume point, through a trampoline, until it suspends again or completes. A wake is not
// attributed to a child: each is asked, which costs one poll_ready per waiting child per wake.
//
// Cancel scopes: while a child runs, its own list is swapped into the task's header, so a timeout
// inside it opens and closes its scope there, and the worker never sees (or fires) a child's scope
// from outside; the scopes of the parent stay outside the child's list, so a parent timeout that
// fires destroys the combinator, and with it every child, as a whole. A child's scope whose
// deadline passed while it ran gets no wake of its own: drive() runs it again at once, as the
// worker's "rerun" does for a task.
//
// Completion: the child's root has no continuation, so its final suspend leaves the trampoline
// slot empty and drive() sees the root done. Cancellation: destroying the child's Task destroys
// its frames where they wait (their leaves deregister in their destructors), with its scope list
// swapped in so the timeouts inside close their scopes in the right list.
class InlineChild {
public:
    // Runs the child (its root frame `root`, not started) until it first suspends or completes.
    // Returns true if it completed.
    bool start(TaskHeader& task, std::coroutine_handle<> root) noexcept {
        resume_point_ = root;
        return drive(task, root);
    }

    // The task was woken: runs the child if its wait is over. Returns true if it completed.
    bool poll(TaskHeader& task, std::coroutine_handle<> root) noexcept { return drive(task, root); }

    // Calls `destroy` (which destroys the child's frames) with the child's scopes in place.
    template <class F>
    void destroy(TaskHeader* task, F&& destroy) noexcept {
        if (task == nullptr) {
            destroy();  // never started: no scopes
            return;
        }
        ScopesSwapped swapped(task->cancel_scopes(), scopes_);
        destroy();
    }

    // The task is being aborted: the child's leaf withdraws its wait (see Pollable). Its result
    // (true: completed irrevocably) is not acted on: the child is destroyed with the task.
    void settle_for_abort() noexcept {
        if (pending_) (void)pending_->settle_for_abort();
    }

private:
    struct ScopesSwapped {
        ScopesSwapped(OpenCancelScopes& task_scopes, OpenCancelScopes& child_scopes) noexcept
            : task_scopes_(task_scopes), child_scopes_(child_scopes) {
            std::swap(task_scopes_, child_scopes_);
        }
        ~ScopesSwapped() { std::swap(task_scopes_, child_scopes_); }
        ScopesSwapped(const ScopesSwapped&) = delete;
        OpenCancelScopes& task_scopes_;
        OpenCancelScopes& child_scopes_;
    };

    // Worker::poll for one child (see the essay above).
    bool drive(TaskHeader& task, std::coroutine_handle<> root) noexcept {
        ScopesSwapped swapped(task.cancel_scopes(), scopes_);
        OpenCancelScopes& scopes = task.cancel_scopes();  // the child's, for now
        ThreadContext& ctx = this_thread_context();
        struct Driving {  // marks the child's frames as racing while they run (see ThreadContext)
            ThreadContext& ctx;
            explicit Driving(ThreadContext& c) noexcept : ctx(c) { ++ctx.inline_children; }
            ~Driving() { --ctx.inline_children; }
        } driving(ctx);
        for (;;) {
            if (CancelScope* hit = scopes.empty() ? nullptr : scopes.outermost_triggered()) {
                scopes.unwind_to(*hit);
                pending_ = nullptr;
                hit->cancel_children();
                resume_point_ = hit->awaiting;
            }
            if (pending_) {
                if (!pending_->poll_ready()) return false;
                pending_ = nullptr;
            }
            ctx.pending = nullptr;
            const std::coroutine_handle<> last = run_trampoline(ctx, resume_point_);
            if (root.done()) return true;
            resume_point_ = last;
            pending_ = std::exchange(ctx.pending, nullptr);
            if (ctx.yield_requested || scopes.empty() || scopes.outermost_triggered() == nullptr) return false;
        }
    }

    std::coroutine_handle<> resume_point_;  // where the child waits
    Pollable* pending_ = nullptr;           // the leaf it waits on, polled before resuming it
    OpenCancelScopes scopes_;               // its open timeouts, while it does not run
};

}  // namespace weft::detail
