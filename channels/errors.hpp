// Channel outcomes: what failed, and the value that could not be sent, handed back.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <optional>
#include <stdexcept>
#include <utility>

namespace weft {

// Why a send failed.
enum class SendError {
    closed,  // the receiver is gone or closed the channel
};
enum class TrySendError {
    full,    // no room now (bounded channels only)
    closed,  // the receiver is gone or closed the channel
};
enum class TryRecvError {
    empty,         // nothing now, but senders remain
    disconnected,  // nothing now, and never will be: every sender is gone (or the channel closed)
};

// The outcome of a send. On failure it holds the value that was not sent.
//   auto r = co_await tx.send(std::move(v));
//   if (!r) recover(r.take_value());
template <class T, class E>
class [[nodiscard]] SendOutcome {
public:
    SendOutcome() = default;  // success
    SendOutcome(E error, T value) : error_(error), value_(std::move(value)) {}

    bool ok() const noexcept { return !value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    bool is_closed() const noexcept { return !ok() && error_ == E::closed; }
    bool is_full() const noexcept
        requires(std::is_same_v<E, TrySendError>)
    {
        return !ok() && error_ == E::full;
    }
    // The reason; only meaningful when !ok().
    E error() const noexcept { return error_; }
    // The value that was not sent (moved out: call it once). Throws std::logic_error after a
    // successful send.
    T take_value() {
        if (ok()) throw std::logic_error("weft: take_value on a successful send");
        return std::move(*value_);
    }

private:
    E error_{};
    std::optional<T> value_;
};

template <class T>
using SendResult = SendOutcome<T, SendError>;
template <class T>
using TrySendResult = SendOutcome<T, TrySendError>;

// The outcome of a try_recv: a value, or why there is none.
template <class T>
class [[nodiscard]] TryRecvResult {
public:
    TryRecvResult(T value) : value_(std::move(value)) {}
    TryRecvResult(TryRecvError error) : error_(error) {}

    bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    T& operator*() & { return *value_; }
    T&& operator*() && { return std::move(*value_); }
    T* operator->() { return &*value_; }
    bool is_empty() const noexcept { return !has_value() && error_ == TryRecvError::empty; }
    bool is_disconnected() const noexcept { return !has_value() && error_ == TryRecvError::disconnected; }
    TryRecvError error() const noexcept { return error_; }

private:
    std::optional<T> value_;
    TryRecvError error_ = TryRecvError::empty;
};

}  // namespace weft
