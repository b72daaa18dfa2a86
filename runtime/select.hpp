// select: wait for the first of several operations, and cancel the others cleanly (see weft::select).
#pragma once

#include "detail/language_check.hpp"

#include <coroutine>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "detail/context.hpp"
#include "detail/leaf.hpp"

namespace weft {

namespace detail {

template <class A>
using select_result_t = std::conditional_t<std::is_void_v<decltype(std::declval<A&>().await_resume())>, std::monostate,
                                           decltype(std::declval<A&>().await_resume())>;

// The awaiter a select branch holds: a reference to a leaf the caller built, or (for awaitables
// such as JoinHandle) the leaf awaiter their operator co_await returns, by value.
template <class O>
struct SelectBranch;
template <LeafAwaitable O>
struct SelectBranch<O> {
    using Leaf = std::remove_cvref_t<O>;
    using Held = Leaf&;
    static Held hold(O&& o) noexcept { return o; }
};
template <class O>
    requires(!LeafAwaitable<O> && HasLeafAwaiter<O>)
struct SelectBranch<O> {
    using Leaf = decltype(std::declval<std::remove_cvref_t<O>&>().operator co_await());
    using Held = Leaf;
    static Held hold(O&& o) { return o.operator co_await(); }
};

template <class... Held>
class WEFT_MUST_AWAIT Select final : public Pollable {
public:
    using Result = std::variant<select_result_t<std::remove_reference_t<Held>>...>;

    explicit Select(Held... branches) : branches_(std::forward<Held>(branches)...) {}

    bool await_ready() {
        return first_of([](auto& leaf) { return leaf.await_ready(); });
    }
    bool await_suspend(std::coroutine_handle<> h) {
        const bool done = first_of([h](auto& leaf) { return !suspend_leaf(leaf, h); });
        if (done) return false;
        set_pending_poll(this);  // in place of the branches' own registrations: we poll them all
        return true;
    }
    bool poll_ready() noexcept override {
        return first_of([](auto& leaf) noexcept { return static_cast<Pollable&>(leaf).poll_ready(); });
    }
    Result await_resume() { return resume_winner(std::index_sequence_for<Held...>{}); }

private:
    // Calls `f` on each branch in order until one returns true; records that one as the winner.
    template <class F>
    bool first_of(F&& f) {
        return first_of_impl(f, std::index_sequence_for<Held...>{});
    }
    template <class F, std::size_t... I>
    bool first_of_impl(F& f, std::index_sequence<I...>) {
        return ((f(std::get<I>(branches_)) && (winner_ = I, true)) || ...);
    }

    template <std::size_t I>
    Result resume_one() {
        auto& leaf = std::get<I>(branches_);
        if constexpr (std::is_void_v<decltype(leaf.await_resume())>) {
            leaf.await_resume();
            return Result(std::in_place_index<I>);
        } else {
            return Result(std::in_place_index<I>, leaf.await_resume());
        }
    }
    template <std::size_t... I>
    Result resume_winner(std::index_sequence<I...>) {
        using Resume = Result (Select::*)();
        static constexpr Resume table[] = {&Select::resume_one<I>...};
        return (this->*table[winner_])();
    }

    std::tuple<Held...> branches_;
    std::size_t winner_ = 0;
};

}  // namespace detail

/// `co_await select(op1, op2, ...)`: waits for the first of several operations, and cancels the
/// others cleanly.
///
///     auto r = co_await weft::select(commands.recv(), shutdown.recv(), weft::sleep(1s));
///     switch (r.index()) {
///         case 0: handle(std::get<0>(r)); break;   // std::optional<Command>
///         case 1: ...                              // the shutdown signal
///         case 2: ...                              // the timer (void results are std::monostate)
///     }
///
/// The operations are weft's leaf awaitables: channel send and recv, oneshot receive, sleep,
/// JoinHandle, Semaphore/Mutex/Notify waits, TCP reads and writes. They run inside the awaiting
/// task (no spawn, no allocation) and share its waker. Yields std::variant<R0, R1, ...> holding
/// the result of the one that completed.
///
/// Biased, like `tokio::select! { biased; ... }`: whenever several are ready, the first listed wins,
/// so list the one that must not starve first (a shutdown signal, say).
///
/// The losers are cancelled by destroying them where they wait: a receive that lost keeps its
/// message in the channel (the next recv gets it), a send that lost did not send (its value is
/// dropped with it: select over `tx.reserve()` to keep the value), a sleep that lost is taken off
/// the timer wheel, a lock that lost gives its place in line back. The same holds when the whole
/// select is abandoned (its task aborted, an enclosing timeout): select is as cancellation-safe
/// as its least safe branch.
///
/// A Task<T> is not a leaf: spawn it and select on its JoinHandle, or bound it with timeout().
/// Await select in the expression that builds it: it refers to the operations, which live until
/// the end of that expression. Await only inside a task run by a weft runtime.
///
/// @throws std::logic_error if it has to wait outside a task run by a weft runtime; otherwise
/// whatever an operation throws as it registers or yields its result.
template <class... Ops>
auto select(Ops&&... ops) {
    static_assert(sizeof...(Ops) >= 1, "weft::select needs at least one operation");
    static_assert(((detail::LeafAwaitable<Ops> || detail::HasLeafAwaiter<Ops>) && ...),
                  "weft::select takes weft leaf awaitables (channel send/recv, oneshot, sleep, JoinHandle, sync "
                  "waits, TCP I/O); spawn a Task and select on its JoinHandle");
    return detail::Select<typename detail::SelectBranch<Ops>::Held...>(
        detail::SelectBranch<Ops>::hold(std::forward<Ops>(ops))...);
}

}  // namespace weft
