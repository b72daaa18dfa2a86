// join and try_join: run several operations concurrently inside the awaiting task and wait for all
// of them (see weft::join).
#pragma once

#include "detail/language_check.hpp"

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "detail/branch.hpp"
#include "detail/context.hpp"
#include "detail/leaf.hpp"
#include "task.hpp"

namespace weft {

namespace detail {

// `kTry`: the first exception ends the join (try_join); otherwise every branch runs to its end.
template <bool kTry, class... B>
class WEFT_MUST_AWAIT Join final : public Pollable {
public:
    using Result = std::tuple<typename B::Value...>;

    explicit Join(B... branches) : branches_(std::move(branches)...) {}
    Join(const Join&) = delete;
    ~Join() { cancel_branches(branches_, task_, kIndices); }

    bool await_ready() {
        // Leaves only (a task's readiness is known by running it): all ready, or a try_join error.
        if constexpr ((B::is_task || ...)) {
            return false;
        } else {
            const std::size_t over = first_branch(branches_, [this](auto& b, auto i) {
                if (!b.ready()) return false;
                return complete<decltype(i)::value>(b);
            }, kIndices);
            checked_ = true;
            return over < kBranches;
        }
    }
    bool await_suspend(std::coroutine_handle<> h) {
        task_ = task_for_branches<B...>();
        CombinatorPendingPoll pending;  // clears what started leaves named, unless we suspend
        const std::size_t over = first_branch(branches_, [this, h](auto& b, auto i) {
            if (done_[i]) return false;
            const bool finished = (!checked_ && b.ready()) || b.start(task_, h);
            return finished && complete<decltype(i)::value>(b);
        }, kIndices);
        if (over < kBranches) return false;
        pending.suspend_on(this);  // in place of the branches' own registrations: we poll them all
        return true;
    }
    bool poll_ready() noexcept override {
        const std::size_t over = first_branch(branches_, [this](auto& b, auto i) noexcept {
            return !done_[i] && b.poll(task_) && complete<decltype(i)::value>(b);
        }, kIndices);
        return over < kBranches;
    }
    bool settle_for_abort() noexcept override {
        std::apply([](auto&... b) { (b.settle_for_abort(), ...); }, branches_);
        return false;
    }
    Result await_resume() {
        cancel_branches(branches_, task_, kIndices);  // try_join's unfinished ones; the rest are done
        if (error_) std::rethrow_exception(error_);
        return take_values(kIndices);
    }

private:
    static constexpr std::size_t kBranches = sizeof...(B);
    static constexpr auto kIndices = std::index_sequence_for<B...>{};

    // Branch I completed: takes its value, or its exception. True if the join is over.
    template <std::size_t I, class Branch>
    bool complete(Branch& b) noexcept {
        done_[I] = true;
        --remaining_;
        try {
            std::get<I>(values_).emplace(b.take());
        } catch (...) {
            if (!error_) error_ = std::current_exception();
            if constexpr (kTry) return true;
        }
        return remaining_ == 0;
    }
    template <std::size_t... I>
    Result take_values(std::index_sequence<I...>) {
        return Result(std::move(*std::get<I>(values_))...);
    }

    std::tuple<B...> branches_;
    std::tuple<std::optional<typename B::Value>...> values_;
    std::array<bool, kBranches> done_{};
    std::size_t remaining_ = kBranches;
    std::exception_ptr error_;    // the first exception, in completion order
    bool checked_ = false;        // await_ready asked the leaves already
    TaskHeader* task_ = nullptr;  // the task the branches run in (set when they start)
};

template <class Op>
using JoinBranch = typename BranchFor<Op>::type;

}  // namespace detail

/// `co_await join(op1, op2, ...)`: runs every operation concurrently and waits for all of them,
/// as tokio::join! does; yields std::tuple<R1, R2, ...> of their results (void: std::monostate).
///
///     auto [user, orders] = co_await weft::join(fetch_user(id), fetch_orders(id));
///
/// Operands are what select takes: Task<T>s (by value) and weft's leaf awaitables (channel
/// operations, sleep, JoinHandle, sync waits, TCP I/O), mixed freely. They run inside the awaiting
/// task, not spawned: a Task operand starts when the join is awaited and is resumed whenever what
/// it waits on is ready; all of them share one worker, so the concurrency is interleaving, not
/// parallelism (spawn for that, and join the JoinHandles).
///
/// An operand that throws does not stop the others: join waits for every one, then rethrows the
/// first exception (in completion order) and the other results are dropped. To stop at the first
/// error, use try_join.
///
/// Cancellation: abandoning the join (its task aborted, an enclosing timeout or select) destroys
/// every unfinished Task where it waits and cancels every unfinished leaf, as each is cancelled
/// alone. Await join in the expression that builds it (it refers to the leaf operations). Await
/// only inside a task run by a weft runtime.
///
/// @throws std::logic_error outside a task run by a weft runtime (with a Task operand: always), or
/// if a Task operand is empty or already awaited; rethrows an operand's exception.
template <class... Ops>
auto join(Ops&&... ops) {
    static_assert(sizeof...(Ops) >= 1, "weft::join needs at least one operation");
    static_assert((detail::BranchOperand<Ops> && ...),
                  "weft::join takes Tasks (by value) and weft leaf awaitables (channel operations, sleep, "
                  "JoinHandle, sync waits, TCP I/O)");
    return detail::Join<false, detail::JoinBranch<Ops>...>(detail::BranchFor<Ops>::make(std::forward<Ops>(ops))...);
}

/// `co_await try_join(op1, op2, ...)`: like join, but the first operand to throw ends it, as
/// tokio::try_join! does with the first Err: the unfinished Tasks are destroyed where they wait
/// (destructors run) and the unfinished leaves cancelled, all before the exception is rethrown.
/// Yields the tuple of results when every operand completed without throwing.
///
///     auto [a, b, c] = co_await weft::try_join(load(1), load(2), load(3));   // or throws
///
/// @throws as join; an operand's exception is rethrown as soon as it is thrown.
template <class... Ops>
auto try_join(Ops&&... ops) {
    static_assert(sizeof...(Ops) >= 1, "weft::try_join needs at least one operation");
    static_assert((detail::BranchOperand<Ops> && ...),
                  "weft::try_join takes Tasks (by value) and weft leaf awaitables (channel operations, sleep, "
                  "JoinHandle, sync waits, TCP I/O)");
    return detail::Join<true, detail::JoinBranch<Ops>...>(detail::BranchFor<Ops>::make(std::forward<Ops>(ops))...);
}

}  // namespace weft
