// Helpers for combinators (timeout, select) that drive weft's leaf awaitables themselves.
#pragma once

#include <coroutine>
#include <type_traits>
#include <utility>

#include "context.hpp"

namespace weft::detail {

// A weft leaf awaitable: it registers the task's waker itself and is polled by the worker.
template <class O>
concept LeafAwaitable = std::is_base_of_v<Pollable, std::remove_cvref_t<O>>;
// An awaitable whose operator co_await yields a leaf (a JoinHandle, a oneshot receiver).
template <class O>
concept HasLeafAwaiter = requires(std::remove_cvref_t<O>& o) {
    { o.operator co_await() } -> LeafAwaitable;
};

// Any awaiter that follows weft's protocol: a leaf, or one marked NativeAwaiter.
template <class A>
concept WeftAwaiter = LeafAwaitable<A> || std::is_base_of_v<NativeAwaiter, std::remove_cvref_t<A>>;
// What a Task's promise lets through unchanged: a weft awaiter, or an awaitable whose operator
// co_await yields one (a Task, a JoinHandle, a oneshot receiver).
template <class O>
concept WeftAwaitable = WeftAwaiter<O> || requires(O&& o) {
    { std::forward<O>(o).operator co_await() } -> WeftAwaiter;
};

// Runs `leaf.await_suspend(h)`. Returns true if the leaf now waits (the caller must suspend),
// false if it completed on the spot. A leaf with `enter_race()` is told first that the combinator
// may drop it after it completes (an mpsc send then never sends on its own while it waits).
template <class Leaf>
bool suspend_leaf(Leaf& leaf, std::coroutine_handle<> h) {
    if constexpr (requires { leaf.enter_race(); }) leaf.enter_race();
    using Suspend = decltype(leaf.await_suspend(h));
    if constexpr (std::is_same_v<Suspend, bool>) {
        return leaf.await_suspend(h);
    } else {
        static_assert(std::is_void_v<Suspend>, "weft: a leaf awaitable's await_suspend must return bool or void");
        leaf.await_suspend(h);
        return true;
    }
}

}  // namespace weft::detail
