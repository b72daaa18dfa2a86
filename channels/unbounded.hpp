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
/// cannot wait (a callback from a non-async library, say). T must be move-constructible. A T whose
/// default constructor, move constructor and move assignment are all noexcept is stored in place;
/// any other T is boxed (one allocation per message), so that a move that throws never loses a
/// message inside the queue.
///
/// A Sender is one producer of the underlying queue: use it from one task (or thread) at a time,
/// and copy it to share. Messages from one Sender arrive in the order sent. Sending works from any
/// thread; receiving as for mpsc::Receiver (recv is cancellation-safe). A WeakUnboundedSender
/// (UnboundedSender::downgrade) refers to the channel without keeping it open, as Tokio's.
///
/// Throwing moves: a send whose move throws propagates the exception and enqueues nothing; a
/// receive (recv, recv_many, try_recv, blocking_recv) whose move, or container push_back, throws
/// propagates the exception to the receiver and leaves that message in the channel, to be
/// received next. The channel keeps working either way.
//
// Lock-free: send, recv with a value, try_recv (moodycamel's ConcurrentQueue; allocation is
// amortised over blocks of messages, and blocks are reused).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <weft/runtime/detail/waiter_list.hpp>
#include <weft/runtime/waker.hpp>
#include "detail/budgeted_wait.hpp"
#include "detail/receiver_base.hpp"
#include "detail/unbounded_channel.hpp"
#include "errors.hpp"

namespace weft::mpsc {

template <class T>
class UnboundedSender;
template <class T>
class UnboundedReceiver;
template <class T>
class WeakUnboundedSender;

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
    /// Throws whatever T's move constructor throws (nothing is enqueued, later sends work).
    /// @throws std::logic_error on a moved-from sender.
    /// @throws std::bad_alloc if the queue cannot grow: nothing is enqueued and `value` is left
    /// as it was (unless T is boxed and cannot be move-assigned back).
    SendResult<T> send(T&& value) {
        if (!channel()->send(*token_, value)) return {SendError::closed, std::move(value)};
        return {};
    }
    /// Sends a copy of `value`, as send(T&&). Throws what T's copy constructor throws.
    SendResult<T> send(const T& value) { return send(T(value)); }

    class WEFT_MUST_AWAIT ClosedAwaiter;
    /// `co_await tx.closed()`: completes once the receiver is gone or closed the channel (at once
    /// if it already is, spending the task's cooperative budget). Suspends until then.
    /// Cancellation-safe (it takes nothing). Await inside a task run by a weft runtime; the
    /// sender must outlive the await.
    /// @throws std::logic_error on a moved-from sender.
    ClosedAwaiter closed() { return ClosedAwaiter(channel()); }

    /// True once the receiver is gone or closed the channel (sends fail).
    /// @throws std::logic_error on a moved-from sender.
    bool is_closed() const { return channel()->is_rx_closed(); }

    /// A weak sender for the same channel: it does not keep the channel open, and
    /// WeakUnboundedSender::upgrade() turns it back into a sender while any sender is alive.
    /// @throws std::logic_error on a moved-from sender.
    WeakUnboundedSender<T> downgrade() const { return WeakUnboundedSender<T>(channel()); }
    /// How many UnboundedSenders the channel has (this one included).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t strong_count() const { return channel()->sender_strong_count(); }
    /// How many WeakUnboundedSenders the channel has.
    /// @throws std::logic_error on a moved-from sender.
    std::size_t weak_count() const { return channel()->sender_weak_count(); }

    /// True if both send into the same channel.
    bool same_channel(const UnboundedSender& other) const noexcept { return ch_ == other.ch_; }

private:
    /// @cond
    template <class U>
    friend UnboundedChannel<U> unbounded_channel();
    friend class WeakUnboundedSender<T>;
    /// @endcond
    explicit UnboundedSender(weft::detail::UnboundedChannel<T>* ch) : ch_(ch), token_(ch->make_token()) {}
    // Adopts a sender count the caller already took (WeakUnboundedSender::upgrade).
    UnboundedSender(weft::detail::UnboundedChannel<T>* ch, std::unique_ptr<typename weft::detail::UnboundedChannel<T>::Token> token) noexcept
        : ch_(ch), token_(std::move(token)) {}
    weft::detail::UnboundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::UnboundedSender");
        return ch_;
    }

    weft::detail::UnboundedChannel<T>* ch_;
    std::unique_ptr<typename weft::detail::UnboundedChannel<T>::Token> token_;
};

