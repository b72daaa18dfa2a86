/// @file
/// Channel outcomes shared by mpsc and oneshot (and watch's send): what failed, and the value that
/// could not be sent, handed back.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace weft {

/// Why a send failed.
enum class SendError {
    closed,  ///< The receiver is gone or closed the channel (for watch: every receiver is gone).
};
/// Why a try_send failed.
enum class TrySendError {
    full,    ///< No room now (bounded channels only); try again later or `co_await send`.
    closed,  ///< The receiver is gone or closed the channel.
};
/// Why an mpsc send_timeout failed.
enum class SendTimeoutError {
    timeout,  ///< No room came before the deadline.
    closed,   ///< The receiver is gone or closed the channel.
};
/// Why a try_recv yielded no value (mpsc and oneshot).
enum class TryRecvError {
    empty,         ///< Nothing now, but senders remain.
    disconnected,  ///< Nothing now, and never will be: every sender is gone (or the channel closed).
};

/// The outcome of a send: success, or the error together with the value that was not sent.
///
/// @code
/// auto r = co_await tx.send(std::move(v));
/// if (!r) recover(r.take_value());
/// @endcode
/// @tparam T the message type.
/// @tparam E SendError, TrySendError or SendTimeoutError.
template <class T, class E>
class [[nodiscard]] SendOutcome {
public:
    /// A successful send.
    SendOutcome() = default;
    /// A failed send: `error`, and the value handed back. Throws what T's move constructor throws.
    SendOutcome(E error, T value) : error_(error), value_(std::move(value)) {}

    /// True if the value was sent.
    bool ok() const noexcept { return !value_.has_value(); }
    /// Same as ok().
    explicit operator bool() const noexcept { return ok(); }
    /// True if the send failed because the channel is closed.
    bool is_closed() const noexcept { return !ok() && error_ == E::closed; }
    /// True if a try_send failed because the channel is full (TrySendResult only).
    bool is_full() const noexcept
        requires(std::is_same_v<E, TrySendError>)
    {
        return !ok() && error_ == E::full;
    }
    /// True if a send_timeout failed because the deadline passed (SendTimeoutResult only).
    bool is_timeout() const noexcept
        requires(std::is_same_v<E, SendTimeoutError>)
    {
        return !ok() && error_ == E::timeout;
    }
    /// The reason; only meaningful when !ok().
    E error() const noexcept { return error_; }
    /// The value that was not sent, moved out (call it once).
    /// @throws std::logic_error after a successful send (there is no value).
    T take_value() {
        if (ok()) throw std::logic_error("weft: take_value on a successful send");
        return std::move(*value_);
    }

private:
    E error_{};
    std::optional<T> value_;
};

/// The outcome of a send that may wait (mpsc send, blocking_send, unbounded and oneshot send, watch send).
template <class T>
using SendResult = SendOutcome<T, SendError>;
/// The outcome of a try_send: ok, full or closed, with the value handed back on failure.
template <class T>
using TrySendResult = SendOutcome<T, TrySendError>;

/// The outcome of an mpsc send_timeout: ok, timeout or closed, with the value handed back on failure.
template <class T>
using SendTimeoutResult = SendOutcome<T, SendTimeoutError>;

/// The outcome of a try_recv (mpsc, unbounded, oneshot): a value, or why there is none.
template <class T>
class [[nodiscard]] TryRecvResult {
public:
    /// A received value, moved in (one move, so a move that throws leaves `value` as it was).
    /// Throws what T's move constructor throws.
    TryRecvResult(T&& value) : value_(std::move(value)) {}
    /// A received value, copied. Throws what T's copy constructor throws.
    TryRecvResult(const T& value) : value_(value) {}
    /// No value, because of `error`.
    TryRecvResult(TryRecvError error) : error_(error) {}

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
    /// True if there was nothing now but senders remain.
    bool is_empty() const noexcept { return !has_value() && error_ == TryRecvError::empty; }
    /// True if there is nothing and never will be (every sender gone, or the channel closed).
    bool is_disconnected() const noexcept { return !has_value() && error_ == TryRecvError::disconnected; }
    /// The reason; only meaningful when !has_value().
    TryRecvError error() const noexcept { return error_; }

private:
    std::optional<T> value_;
    TryRecvError error_ = TryRecvError::empty;
};

}  // namespace weft
