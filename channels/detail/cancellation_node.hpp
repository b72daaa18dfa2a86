// The shared state behind CancellationToken: one node per token tree position (tokio_util's
// tree_node.rs, with intrusive child lists instead of a Vec, so making a child allocates only the
// child itself).
//
// Fields: `cancelled_` is written once (false -> true) under `lock_`, read anywhere. `parent_` and
// the child list are guarded by `lock_` of the node that owns them: a node's `parent_` and its own
// list by its lock; its sibling links by its parent's lock.
//
// Lock order: a parent's lock before its child's, always (cancel walks down, detach locks the
// parent first, re-checking the link after taking both).
//
// References: `refs_` counts one for "some handle (CancellationToken) is alive" and one per child
// linked under this node (a child keeps its parent alive). `handles_` counts the tokens. When the
// last token goes, the node detaches: its children move to its parent (or become roots), it leaves
// its parent's list, and it drops its handle reference. So a dropped child leaves nothing behind in
// its parent, and a grandchild is still cancelled by its grandparent.
//
// Cancel (tokio's algorithm, no recursion, no allocation): under the node's lock, pop each child;
// under the child's lock detach it and take its children: a grandchild without children is
// cancelled on the spot, one with children is adopted by the node (so the loop reaches it later).
// Each cancelled node stores `cancelled_` (seq_cst) and then wakes its EventWaiters, which
// collects the wakers in a WakeBatch: nothing allocates.
//
// User code under the locks: a child's std::stop_source (stop_token()) is stopped while the
// cancelling node's lock is held, so its std::stop_callbacks run there. They may cancel tokens of
// this tree that are already being cancelled (the flag and `canceller_` are checked before any
// lock) or of other trees; cancelling an ancestor that is not cancelled yet, or making or dropping tokens of this
// tree, would spin on a lock this thread holds (documented on CancellationToken::stop_token).
//
// Orders: `cancelled_` is stored and loaded seq_cst: the EventWaiters protocol (its waiters read it
// in their ready check) needs the store-buffering pair; is_cancelled() callers get acquire for free.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

#include <weft/runtime/detail/spin_lock.hpp>

#include "event_waiters.hpp"

namespace weft::detail {

class CancellationNode {
public:
    CancellationNode() = default;
    CancellationNode(const CancellationNode&) = delete;
    CancellationNode& operator=(const CancellationNode&) = delete;

    bool is_cancelled() const noexcept { return cancelled_.load(std::memory_order_seq_cst); }
    EventWaiters& waiters() noexcept { return waiters_; }

