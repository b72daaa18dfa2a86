// Cancel scopes: regions of a task that can be cancelled as a whole (what `timeout` over a Task
// uses), and the list of those open in one task. Separate from task_header.hpp because they are
// not part of the task's state machine: no flags, no atomics, only the polling worker touches them.
#pragma once

#include <coroutine>

namespace weft::detail {

// A region of a task that may be cancelled as a whole: `timeout(d, some_task())` runs the child
// task inline in the awaiting task and opens a scope around it. Before polling a task, the worker
// asks its open scopes (outermost first) whether one was triggered (its deadline passed); if so it
// destroys everything running inside that scope (`cancel_children`: the child frames, and with
// them the leaf awaiters they were suspended on, which deregister themselves) and resumes the
// coroutine that opened it. Scopes are touched only by the thread polling the task.
class CancelScope {
public:
    virtual bool is_triggered() const noexcept = 0;
    virtual void cancel_children() noexcept = 0;

    CancelScope* outer = nullptr;       // the enclosing scope of the same task
    std::coroutine_handle<> awaiting;   // resumed after a cancellation
    bool is_linked = false;             // in its task's scope list

protected:
    ~CancelScope() = default;
};

// The scopes open in one task, innermost first, linked through CancelScope::outer. Touched only by
// the polling worker, so not synchronised.
class OpenCancelScopes {
public:
    bool empty() const noexcept { return innermost_ == nullptr; }

    void open(CancelScope& s) noexcept {
        s.outer = innermost_;
        s.is_linked = true;
        innermost_ = &s;
    }
    void close(CancelScope& s) noexcept {
        if (!s.is_linked) return;
        CancelScope** link = &innermost_;
        while (*link && *link != &s) link = &(*link)->outer;
        if (*link) *link = s.outer;
        s.is_linked = false;
    }
    // The outermost triggered scope, or nullptr.
    CancelScope* outermost_triggered() const noexcept {
        CancelScope* hit = nullptr;
        for (CancelScope* s = innermost_; s; s = s->outer)
            if (s->is_triggered()) hit = s;
        return hit;
    }
    // Closes `hit` and every scope inside it, ready for hit->cancel_children().
    void unwind_to(CancelScope& hit) noexcept {
        for (CancelScope* s = innermost_; s != hit.outer; s = s->outer) s->is_linked = false;
        innermost_ = hit.outer;
    }

private:
    CancelScope* innermost_ = nullptr;
};

}  // namespace weft::detail
