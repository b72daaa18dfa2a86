// CancellationToken: a shared "please stop" signal, with child tokens and a drop guard
// (tokio_util::sync::CancellationToken). The tree and its locking are described in
// channels/detail/cancellation_node.hpp.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <stop_token>
#include <utility>

#include "detail/budgeted_wait.hpp"
#include "detail/cancellation_node.hpp"
#include <weft/runtime/detail/waiter_list.hpp>

namespace weft {

/// A signal that asks tasks to stop, shared by copying.
///
/// @code
/// weft::CancellationToken token;
/// // a worker task                                   // whoever decides to stop
/// auto r = co_await weft::select(token.cancelled(),   token.cancel();
///                                jobs.recv());
/// @endcode
///
/// Semantics follow tokio_util's CancellationToken:
///  - Copies share one state: cancel() on any copy cancels them all. Cancelling is permanent and
///    idempotent.
///  - child_token() makes a token that is cancelled when this one is (at once if this one already
///    is), and that can be cancelled on its own without touching its parent. Dropping every copy
///    of a child detaches it from the parent (nothing stays behind in the parent); its own
///    children are then cancelled by the parent, as if they hung from it directly.
///  - cancelled() is a leaf awaitable: select() and timeout() accept it.
///  - drop_guard() cancels when the guard is destroyed, unless it was disarmed.
///
/// Bridges to the standard library: from(std::stop_token) makes a token cancelled when the stop
/// token is stopped; stop_token() gives a std::stop_token stopped when this token is cancelled.
///
/// Threads: every member is safe from any thread (a plain thread may cancel and wakes the
/// waiting tasks); cancelled() is awaited inside a task run by a weft runtime. Cancelling wakes
/// the waiters without allocating. A moved-from token may only be assigned to or destroyed.
class CancellationToken {
public:
    class WEFT_MUST_AWAIT Cancelled;
    class DropGuard;

    /// A new token, not cancelled, with no parent.
    /// @throws std::bad_alloc
    CancellationToken() : node_(new detail::CancellationNode()) {}
    /// Another handle on the same token.
    CancellationToken(const CancellationToken& other) noexcept : node_(other.node_) {
        if (node_) node_->add_handle();
    }
    /// Takes `other`'s handle, leaving it empty.
    CancellationToken(CancellationToken&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
    /// Refers to `other`'s token instead (releasing this handle).
    CancellationToken& operator=(CancellationToken other) noexcept {
        std::swap(node_, other.node_);
        return *this;
    }
    /// Releases this handle; the last handle of a child detaches it from its parent. Does not cancel.
    ~CancellationToken() {
        if (node_) node_->drop_handle();
    }

    /// A token cancelled when `token` is stopped (at once if it already is), and which can also be
    /// cancelled itself (that does not stop `token`). The link lives as long as the new token.
    /// @throws std::bad_alloc
    static CancellationToken from(std::stop_token token) {
        CancellationToken t;
        t.node_->cancel_on_stop(std::move(token));
        return t;
    }

    /// Cancels this token and every child token (recursively), and wakes every task waiting in
    /// cancelled() on any of them. Idempotent; never blocks for long (short spin locks), never
    /// allocates; from any thread.
    void cancel() const noexcept { node_->cancel(); }

    /// True once cancel() was called on this token or an ancestor (or the stop token of from() was
    /// stopped). From any thread.
    bool is_cancelled() const noexcept { return node_->is_cancelled(); }

    /// `co_await token.cancelled()`: completes once the token is cancelled (at once if it is).
    /// Suspends until then; yields nothing. Cancellation-safe: abandoned (select lost, timeout,
    /// task aborted), it leaves no waiter behind. The awaitable holds its own handle on the
    /// token, so it may outlive `*this`.
    Cancelled cancelled() const noexcept;

    /// A token cancelled with this one (see the class comment).
    /// @throws std::bad_alloc
    CancellationToken child_token() const { return CancellationToken(detail::CancellationNode::make_child(node_)); }

    /// A guard that cancels this token when destroyed (unless disarm()ed).
    DropGuard drop_guard() const noexcept;

    /// A std::stop_token whose stop is requested when this token is cancelled (already requested
    /// if it is). The first call allocates the stop state; later ones share it.
    ///
    /// Its std::stop_callbacks run inside the cancel() that reaches this token, which may hold
    /// locks of this token's tree: a callback may wake threads, signal condition variables, or
    /// cancel other trees' tokens, but must not cancel an ancestor of this token that is not
    /// cancelled yet, nor make or drop tokens of this tree (it would deadlock).
    /// @throws std::bad_alloc
    std::stop_token stop_token() const { return node_->stop_token(); }

private:
    explicit CancellationToken(detail::CancellationNode* node) noexcept : node_(node) {}

    detail::CancellationNode* node_;
};

/// The awaitable CancellationToken::cancelled() returns. Not movable: it may sit in the waiter
/// list. A leaf awaitable; spends one unit of the task's cooperative budget like the channel waits.
class WEFT_MUST_AWAIT CancellationToken::Cancelled final : public detail::BudgetedWait<Cancelled> {
public:
    /// Made by CancellationToken::cancelled().
    explicit Cancelled(CancellationToken token) noexcept : token_(std::move(token)) {}
    /// Leaves the wait list if still queued.
    ~Cancelled() { token_.node_->waiters().remove(node_); }

    /// Yields nothing: the token is cancelled.
    void await_resume() noexcept { token_.node_->waiters().remove(node_); }

private:
    friend detail::BudgetedWait<Cancelled>;

    bool try_now() const noexcept { return token_.is_cancelled(); }
    // Returns true if the task must suspend. is_cancelled is the seq_cst load EventWaiters needs.
    bool wait(const Waker& waker) {
        return token_.node_->waiters().wait(node_, waker, [this] { return token_.is_cancelled(); });
    }

    CancellationToken token_;
    detail::Waiter node_;
};

inline CancellationToken::Cancelled CancellationToken::cancelled() const noexcept { return Cancelled(*this); }

/// Cancels its token when destroyed, unless disarm() was called (tokio_util's DropGuard). Move-only.
class [[nodiscard]] CancellationToken::DropGuard {
public:
    /// Guards `token`.
    explicit DropGuard(CancellationToken token) noexcept : token_(std::move(token)) {}
    /// Takes over `other`'s token (`other` then guards nothing).
    DropGuard(DropGuard&&) noexcept = default;
    /// Cancels this guard's token (unless disarmed) and takes over `other`'s.
    DropGuard& operator=(DropGuard&& other) noexcept {
        if (this != &other) {
            if (token_.node_) token_.cancel();
            token_ = std::move(other.token_);
        }
        return *this;
    }
    /// Cancels the token, unless disarmed.
    ~DropGuard() {
        if (token_.node_) token_.cancel();
    }

    /// Gives the token back without cancelling it; the guard then does nothing.
    /// Misuse: calling it twice (the second returns a moved-from token).
    CancellationToken disarm() noexcept { return std::move(token_); }

private:
    CancellationToken token_;
};

inline CancellationToken::DropGuard CancellationToken::drop_guard() const noexcept { return DropGuard(*this); }

}  // namespace weft