    void add_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
    // The last handle gone: detach from the tree, then drop the handles' reference.
    void drop_handle() noexcept {
        // acq_rel: the last handle must see the others' use before detaching (and deleting).
        if (handles_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        detach();
        drop_ref();
    }

    // A new node under `parent` (cancelled at once if the parent is).
    static CancellationNode* make_child(CancellationNode* parent) {
        auto* child = new CancellationNode();
        std::unique_lock lock(parent->lock_);
        if (parent->cancelled_.load(std::memory_order_relaxed)) {
            lock.unlock();
            child->cancelled_.store(true, std::memory_order_seq_cst);  // nobody waits on it yet
            return child;
        }
        parent->add_ref();
        child->parent_ = parent;  // the child is not shared yet: no need for its lock
        parent->link_child(child);
        return child;
    }

    void cancel() noexcept {
        // A child's stop callback (run below, under our lock) that cancels this node again
        // returns here instead of spinning on our lock. Another thread's cancel takes the lock,
        // so it returns only once the walk below is done (the children are cancelled by then).
        if (is_cancelled() && canceller_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
        std::unique_lock lock(lock_);
        if (cancelled_.load(std::memory_order_relaxed)) return;
        begin_cancel();
        while (CancellationNode* child = first_child_) {
            unlink_child(child);
            std::unique_lock child_lock(child->lock_);
            child->parent_ = nullptr;
            drop_ref_locked();  // the child's reference on us
            if (child->cancelled_.load(std::memory_order_relaxed)) continue;
            child->begin_cancel();  // its grandchildren's stop callbacks run while we hold its lock
            while (CancellationNode* grandchild = child->first_child_) {
                child->unlink_child(grandchild);
                child->drop_ref_locked();  // the grandchild's reference on the child
                std::unique_lock grandchild_lock(grandchild->lock_);
                if (grandchild->cancelled_.load(std::memory_order_relaxed)) {
                    grandchild->parent_ = nullptr;
                    continue;
                }
                if (grandchild->first_child_ == nullptr) {
                    grandchild->parent_ = nullptr;
                    grandchild->mark_cancelled_and_wake(grandchild_lock, true);
                } else {
                    add_ref();  // adopted: it refers to us now
                    grandchild->parent_ = this;
                    link_child(grandchild);
                }
            }
            child->mark_cancelled_and_wake(child_lock, true);
        }
        mark_cancelled_and_wake(lock, false);
    }

    // A std::stop_token stopped when this node is cancelled (a stop_source made on first use).
    std::stop_token stop_token() {
        std::unique_lock lock(lock_);
        if (!stop_source_.stop_possible()) stop_source_ = std::stop_source();
        std::stop_source source = stop_source_;
        const bool cancelled = cancelled_.load(std::memory_order_relaxed);
        lock.unlock();
        if (cancelled) source.request_stop();
        return source.get_token();
    }

    // Cancels this node when `token` is stopped, for as long as the node lives.
    void cancel_on_stop(std::stop_token token) { on_stop_.emplace(std::move(token), StopCancels{this}); }

private:
    struct StopCancels {
        CancellationNode* node;
        void operator()() const noexcept { node->cancel(); }
    };

    ~CancellationNode() = default;  // through drop_ref only; on_stop_ deregisters first

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void drop_ref() noexcept {
        // acq_rel: every owner's writes happen before the delete.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    // A reference known not to be the last (its owner still holds another one).
    void drop_ref_locked() noexcept { refs_.fetch_sub(1, std::memory_order_relaxed); }

    // Under our lock, before any user code can run under it: marks the node cancelled (woken
    // later) and this thread as the one walking it, so a re-entered cancel() returns at once.
    void begin_cancel() noexcept {
        // relaxed: written once; another thread reading it sees the default id or ours, never its own.
        canceller_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        cancelled_.store(true, std::memory_order_seq_cst);
    }

    // Under our lock (which `lock` holds and releases): publishes the cancellation and wakes.
    // A descendant detached by the walk may lose its last handle (and be freed) as soon as its lock
    // is released: the walk holds a reference on it until done (`is_descendant`). The node
    // cancel() was called on is kept alive by its caller: a handle, or for a stop callback the
    // node's destructor, which waits for a running callback; a reference taken here could bring
    // its count back to zero a second time.
    void mark_cancelled_and_wake(std::unique_lock<SpinLock>& lock, bool is_descendant) noexcept {
        cancelled_.store(true, std::memory_order_seq_cst);  // seq_cst: see the file comment
        std::stop_source source = stop_source_;             // copying takes a reference, no allocation
        if (is_descendant) add_ref();
        lock.unlock();
        waiters_.wake_all();
        if (source.stop_possible()) source.request_stop();
        if (is_descendant) drop_ref();  // may free it: we are done with it
    }

    // Under our lock.
    void link_child(CancellationNode* child) noexcept {
        child->prev_sibling_ = nullptr;
        child->next_sibling_ = first_child_;
        if (first_child_) first_child_->prev_sibling_ = child;
        first_child_ = child;
    }
    void unlink_child(CancellationNode* child) noexcept {
        if (child->prev_sibling_) child->prev_sibling_->next_sibling_ = child->next_sibling_;
        else first_child_ = child->next_sibling_;
        if (child->next_sibling_) child->next_sibling_->prev_sibling_ = child->prev_sibling_;
        child->prev_sibling_ = child->next_sibling_ = nullptr;
    }

    // Leaves the tree: children go to our parent (or become roots), we leave our parent's list.
    void detach() noexcept {
        for (;;) {
            std::unique_lock lock(lock_);
            CancellationNode* parent = parent_;
            if (parent == nullptr) {
                while (CancellationNode* child = first_child_) {
                    unlink_child(child);
                    std::lock_guard child_lock(child->lock_);
                    child->parent_ = nullptr;
                    drop_ref_locked();
                }
                return;
            }
            parent->add_ref();  // keeps it alive while we take the locks in order
            lock.unlock();
            std::unique_lock parent_lock(parent->lock_);
            lock.lock();
            if (parent_ != parent) {  // a cancel detached us meanwhile: start over
                lock.unlock();
                parent_lock.unlock();
                parent->drop_ref();
                continue;
            }
            while (CancellationNode* child = first_child_) {
                unlink_child(child);
                std::lock_guard child_lock(child->lock_);
                child->parent_ = parent;
                parent->add_ref();
                drop_ref_locked();
                parent->link_child(child);
            }
            parent->unlink_child(this);
            parent_ = nullptr;
            lock.unlock();
            parent_lock.unlock();
            parent->drop_ref_locked();  // the temporary one: ours below still holds it
            parent->drop_ref();         // ours, as its child
            return;
        }
    }

    std::atomic<bool> cancelled_{false};
    std::atomic<std::thread::id> canceller_{};  // the thread that ran the cancel walk
    std::atomic<std::size_t> refs_{1};     // the handles' one, plus one per linked child
    std::atomic<std::size_t> handles_{1};  // CancellationToken copies
    SpinLock lock_;
    CancellationNode* parent_ = nullptr;        // under lock_
    CancellationNode* first_child_ = nullptr;   // under lock_
    CancellationNode* prev_sibling_ = nullptr;  // under the parent's lock
    CancellationNode* next_sibling_ = nullptr;  // under the parent's lock
    std::stop_source stop_source_{std::nostopstate};  // under lock_; made by stop_token()
    EventWaiters waiters_;
    std::optional<std::stop_callback<StopCancels>> on_stop_;  // set once, before sharing
};

}  // namespace weft::detail
