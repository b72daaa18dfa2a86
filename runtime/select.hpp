// select: wait for the first of several operations, and cancel the others cleanly (see weft::select).
#pragma once

#include "detail/language_check.hpp"

#include <array>
#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "detail/branch.hpp"
#include "detail/context.hpp"
#include "detail/leaf.hpp"
#include "detail/some_branch.hpp"
#include "task.hpp"

namespace weft {

/// The `else` of a select: pass `weft::select_else` as the last operand, and a select whose
/// branches are all disabled (see branch_if) yields this alternative at once instead of throwing.
struct SelectElse {
    /// The tag.
    constexpr SelectElse() noexcept = default;
};
/// The `else` operand of select, and the type of its result alternative.
inline constexpr SelectElse select_else{};

namespace detail {

// branch_if's result: an operand and whether its branch takes part. Has a constructor, not an
// aggregate: g++ 12 mishandles aggregate temporaries in a co_await operand (README, Pitfalls).
template <class O>
class [[nodiscard]] Conditional {
public:
    using operand_type = O;
    Conditional(bool is_enabled, O&& op) noexcept : enabled(is_enabled), operand(std::forward<O>(op)) {}
    Conditional(const Conditional&) = delete;
    bool enabled;
    O&& operand;
};

template <class T>
inline constexpr bool IsConditional = false;
template <class O>
inline constexpr bool IsConditional<Conditional<O>> = true;

// How select reads one operand: a plain one is always enabled; branch_if's carries its flag.
template <class Op>
struct SelectOperand {
    using Branch = typename PatternBranchFor<Op>::type;
    static bool enabled(const std::remove_reference_t<Op>&) noexcept { return true; }
    static Branch make(std::remove_reference_t<Op>& op) { return PatternBranchFor<Op>::make(std::forward<Op>(op)); }
};
template <class Op>
    requires IsConditional<std::remove_cvref_t<Op>>
struct SelectOperand<Op> {
    using Inner = typename std::remove_cvref_t<Op>::operand_type;
    using Branch = typename PatternBranchFor<Inner>::type;
    static bool enabled(const std::remove_reference_t<Op>& c) noexcept { return c.enabled; }
    static Branch make(std::remove_reference_t<Op>& c) { return PatternBranchFor<Inner>::make(std::forward<Inner>(c.operand)); }
};

// The index of the first task branch (sizeof...(B) if none): leaves before it are asked
// await_ready before anything runs; the others right before they start, in listed order.
template <class... B>
constexpr std::size_t first_task_index() {
    constexpr bool is_task[] = {B::is_task..., true};
    std::size_t i = 0;
    while (!is_task[i]) ++i;
    return i;
}

template <bool HasElse, class... B>
class WEFT_MUST_AWAIT Select final : public Pollable {
public:
    static constexpr std::size_t kBranches = sizeof...(B);
    static constexpr std::size_t kNone = kBranches;     // winner_ while no branch has won
    static constexpr std::size_t kElse = kBranches + 1; // winner_ once every branch is disabled
    using Result = std::conditional_t<HasElse, std::variant<typename B::Value..., SelectElse>,
                                      std::variant<typename B::Value...>>;

    explicit Select(std::array<bool, kBranches> enabled, B... branches)
        : branches_(std::move(branches)...), enabled_(enabled) {}
    Select(const Select&) = delete;
    ~Select() { cancel_branches(branches_, task_, kIndices); }

    bool await_ready() {
        bool any = false;
        for (bool e : enabled_) any = any || e;
        if (!any) {
            if constexpr (HasElse) {
                winner_ = kElse;
                return true;
            } else {
                throw std::logic_error("weft: select with every branch disabled and no select_else would wait for ever");
            }
        }
        winner_ = first_branch(branches_, [this](auto& b, auto i) {
            if constexpr (decltype(i)::value >= kLeadingLeaves) return false;
            else return enabled_[i] && b.ready();
        }, kIndices);
        return winner_ < kBranches || all_disabled();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        task_ = task_for_branches<B...>();
        CombinatorPendingPoll pending;  // clears what started leaves named, unless we suspend
        winner_ = first_branch(branches_, [this, h](auto& b, auto i) {
            if (!enabled_[i]) return false;
            if (i >= kLeadingLeaves && b.ready()) return true;
            return b.start(task_, h);
        }, kIndices);
        if (winner_ < kBranches || all_disabled()) return false;
        pending.suspend_on(this);  // in place of the branches' own registrations: we poll them all
        return true;
    }
    bool poll_ready() noexcept override {
        winner_ = first_branch(branches_, [this](auto& b, auto i) noexcept { return enabled_[i] && b.poll(task_); },
                               kIndices);
        return winner_ < kBranches || all_disabled();
    }
    bool settle_for_abort() noexcept override {
        std::apply([](auto&... b) { (b.settle_for_abort(), ...); }, branches_);
        return false;
    }
    Result await_resume() {
        cancel_losers(kIndices);  // before select returns, as Tokio drops the losing futures
        if (winner_ == kElse) {
            if constexpr (HasElse) {
                return Result(std::in_place_index<kBranches>);
            } else {
                throw std::logic_error("weft: every branch of the select was disabled by its pattern (branch_some) "
                                       "and there is no select_else");
            }
        }
        return resume_winner();
    }

private:
    static constexpr std::size_t kLeadingLeaves = first_task_index<B...>();
    static constexpr auto kIndices = std::index_sequence_for<B...>{};

