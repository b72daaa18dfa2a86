/// @file
/// The outcomes of broadcast::channel operations: RecvError and TryRecvError (why a recv or
/// try_recv yielded no value), RecvOutcome (RecvResult, TryRecvResult) and SendResult (how many
/// receivers a send reached, or the value handed back). channels/broadcast.hpp includes this.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "errors.hpp"

namespace weft::broadcast {

/// Why a broadcast recv yielded no value.
enum class RecvError {
    closed,  ///< Every sender is gone and this receiver has seen every value.
    lagged,  ///< This receiver fell behind: lagged_by() values were dropped before it read them.
};
/// Why a broadcast try_recv yielded no value.
enum class TryRecvError {
    empty,   ///< Nothing new now, but senders remain.
    closed,  ///< As RecvError::closed.
    lagged,  ///< As RecvError::lagged.
};

/// The outcome of a broadcast recv or try_recv: a value, or why there is none.
///
/// After `lagged`, the receiver has moved on to the oldest value kept: the next recv yields it.
/// @tparam T the value type.
/// @tparam E RecvError or TryRecvError.
template <class T, class E>
class [[nodiscard]] RecvOutcome {
public:
    /// A received value. Throws what T's move constructor throws.
    RecvOutcome(T value) : value_(std::move(value)) {}
    /// No value, because of `error`; `lagged_by` counts the values missed (for `lagged`).
    RecvOutcome(E error, std::uint64_t lagged_by = 0) noexcept : error_(error), lagged_by_(lagged_by) {}

    /// True if it holds a value.
    bool has_value() const noexcept { return value_.has_value(); }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }
    /// The value; undefined without one (check has_value() first).
    T& operator*() & { return *value_; }
    /// The value, to move out; undefined without one.
    T&& operator*() && { return std::move(*value_); }
    /// The value's members; undefined without one.
    T* operator->() { return &*value_; }

    /// True if the channel is closed and this receiver has read everything.
    bool is_closed() const noexcept { return !has_value() && error_ == E::closed; }
    /// True if this receiver fell behind and lost lagged_by() values.
    bool is_lagged() const noexcept { return !has_value() && error_ == E::lagged; }
    /// True if a try_recv found nothing new while senders remain (TryRecvResult only).
    bool is_empty() const noexcept
        requires(std::is_same_v<E, TryRecvError>)
    {
        return !has_value() && error_ == E::empty;
    }
    /// How many values this receiver missed (exact); 0 unless is_lagged().
    std::uint64_t lagged_by() const noexcept { return is_lagged() ? lagged_by_ : 0; }
    /// The reason; only meaningful when !has_value().
    E error() const noexcept { return error_; }

private:
    std::optional<T> value_;
    E error_{};
    std::uint64_t lagged_by_ = 0;
};

/// The outcome of `co_await rx.recv()`: a value, lagged, or closed.
template <class T>
using RecvResult = RecvOutcome<T, RecvError>;
/// The outcome of rx.try_recv(): a value, empty, lagged, or closed.
template <class T>
using TryRecvResult = RecvOutcome<T, TryRecvError>;

/// The outcome of a broadcast send: how many receivers it reached, or (no receivers) the value
/// handed back.
template <class T>
class [[nodiscard]] SendResult {
public:
    /// True if the value was sent (at least one receiver was subscribed).
    bool ok() const noexcept { return !value_.has_value(); }
    /// Same as ok().
    explicit operator bool() const noexcept { return ok(); }
    /// True if no receiver was subscribed: nobody would ever see the value.
    bool is_closed() const noexcept { return !ok(); }
    /// The reason (SendError::closed: no receivers); only meaningful when !ok().
    SendError error() const noexcept { return SendError::closed; }
    /// How many receivers will see the value; 0 on failure.
    std::size_t receivers() const noexcept { return receivers_; }
    /// The value that was not sent, moved out (call it once).
    /// @throws std::logic_error after a successful send (there is no value).
    T take_value() {
        if (ok()) throw std::logic_error("weft: take_value on a successful broadcast send");
        return std::move(*value_);
    }

private:
    template <class U>
    friend class Sender;
    struct Delivered {};
    struct Refused {};
    SendResult(Delivered, std::size_t receivers) noexcept : receivers_(receivers) {}
    SendResult(Refused, T value) : value_(std::move(value)) {}

    std::optional<T> value_;
    std::size_t receivers_ = 0;
};

}  // namespace weft::broadcast