/// The awaitable UnboundedSender::closed() returns. Not movable: it may sit in the waiter list. A
/// leaf awaitable: select() and timeout() accept it. Its await_ready spends one unit of the
/// task's cooperative budget, so a loop on an already closed channel still lets other tasks run.
template <class T>
class WEFT_MUST_AWAIT UnboundedSender<T>::ClosedAwaiter final
    : public weft::detail::BudgetedWait<ClosedAwaiter> {
public:
    /// Made by UnboundedSender::closed().
    explicit ClosedAwaiter(weft::detail::UnboundedChannel<T>* ch) noexcept : ch_(ch) {}
    /// Leaves the wait list if still queued.
    ~ClosedAwaiter() { ch_->closed_waiters().remove(node_); }
    /// Yields nothing.
    void await_resume() const noexcept {}

private:
    friend weft::detail::BudgetedWait<ClosedAwaiter>;
    bool try_now() const noexcept { return ch_->is_rx_closed(); }
    bool wait(const Waker& waker) {
        return ch_->closed_waiters().wait(node_, waker, [this] { return ch_->is_rx_closed(); });
    }

    weft::detail::UnboundedChannel<T>* ch_;
    weft::detail::Waiter node_;
};

/// A sender that does not keep the channel open, as Tokio's WeakUnboundedSender: once every
/// UnboundedSender is gone the receiver sees the channel closed, whatever weak senders remain,
/// and upgrade() fails from then on. Made by UnboundedSender::downgrade(); copyable (each copy
/// is another weak sender). From any thread. Using a moved-from one throws std::logic_error.
template <class T>
class WeakUnboundedSender {
public:
    /// Another weak sender on the same channel (a moved-from one copies as moved-from).
    WeakUnboundedSender(const WeakUnboundedSender& other) noexcept : ch_(other.ch_) {
        if (ch_) ch_->add_weak_sender();
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    WeakUnboundedSender(WeakUnboundedSender&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    /// Drops this weak sender (as the destructor does) and takes `other`'s place.
    WeakUnboundedSender& operator=(WeakUnboundedSender other) noexcept {
        std::swap(ch_, other.ch_);
        return *this;
    }
    /// Drops this weak sender. It never closes the channel.
    ~WeakUnboundedSender() {
        if (ch_) ch_->drop_weak_sender();
    }

    /// A new UnboundedSender if any sender is still alive; empty once every one is gone (even
    /// if the receiver is also gone: the sender then finds the channel closed, as in Tokio).
    /// @throws std::logic_error on a moved-from weak sender.
    /// @throws std::bad_alloc if the new sender's producer token cannot be allocated.
    std::optional<UnboundedSender<T>> upgrade() const {
        weft::detail::UnboundedChannel<T>* ch = channel();
        auto token = ch->make_token();  // first: a failure then leaves the count alone
        if (!ch->try_add_sender()) return std::nullopt;
        return UnboundedSender<T>(ch, std::move(token));
    }
    /// How many UnboundedSenders the channel has.
    /// @throws std::logic_error on a moved-from weak sender.
    std::size_t strong_count() const { return channel()->sender_strong_count(); }
    /// How many WeakUnboundedSenders the channel has (this one included).
    /// @throws std::logic_error on a moved-from weak sender.
    std::size_t weak_count() const { return channel()->sender_weak_count(); }

private:
    /// @cond
    friend class UnboundedSender<T>;
    /// @endcond
    explicit WeakUnboundedSender(weft::detail::UnboundedChannel<T>* ch) noexcept : ch_(ch) { ch_->add_weak_sender(); }
    weft::detail::UnboundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::WeakUnboundedSender");
        return ch_;
    }

    weft::detail::UnboundedChannel<T>* ch_;
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
    /// Closes the channel (later sends fail, closed() waiters wake) and destroys the values still
    /// buffered. Allocates nothing.
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
    /// Stops new sends: they fail with closed, and UnboundedSender::closed() waiters wake.
    /// Messages already buffered can still be received; recv then yields empty. From any
    /// thread; closing twice does nothing. Allocates nothing.
    /// @throws std::logic_error on a moved-from receiver.
    void close();
    /// @copydoc Receiver::is_closed()
    bool is_closed() const;
    /// @copydoc Receiver::len()
    std::size_t len() const;
    /// @copydoc Receiver::is_empty()
    bool is_empty() const;
    /// How many UnboundedSenders the channel has (0 once every one is gone; weak senders do not
    /// count), as Tokio's UnboundedReceiver::sender_strong_count.
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t sender_strong_count() const;
    /// How many WeakUnboundedSenders the channel has.
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t sender_weak_count() const;
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
