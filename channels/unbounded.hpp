/// @file
/// mpsc::unbounded_channel: a multi-producer, single-consumer channel without backpressure.
///
/// @code
/// auto [tx, rx] = weft::mpsc::unbounded_channel<Event>();
/// tx.send(ev);                                   // never waits
/// while (auto ev = co_await rx.recv()) { ... }
/// @endcode
///
/// The same semantics as mpsc::channel, minus capacity: send never suspends, so a producer faster
/// than its consumer grows memory without bound. Prefer the bounded channel unless the producer
/// cannot wait (a callback from a non-async library, say). T must be default-constructible and
/// move-assignable (the queue dequeues by assignment).
///
/// A Sender is one producer of the underlying queue: use it from one task (or thread) at a time,
/// and copy it to share. Messages from one Sender arrive in the order sent. Sending works from any
/// thread; receiving as for mpsc::Receiver (recv is cancellation-safe).
//
// Lock-free: send, recv with a value, try_recv (moodycamel's ConcurrentQueue; allocation is
// amortised over blocks of messages, and blocks are reused).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "detail/receiver_base.hpp"
#include "detail/unbounded_channel.hpp"
#include "errors.hpp"

namespace weft::mpsc {

template <class T>
class UnboundedSender;
template <class T>
class UnboundedReceiver;

/// The two ends unbounded_channel() returns; bind them with `auto [tx, rx] = ...`.
template <class T>
struct UnboundedChannel {
    UnboundedSender<T> sender;      ///< The first sender (copy it for more).
    UnboundedReceiver<T> receiver;  ///< The only receiver.
};

/// Creates an unbounded channel, with one sender and the receiver. From any thread.
/// @throws std::bad_alloc if the queue cannot be allocated.
template <class T>
UnboundedChannel<T> unbounded_channel();

/// A sending end of an unbounded mpsc channel: one producer of the queue. Copy it for more
/// senders; the channel closes for the receiver once every sender is gone.
///
/// Use one UnboundedSender from one task (or thread) at a time. Using a moved-from sender throws
/// std::logic_error.
template <class T>
class UnboundedSender {
public:
    /// Another sender on the same channel, with its own producer token (a moved-from one copies
    /// as moved-from).
    /// @throws std::bad_alloc if the token cannot be allocated.
    UnboundedSender(const UnboundedSender& other) : ch_(other.ch_), token_(ch_ ? ch_->make_token() : nullptr) {
        if (ch_) ch_->add_sender();
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    UnboundedSender(UnboundedSender&& other) noexcept
        : ch_(std::exchange(other.ch_, nullptr)), token_(std::move(other.token_)) {}
    /// Drops this sender (as the destructor does) and takes `other`'s place.
    UnboundedSender& operator=(UnboundedSender other) noexcept {
        std::swap(ch_, other.ch_);
        std::swap(token_, other.token_);
        return *this;
    }
    /// Drops this sender; the last one closes the channel for the receiver (it drains, then sees
    /// closed).
    ~UnboundedSender() {
        token_.reset();  // before the channel (and its queue) can go
        if (ch_) ch_->drop_sender();
    }

    /// Sends without waiting. Fails, handing the value back, if the receiver is gone or closed. A
    /// send racing with the close may still succeed; that value is destroyed with the channel.
    /// From any thread.
    /// Throws whatever T's move constructor throws (the value is not enqueued).
    /// @throws std::logic_error on a moved-from sender.
    /// @throws std::bad_alloc if the queue cannot grow (the value is lost).
    SendResult<T> send(T value) {
        if (!channel()->send(*token_, value)) return {SendError::closed, std::move(value)};
        return {};
    }

    /// True once the receiver is gone or closed the channel (sends fail).
    /// @throws std::logic_error on a moved-from sender.
    bool is_closed() const { return channel()->is_rx_closed(); }
    /// True if both send into the same channel.
    bool same_channel(const UnboundedSender& other) const noexcept { return ch_ == other.ch_; }

private:
    /// @cond
    template <class U>
    friend UnboundedChannel<U> unbounded_channel();
    /// @endcond
    explicit UnboundedSender(weft::detail::UnboundedChannel<T>* ch) : ch_(ch), token_(ch->make_token()) {}
    weft::detail::UnboundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::UnboundedSender");
        return ch_;
    }

    weft::detail::UnboundedChannel<T>* ch_;
    std::unique_ptr<typename weft::detail::UnboundedChannel<T>::Token> token_;
};

/// The receiving end of an unbounded mpsc channel: recv, recv_many, try_recv, blocking_recv,
/// close, len (inherited from weft::detail::ReceiverBase, shared with mpsc::Receiver).
///
/// Move-only. One task (or thread) at a time. Using a moved-from receiver throws std::logic_error.
template <class T>
class UnboundedReceiver : public weft::detail::ReceiverBase<weft::detail::UnboundedChannel<T>, T> {
    using Base = weft::detail::ReceiverBase<weft::detail::UnboundedChannel<T>, T>;

public:
#ifdef WEFT_DOXYGEN
    // For the reference only (the compiler never sees these): the members inherited from
    // weft::detail::ReceiverBase, documented once on mpsc::Receiver. Keep them in step.

    /// @copydoc Receiver::RecvAwaiter
    using RecvAwaiter = unspecified;
    /// @copydoc Receiver::RecvManyAwaiter
    using RecvManyAwaiter = unspecified;
    /// @copydoc Receiver::Receiver(Receiver&&)
    UnboundedReceiver(UnboundedReceiver&& other) noexcept;
    /// @copydoc Receiver::operator=(Receiver&&)
    UnboundedReceiver& operator=(UnboundedReceiver&& other) noexcept;
    /// Closes the channel (later sends fail) and destroys the values still buffered.
    ~UnboundedReceiver();
    /// @copydoc Receiver::recv()
    RecvAwaiter recv();
    /// @copydoc Receiver::recv_many(Container&,std::size_t)
    template <class Container>
    RecvManyAwaiter recv_many(Container& buffer, std::size_t limit);
    /// @copydoc Receiver::try_recv()
    TryRecvResult<T> try_recv();
    /// @copydoc Receiver::blocking_recv()
    std::optional<T> blocking_recv();
    /// Stops new sends: they fail with closed. Messages already buffered can still be received;
    /// recv then yields empty. From any thread; closing twice does nothing.
    /// @throws std::logic_error on a moved-from receiver.
    void close();
    /// @copydoc Receiver::is_closed()
    bool is_closed() const;
    /// @copydoc Receiver::len()
    std::size_t len() const;
    /// @copydoc Receiver::is_empty()
    bool is_empty() const;
#endif

private:
    /// @cond
    template <class U>
    friend UnboundedChannel<U> unbounded_channel();
    /// @endcond
    explicit UnboundedReceiver(weft::detail::UnboundedChannel<T>* ch) noexcept : Base(ch) {}
};

template <class T>
UnboundedChannel<T> unbounded_channel() {
    auto* ch = new weft::detail::UnboundedChannel<T>();
    return UnboundedChannel<T>{UnboundedSender<T>(ch), UnboundedReceiver<T>(ch)};
}

}  // namespace weft::mpsc
