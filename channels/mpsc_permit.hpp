/// @file
/// Permits of a bounded mpsc channel: capacity reserved to send later without waiting.
///
/// A permit is capacity, not a place in line (Tokio's semantics): messages sent by others while
/// it is held are received in their order, and the receiver never waits on it. Dropped unused, a
/// permit gives its capacity back at once, to the first sender waiting for room if there is one.
/// A permit also keeps the channel open for the receiver (as the Sender it came from would), and
/// can still send after the receiver called close(): the receiver drains that message too.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

#include "detail/bounded_channel.hpp"
#include "errors.hpp"

namespace weft::mpsc {

template <class T>
class Sender;
template <class T>
class PermitIterator;

/// A permit to send one message without waiting: one unit of the channel's capacity, reserved.
/// Move-only; usable from any thread.
template <class T>
class [[nodiscard]] Permit {
public:
    /// Takes `other`'s reservation; `other` becomes used.
    Permit(Permit&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    /// Gives this permit's capacity back (if unused) and takes `other`'s.
    Permit& operator=(Permit&& other) noexcept {
        if (this != &other) {
            release();
            ch_ = std::exchange(other.ch_, nullptr);
        }
        return *this;
    }
    /// Gives the capacity back if the permit was not used.
    ~Permit() { release(); }

    /// Sends `value` with the reserved capacity and uses up the permit. Never waits, and succeeds
    /// even if the receiver closed the channel meanwhile (it drains the message; if the receiver is
    /// gone, the value is destroyed with the channel). From any thread.
    /// Throws whatever T's move constructor throws: the permit is used up all the same, and its
    /// capacity comes back to the channel once the receiver passes the gap (nothing else is lost).
    /// @throws std::logic_error on a used (or moved-from) permit.
    void send(T value) {
        if (!ch_) throw std::logic_error("weft: Permit used twice");
        const Drop drop{std::exchange(ch_, nullptr)};
        drop.ch->send_with_permit(std::move(value));
    }

private:
    friend class Sender<T>;
    friend class PermitIterator<T>;
    // Adopts one permit already reserved in `ch` (and counts as a sender).
    explicit Permit(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) { ch_->add_sender(); }

    struct Drop {
        detail::BoundedChannel<T>* ch;
        ~Drop() { ch->drop_sender(); }
    };
    void release() noexcept {
        if (!ch_) return;
        ch_->release_permits(1);
        std::exchange(ch_, nullptr)->drop_sender();
    }

    detail::BoundedChannel<T>* ch_;
};

/// `n` permits reserved together (Sender::reserve_many, try_reserve_many): take them one by one
/// with next(). Those not taken go back to the channel when it is destroyed. Move-only; usable
/// from any thread. Tokio's PermitIterator.
template <class T>
class [[nodiscard]] PermitIterator {
public:
    /// Takes `other`'s permits; `other` becomes empty.
    PermitIterator(PermitIterator&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)), left_(std::exchange(other.left_, 0)) {}
    PermitIterator& operator=(PermitIterator&&) = delete;
    /// Gives the permits not taken back to the channel.
    ~PermitIterator() {
        if (!ch_) return;
        if (left_ > 0) ch_->release_permits(left_);
        ch_->drop_sender();
    }

    /// The next permit, or an empty optional once all were taken.
    std::optional<Permit<T>> next() noexcept {
        if (left_ == 0) return std::nullopt;
        --left_;
        return Permit<T>(ch_);
    }
    /// Permits not taken yet.
    std::size_t len() const noexcept { return left_; }
    /// True if every permit was taken.
    bool is_empty() const noexcept { return left_ == 0; }

private:
    friend class Sender<T>;
    // Adopts `n` permits already reserved in `ch` (or none when n is 0).
    PermitIterator(detail::BoundedChannel<T>* ch, std::size_t n) noexcept : ch_(ch), left_(n) { ch_->add_sender(); }

    detail::BoundedChannel<T>* ch_;
    std::size_t left_;
};

/// A permit that owns the Sender it came from (Sender::reserve_owned, try_reserve_owned), so it
/// can outlive any particular Sender object, be stored or moved to another task. send() and
/// release() hand the Sender back. Move-only; usable from any thread.
template <class T>
class [[nodiscard]] OwnedPermit {
public:
    /// Takes `other`'s reservation and sender; `other` becomes used.
    OwnedPermit(OwnedPermit&& other) noexcept : sender_(std::move(other.sender_)), held_(std::exchange(other.held_, false)) {}
    OwnedPermit& operator=(OwnedPermit&&) = delete;
    /// Gives the capacity back if unused.
    ~OwnedPermit() {
        if (held_) sender_.ch_->release_permits(1);
    }

