// branch_some's branch: a select branch that counts only when its operation yields a value, as a
// `Some(v) = op` pattern in tokio::select! does; an empty result disables the branch instead.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "branch.hpp"

namespace weft::detail {

template <class T>
inline constexpr bool IsOptional = false;
template <class U>
inline constexpr bool IsOptional<std::optional<U>> = true;

// branch_some's result: refers to the operand (it lives in the select's co_await expression).
template <class O>
class [[nodiscard]] SomePattern {
public:
    using operand_type = O;
    explicit SomePattern(O&& op) noexcept : operand(std::forward<O>(op)) {}
    SomePattern(const SomePattern&) = delete;
    O&& operand;
};

template <class T>
inline constexpr bool IsSomePattern = false;
template <class O>
inline constexpr bool IsSomePattern<SomePattern<O>> = true;

// Wraps the operand's branch. Once the operation completes, its result is taken at once: a value
// wins (and is handed out by take()), an empty optional disables the branch, which then never
// starts, polls or wins again. An exception wins, so select rethrows it as for any branch.
template <class Inner>
class SomeBranch {
public:
    static_assert(IsOptional<typename Inner::Value>,
                  "weft::branch_some takes an operation that yields a std::optional (a channel's recv, say)");
    using Value = typename Inner::Value::value_type;
    static constexpr bool is_task = Inner::is_task;

    explicit SomeBranch(Inner inner) noexcept(std::is_nothrow_move_constructible_v<Inner>) : inner_(std::move(inner)) {}
    SomeBranch(SomeBranch&&) noexcept(std::is_nothrow_move_constructible_v<Inner>) = default;

    bool disabled() const noexcept { return disabled_; }
    bool ready() {
        if (disabled_) return false;
        return inner_.ready() && settle();
    }
    bool start(TaskHeader* task, std::coroutine_handle<> h) {
        if (disabled_) return false;
        return inner_.start(task, h) && settle();
    }
    bool poll(TaskHeader* task) noexcept {
        if (disabled_) return false;
        return inner_.poll(task) && settle();
    }
    Value take() {
        if (error_) std::rethrow_exception(error_);
        return std::move(*value_);
    }
    void cancel(TaskHeader* task) noexcept { inner_.cancel(task); }
    void settle_for_abort() noexcept { inner_.settle_for_abort(); }

private:
    // The operation completed: keep its value (the branch wins), or disable the branch.
    bool settle() noexcept {
        try {
            value_ = inner_.take();
        } catch (...) {
            error_ = std::current_exception();
            return true;
        }
        if (value_) return true;
        disabled_ = true;
        return false;
    }

    Inner inner_;
    std::optional<Value> value_;
    std::exception_ptr error_;
    bool disabled_ = false;
};

// A branch's state beyond its precondition: only branch_some's can disable itself.
template <class B>
bool branch_disabled(const B& b) noexcept {
    if constexpr (requires { b.disabled(); }) {
        return b.disabled();
    } else {
        return false;
    }
}

// The branch for a select operand that may be wrapped in branch_some.
template <class O>
struct PatternBranchFor : BranchFor<O> {};
template <class O>
    requires IsSomePattern<std::remove_cvref_t<O>>
struct PatternBranchFor<O> {
    using Inner = typename std::remove_cvref_t<O>::operand_type;
    using type = SomeBranch<typename BranchFor<Inner>::type>;
    static type make(O&& p) { return type(BranchFor<Inner>::make(std::forward<Inner>(p.operand))); }
};

template <class O>
concept PatternOperand = BranchOperand<O> || IsSomePattern<std::remove_cvref_t<O>>;

}  // namespace weft::detail