    // No branch can win any more (preconditions and branch_some patterns): the else is taken.
    bool all_disabled() noexcept {
        const bool none = std::apply([this](const auto&... b) {
            std::size_t i = 0;
            return ((!enabled_[i++] || branch_disabled(b)) && ...);
        }, branches_);
        if (none) winner_ = kElse;
        return none;
    }
    template <std::size_t... I>
    void cancel_losers(std::index_sequence<I...>) noexcept {
        ((I != winner_ ? std::get<I>(branches_).cancel(task_) : void()), ...);
    }
    // The winner's result: an if-chain over the branch indices.
    template <std::size_t I = 0>
    Result resume_winner() {
        if constexpr (I + 1 < kBranches) {
            if (winner_ != I) return resume_winner<I + 1>();
        }
        return Result(std::in_place_index<I>, std::get<I>(branches_).take());
    }

    std::tuple<B...> branches_;
    std::array<bool, kBranches> enabled_;
    std::size_t winner_ = kNone;
    TaskHeader* task_ = nullptr;  // the task the branches run in (set when they start)
};

template <bool HasElse, class Ops, std::size_t... I>
auto make_select(Ops ops, std::index_sequence<I...>) {
    using S = Select<HasElse, typename SelectOperand<std::tuple_element_t<I, Ops>>::Branch...>;
    return S(std::array<bool, sizeof...(I)>{SelectOperand<std::tuple_element_t<I, Ops>>::enabled(std::get<I>(ops))...},
             SelectOperand<std::tuple_element_t<I, Ops>>::make(std::get<I>(ops))...);
}

template <class Op>
concept SelectOperandType = PatternOperand<Op> || IsConditional<std::remove_cvref_t<Op>>;

}  // namespace detail

/// A select branch that takes part only if `enabled`, as a `tokio::select!` precondition
/// (`op, if cond => ...`): `co_await weft::select(weft::branch_if(!done, rx.recv()), ...)`.
/// A disabled branch is not started (a disabled Task never runs and is destroyed with the select,
/// a disabled leaf never registers) and never wins; its alternative stays in the result variant.
/// If every branch is disabled, the select yields `select_else` if given, else throws
/// std::logic_error (Tokio panics). Refers to `op`: write it inside the select's co_await.
template <class Op>
detail::Conditional<Op> branch_if(bool enabled, Op&& op) {
    static_assert(detail::PatternOperand<Op>,
                  "weft::branch_if takes what select takes: a leaf awaitable, a Task or a branch_some");
    return detail::Conditional<Op>(enabled, std::forward<Op>(op));
}

/// A select branch that wins only with a value, as a `Some(v) = op` pattern in tokio::select!:
/// `co_await weft::select(weft::branch_some(a.recv()), weft::branch_some(b.recv()), weft::select_else)`.
/// `op` yields a std::optional<T> (a channel's recv, a Task<std::optional<T>>); its alternative in
/// the result is the T. When the operation completes empty (the channel closed and drained), the
/// branch is disabled for the rest of this select, which goes on waiting for the others; once
/// every branch is disabled, the select yields `select_else`, or throws std::logic_error without
/// one (Tokio panics). An exception from the operation wins, as for any branch. Combines with
/// branch_if (`branch_if(cond, branch_some(op))`). Refers to `op`: write it inside the select's
/// co_await.
template <class Op>
detail::SomePattern<Op> branch_some(Op&& op) {
    static_assert(detail::BranchOperand<Op>, "weft::branch_some takes a leaf awaitable or a Task");
    return detail::SomePattern<Op>(std::forward<Op>(op));
}

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
/// Operands are weft's leaf awaitables (channel send and recv, oneshot receive, sleep, JoinHandle,
/// Semaphore/Mutex/Notify waits, TCP reads and writes) and Task<T>s, mixed freely. Yields
/// std::variant<R0, R1, ...> holding the result of the one that completed (void: std::monostate).
/// Everything runs inside the awaiting task: no spawn, no allocation beyond the tasks' frames.
///
/// A Task<T> operand (by value: std::move it in, or call the coroutine in place) runs inline,
/// concurrently with the other branches: it starts when the select is awaited, runs until it first
/// waits, and is resumed whenever what it waits on is ready, as a spawned task would be. So
/// `accept()`, `connect()`, `read_line()`, a Redis call or any user task can race a timer, a
/// channel or each other. It completes the select when it returns, or when it throws: the
/// exception is then the select's result, rethrown by co_await, and the other branches are
/// cancelled as if it had won.
///
/// Biased, like `tokio::select! { biased; ... }`: whenever several are ready, the first listed wins,
/// so list the one that must not starve first (a shutdown signal, say). A Task branch counts as
/// ready when it completes while it is run or polled in its turn.
///
/// The losers are cancelled before select returns, as tokio::select! drops its losing futures:
/// a losing Task's frames are destroyed where they wait (destructors run; it does nothing more:
/// code after its wait never runs), with whatever leaf it waited on; a receive that lost keeps its
/// message in the channel (the next recv gets it), a send that lost did not send (its value is
/// dropped with it: select over `tx.reserve()` to keep the value), a sleep that lost is taken off
/// the timer wheel, a lock that lost gives its place in line back. The same holds when the whole
/// select is abandoned (its task aborted, an enclosing timeout): select is as cancellation-safe
/// as its least safe branch (a Task branch: as safe as the wait it is destroyed at).
///
/// Preconditions and else, as tokio::select! has them: `branch_if(cond, op)` disables a branch;
/// `weft::select_else` as the last operand adds a `SelectElse` alternative, yielded at once when
/// every branch is disabled:
///
///     auto r = co_await weft::select(weft::branch_if(a_open, a.recv()), weft::branch_if(b_open, b.recv()),
///                                    weft::select_else);
///     if (r.index() == 2) ...;   // both disabled: std::holds_alternative<weft::SelectElse>(r)
///
/// A plain branch wins with whatever its operation yields: a closed channel's recv wins with an
/// empty optional. Wrap it in `branch_some` to have the empty result disable the branch instead
/// (Tokio's `Some(v) = rx.recv()` pattern), so a loop over several channels ends in the else once
/// every one of them is closed.
///
/// Await select in the expression that builds it: it refers to the leaf operations, which live
/// until the end of that expression. Await only inside a task run by a weft runtime.
///
/// @throws std::logic_error if it has to wait outside a task run by a weft runtime (with a Task
/// operand: always outside one), if a Task operand is empty or already awaited, or if every
/// branch is disabled and there is no select_else; otherwise whatever an operation throws as it
/// registers or yields its result, or a Task branch's exception.
template <class... Ops>
auto select(Ops&&... ops) {
    static_assert(sizeof...(Ops) >= 1, "weft::select needs at least one operation");
    constexpr bool has_else = std::is_same_v<std::remove_cvref_t<std::tuple_element_t<sizeof...(Ops) - 1, std::tuple<Ops...>>>, SelectElse>;
    constexpr std::size_t branches = sizeof...(Ops) - (has_else ? 1 : 0);
    static_assert(branches >= 1, "weft::select needs at least one operation besides select_else");
    static_assert((... + std::is_same_v<std::remove_cvref_t<Ops>, SelectElse>) <= 1 &&
                      (has_else || (... + std::is_same_v<std::remove_cvref_t<Ops>, SelectElse>) == 0),
                  "weft::select_else goes last, once");
    static_assert(((detail::SelectOperandType<Ops> || std::is_same_v<std::remove_cvref_t<Ops>, SelectElse>) && ...),
                  "weft::select takes weft leaf awaitables (channel send/recv, oneshot, sleep, JoinHandle, sync "
                  "waits, TCP I/O), Tasks (by value), branch_if(cond, op), branch_some(op) and a final select_else");
    return detail::make_select<has_else>(std::forward_as_tuple(std::forward<Ops>(ops)...),
                                         std::make_index_sequence<branches>{});
}

}  // namespace weft