    /// Sends `value` with the reserved capacity and returns the sender. As Permit::send: never
    /// waits, succeeds after a close, and a throwing move uses the permit up (the sender is lost
    /// with the exception then, as a moved-into Sender would be).
    /// @throws std::logic_error on a used permit.
    Sender<T> send(T value) {
        if (!std::exchange(held_, false)) throw std::logic_error("weft: OwnedPermit used twice");
        Sender<T> sender = std::move(sender_);
        sender.ch_->send_with_permit(std::move(value));
        return sender;
    }
    /// Gives the capacity back without sending and returns the sender.
    /// @throws std::logic_error on a used permit.
    Sender<T> release() {
        if (!std::exchange(held_, false)) throw std::logic_error("weft: OwnedPermit used twice");
        sender_.ch_->release_permits(1);
        return std::move(sender_);
    }

private:
    friend class Sender<T>;
    // Adopts one permit already reserved in `sender`'s channel.
    explicit OwnedPermit(Sender<T> sender) noexcept : sender_(std::move(sender)), held_(true) {}

    Sender<T> sender_;
    bool held_;
};

/// The outcome of Sender::try_reserve(): a Permit, or why there is none (full or closed), as
/// Tokio's `Result<Permit, TrySendError<()>>`. Reads like a `std::optional<Permit<T>>`.
template <class T>
class [[nodiscard]] TryReserveResult {
public:
    /// A reserved permit.
    explicit TryReserveResult(Permit<T> permit) : permit_(std::move(permit)) {}
    /// No permit, because of `error`.
    explicit TryReserveResult(TrySendError error) noexcept : error_(error) {}

    /// True if a permit was reserved (and not reset since).
    bool has_value() const noexcept { return permit_.has_value(); }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }
    /// The permit; undefined without one.
    Permit<T>& operator*() noexcept { return *permit_; }
    /// The permit's members; undefined without one.
    Permit<T>* operator->() noexcept { return &*permit_; }
    /// No permit because the channel was full (or others wait for room).
    bool is_full() const noexcept { return !permit_ && error_ == TrySendError::full; }
    /// No permit because the receiver is gone or closed the channel.
    bool is_closed() const noexcept { return !permit_ && error_ == TrySendError::closed; }
    /// Why there is no permit; only meaningful when !has_value().
    TrySendError error() const noexcept { return error_; }
    /// Drops the permit, if any: its capacity goes back to the channel.
    void reset() noexcept { permit_.reset(); }

private:
    std::optional<Permit<T>> permit_;
    TrySendError error_ = TrySendError::full;
};

/// The outcome of Sender::try_reserve_owned(): an OwnedPermit, or why there is none together with
/// the Sender handed back (Tokio's `Result<OwnedPermit, TrySendError<Sender>>`).
template <class T>
class [[nodiscard]] TryReserveOwnedResult {
public:
    /// A reserved permit.
    explicit TryReserveOwnedResult(OwnedPermit<T> permit) : permit_(std::move(permit)) {}
    /// No permit, because of `error`; `sender` is handed back.
    TryReserveOwnedResult(TrySendError error, Sender<T> sender) : sender_(std::move(sender)), error_(error) {}

    /// True if a permit was reserved.
    bool has_value() const noexcept { return permit_.has_value(); }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }
    /// The permit; undefined without one.
    OwnedPermit<T>& operator*() noexcept { return *permit_; }
    /// The permit's members; undefined without one.
    OwnedPermit<T>* operator->() noexcept { return &*permit_; }
    /// No permit because the channel was full (or others wait for room).
    bool is_full() const noexcept { return !permit_ && error_ == TrySendError::full; }
    /// No permit because the receiver is gone or closed the channel.
    bool is_closed() const noexcept { return !permit_ && error_ == TrySendError::closed; }
    /// Why there is no permit; only meaningful when !has_value().
    TrySendError error() const noexcept { return error_; }
    /// The sender handed back on failure (call once).
    /// @throws std::logic_error if a permit was reserved (the permit holds the sender).
    Sender<T> into_sender() {
        if (!sender_) throw std::logic_error("weft: into_sender on a successful try_reserve_owned");
        return std::move(*std::exchange(sender_, std::nullopt));
    }

private:
    std::optional<OwnedPermit<T>> permit_;
    std::optional<Sender<T>> sender_;
    TrySendError error_ = TrySendError::full;
};

}  // namespace weft::mpsc
