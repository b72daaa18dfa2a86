// The operands of select and join, behind one interface: a leaf awaitable, or a Task run inline.
#pragma once

#include <coroutine>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "../task.hpp"
#include "inline_child.hpp"
#include "leaf.hpp"

namespace weft::detail {

// What a branch yields: the operation's result, std::monostate for void.
template <class R>
using branch_value_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// Every branch has the same steps, each returning true once the operation completed:
//   ready()        before suspending (leaves only: a task's readiness is known by running it);
//   start(task, h) starts waiting (a leaf registers the waker; a task runs until it suspends);
//   poll(task)     the task was woken; take() yields the result or rethrows; cancel(task) drops
//                  a task branch's frames where they wait (a leaf is cancelled by its destructor).

// A leaf: `Held` is `Leaf&` for one the caller built (it lives in the co_await expression), or
// `Leaf` for the awaiter an awaitable's operator co_await returns (a JoinHandle's), held by value.
template <class Leaf, class Held>
class LeafBranch {
public:
    using Value = branch_value_t<decltype(std::declval<Leaf&>().await_resume())>;
    static constexpr bool is_task = false;

    explicit LeafBranch(Held leaf) noexcept(std::is_reference_v<Held>) : leaf_(std::forward<Held>(leaf)) {}

    bool ready() { return leaf_.await_ready(); }
    bool start(TaskHeader*, std::coroutine_handle<> h) { return !suspend_leaf(leaf_, h); }
    bool poll(TaskHeader*) noexcept { return static_cast<Pollable&>(leaf_).poll_ready(); }
    Value take() {
        if constexpr (std::is_void_v<decltype(leaf_.await_resume())>) {
            leaf_.await_resume();
            return Value{};
        } else {
            return leaf_.await_resume();
        }
    }
    void cancel(TaskHeader*) noexcept {}
    void settle_for_abort() noexcept {}

private:
    Held leaf_;
};

// A Task<T>, owned, run inline in the awaiting task (see InlineChild).
template <class T>
class TaskBranch {
public:
    using Value = branch_value_t<T>;
    static constexpr bool is_task = true;

    explicit TaskBranch(Task<T> task) noexcept : task_(std::move(task)) {}
    TaskBranch(TaskBranch&&) noexcept = default;

    bool ready() {
        if (!task_.valid()) throw std::logic_error("weft: select or join over an empty Task (moved from?)");
        if (task_.handle().done()) throw std::logic_error("weft: a Task can only be awaited once");
        return false;
    }
    bool start(TaskHeader* task, std::coroutine_handle<>) noexcept {
        task_.handle().promise().continuation_ = {};  // completion returns to drive(), not to a coroutine
        return child_.start(*task, task_.handle());
    }
    bool poll(TaskHeader* task) noexcept { return child_.poll(*task, task_.handle()); }
    Value take() {
        if constexpr (std::is_void_v<T>) {
            task_.handle().promise().result_.take();
            return Value{};
        } else {
            return task_.handle().promise().result_.take();
        }
    }
    void cancel(TaskHeader* task) noexcept {
        if (task_.valid()) child_.destroy(task, [this]() noexcept { task_ = Task<T>(); });
    }
    void settle_for_abort() noexcept { child_.settle_for_abort(); }

private:
    Task<T> task_;
    InlineChild child_;
};

// The branch type for an operand of type O (as passed: O&& binds it).
template <class O>
struct BranchFor;
template <class O>
    requires LeafAwaitable<O>
struct BranchFor<O> {
    using type = LeafBranch<std::remove_cvref_t<O>, std::remove_cvref_t<O>&>;
    static type make(O&& o) noexcept { return type(o); }
};
template <class O>
    requires(!LeafAwaitable<O> && HasLeafAwaiter<O>)
struct BranchFor<O> {
    using Leaf = decltype(std::declval<std::remove_cvref_t<O>&>().operator co_await());
    using type = LeafBranch<Leaf, Leaf>;
    static type make(O&& o) { return type(o.operator co_await()); }
};
template <class O>
    requires IsTask<std::remove_cvref_t<O>>
struct BranchFor<O> {
    static_assert(!std::is_lvalue_reference_v<O>, "weft: select and join take a Task by value: std::move it in");
    using type = TaskBranch<typename std::remove_cvref_t<O>::value_type>;
    static type make(O&& o) noexcept { return type(std::move(o)); }
};

template <class O>
concept BranchOperand = LeafAwaitable<O> || HasLeafAwaiter<O> || IsTask<std::remove_cvref_t<O>>;

// Applies `f(branch, index_constant)` to each branch in order until one returns true; returns
// that index, or sizeof...(B) if none did.
template <class Tuple, class F, std::size_t... I>
std::size_t first_branch(Tuple& branches, F&& f, std::index_sequence<I...>) {
    std::size_t hit = sizeof...(I);
    (void)((f(std::get<I>(branches), std::integral_constant<std::size_t, I>{}) && (hit = I, true)) || ...);
    return hit;
}

// Drops every task branch's frames (losers, unstarted tasks, or all on destruction).
template <class Tuple, std::size_t... I>
void cancel_branches(Tuple& branches, TaskHeader* task, std::index_sequence<I...>) noexcept {
    (std::get<I>(branches).cancel(task), ...);
}

// The spawned task the combinator runs in, for task branches (which need one).
template <class... B>
TaskHeader* task_for_branches() {
    if constexpr ((B::is_task || ...)) {
        TaskHeader* task = this_thread_context().task;
        if (!task) throw std::logic_error("weft: select or join over a Task must be awaited inside a task run by a weft runtime");
        return task;
    } else {
        return nullptr;
    }
}

}  // namespace weft::detail
