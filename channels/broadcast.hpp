/// @file
/// broadcast::channel: many senders, many receivers; every receiver sees every value sent after it
/// subscribed, in order. This header holds the handles (Sender, Receiver) and channel(); the
/// outcome types are in broadcast_errors.hpp.
///
/// @code
/// auto [tx, rx] = weft::broadcast::channel<Event>(64);
/// auto rx2 = tx.subscribe();                       // another receiver, from now on
/// tx.send(event);                                  // -> SendResult: receivers reached, or none
/// auto r = co_await rx.recv();                     // a value, lagged(n), or closed
/// if (r) use(*r); else if (r.is_lagged()) skip(r.lagged_by()); else /* closed */ break;
/// auto weak = tx.downgrade();                      // does not keep the channel open
/// if (auto again = weak.upgrade()) (void)again->send(event);
/// co_await tx.closed();                            // every receiver gone
/// @endcode
///
/// Semantics follow Tokio's broadcast. The channel keeps the last `capacity` values. Senders never
/// wait: a receiver that falls more than `capacity` values behind loses the oldest ones; its next
/// recv reports exactly how many it missed (RecvError::lagged, lagged_by() == n) and the one after
/// continues from the oldest value still kept. recv reports closed once every sender is gone and
/// the receiver has seen everything. A value is destroyed once every receiver that was subscribed
/// when it was sent has read it, skipped it (lagged past it), or gone away. Each receiver gets its
/// own copy, so T must be copyable. `send` fails, handing the value back, while there are no
/// receivers.
///
/// Throwing copies and moves (weft's addition: Rust moves cannot fail). A send whose move of the
/// value into the ring throws propagates the exception and sends nothing; the value it was about to
/// overwrite is gone too (the slot was cleared first: keeping both would need a second slot), and
/// the receivers still due for that one are told they lagged by 1. A receiver whose copy of a value
/// throws gets the exception from its recv or try_recv and has moved past that value: its next
/// recv yields the one after.
///
/// Cancellation: a recv takes a value only when it completes, so destroying a pending recv (its
/// task aborted, a timeout or select won) loses nothing and leaves no waiter behind.
///
/// Threads: every operation may be called from any thread, and only `co_await rx.recv()` needs a
/// task. Handles are not synchronised objects: one Sender or Receiver is used by one task (or
/// thread) at a time; copy a Sender, subscribe for another Receiver.
//
// The shared ring is in detail/broadcast_ring.hpp.
//
// Lock-free: recv and try_recv of a value that is there (a shared-side spin of one slot's
// reader/writer lock, an atomic decrement; no mutex, no system call, no allocation), len,
// receiver_count. Not lock-free, and why:
//  - send takes the channel's SpinLock ("tail lock") to write one slot. Senders must fill positions
//    in order and a slot may not be overwritten while a receiver copies out of it, and the count of
//    receivers a value is due to must agree exactly with the position subscribe() starts a new
//    receiver at, or values would be destroyed early or never. One short lock makes those three
//    facts hold together; with a single sender it is never contended.
//  - The slot a sender overwrites is write-locked for the overwrite: the sender waits (spinning)
//    for receivers copying the old value out. Copies are short; that is why T's copy should be.
//  - subscribe, resubscribe and dropping a receiver take the tail lock (rare operations).
//  - a receiver with nothing to read queues under a second SpinLock (detail/event_waiters.hpp);
//    a send looks at an atomic waiter count and takes that lock only if someone waits.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include <weft/runtime/detail/must_await.hpp>
#include <weft/runtime/waker.hpp>
#include "broadcast_errors.hpp"
#include "detail/broadcast_ring.hpp"
#include "detail/budgeted_wait.hpp"

namespace weft::broadcast {

template <class T>
class Sender;
template <class T>
class WeakSender;
template <class T>
class Receiver;

/// The two ends channel() returns; bind them with `auto [tx, rx] = channel<T>(n);`.
template <class T>
struct Channel {
    Sender<T> sender;      ///< The first sender.
    Receiver<T> receiver;  ///< The first receiver: it sees every value sent from now on.
};

/// Creates a channel keeping the last `capacity` values, with one sender and one receiver.
/// T must be copyable (each receiver gets its own copy). From any thread.
/// @throws std::invalid_argument if capacity is 0 or more than 2^32.
/// @throws std::bad_alloc if the ring cannot be allocated.
template <class T>
Channel<T> channel(std::size_t capacity);

/// The sending end of a broadcast channel. Copy it for more senders; the channel closes when the
/// last copy is gone (receivers then read what is left, then see closed).
///
/// Sending never waits, so every member may be called from any thread, inside a task or not; one
/// Sender object is used by one thread at a time. Using a moved-from Sender throws
/// std::logic_error.
template <class T>
class Sender {
public:
    /// Another sender on the same channel (a moved-from one copies as moved-from).
    Sender(const Sender& other) noexcept : shared_(other.shared_) {
        if (shared_) {
            shared_->add_sender();
            shared_->add_ref();
        }
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    Sender(Sender&& other) noexcept : shared_(std::exchange(other.shared_, nullptr)) {}
    /// Drops this sender's channel (as the destructor does) and takes `other`'s.
    Sender& operator=(Sender other) noexcept {
        std::swap(shared_, other.shared_);
        return *this;
    }
    /// Drops this sender; the last one closes the channel, waking waiting receivers.
    ~Sender() {
        if (shared_) {
            shared_->drop_sender();
            shared_->drop_ref();
        }
    }

    /// Sends `value` to every receiver subscribed now. Never waits (a receiver too far behind
    /// loses the oldest values instead), though it spins while a receiver copies out the value
    /// being overwritten. Throws whatever T's move constructor throws (the value is then lost).
    /// @return ok with the number of receivers that will see it; or, with no receivers, failed
    ///         with the value handed back (SendResult::take_value).
    /// @throws std::logic_error on a moved-from sender.
    SendResult<T> send(T value) {
        if (const std::size_t n = shared()->send(value))
            return SendResult<T>(typename SendResult<T>::Delivered{}, n);
        return SendResult<T>(typename SendResult<T>::Refused{}, std::move(value));
    }

    /// A new receiver that will see every value sent from now on.
    /// @throws std::logic_error on a moved-from sender.
    Receiver<T> subscribe() const { return Receiver<T>(shared(), shared()->subscribe()); }

    /// How many receivers exist now (a snapshot).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t receiver_count() const { return shared()->receiver_count(); }
    /// True if both send into the same channel.
    bool same_channel(const Sender& other) const noexcept { return shared_ == other.shared_; }

    /// How many values are queued (a snapshot): sent and not yet read by every receiver that was
    /// subscribed when it was sent, nor overwritten by later sends. At most the capacity. As
    /// Tokio's Sender::len. Takes the tail lock and looks at O(log capacity) slots.
    /// @throws std::logic_error on a moved-from sender.
    std::size_t len() const { return shared()->len(); }
    /// True if len() is 0.
    /// @throws std::logic_error on a moved-from sender.
    bool is_empty() const { return len() == 0; }

    class WEFT_MUST_AWAIT ClosedAwaiter;
    /// `co_await tx.closed()`: completes once every receiver is gone (at once if none is left, or
    /// after a yield when the task's cooperative budget is spent). A later subscribe() reopens
    /// nothing for this await: it has completed. Cancellation-safe (it takes nothing). Await
    /// inside a task run by a weft runtime; the sender must outlive the await.
    /// @throws std::logic_error on a moved-from sender.
    ClosedAwaiter closed() const;

    /// A weak sender on the same channel: it does not keep the channel open, and upgrade()s to a
    /// Sender while some Sender still exists.
    /// @throws std::logic_error on a moved-from sender.
    WeakSender<T> downgrade() const;
    /// How many Senders exist now, this one included (a snapshot).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t strong_count() const { return shared()->sender_count(); }
    /// How many WeakSenders exist now (a snapshot).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t weak_count() const { return shared()->weak_count(); }

private:
    /// @cond
    template <class U>
    friend Channel<U> channel(std::size_t);
    friend class WeakSender<T>;
    /// @endcond
    explicit Sender(detail::Shared<T>* shared) noexcept : shared_(shared) {}
    detail::Shared<T>* shared() const {
        if (!shared_) throw std::logic_error("weft: use of a moved-from broadcast::Sender");
        return shared_;
    }

    detail::Shared<T>* shared_;
};

/// A receiving end of a broadcast channel: its own position in the stream. Move-only
/// (resubscribe for another).
///
/// Every member may be called from any thread; `co_await recv()` only inside a task. One Receiver
/// object is used by one task (or thread) at a time. Using a moved-from Receiver throws
/// std::logic_error.
template <class T>
class Receiver {
public:
    /// Takes `other`'s place and position; `other` becomes moved-from.
    Receiver(Receiver&& other) noexcept
        : shared_(std::exchange(other.shared_, nullptr)), next_(other.next_) {}
    /// Drops this receiver (as the destructor does) and takes `other`'s place and position.
    Receiver& operator=(Receiver&& other) noexcept {
        if (this != &other) {
            release();
            shared_ = std::exchange(other.shared_, nullptr);
            next_ = other.next_;
        }
        return *this;
    }
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;
    /// Unsubscribes: values this receiver was still due count as read (the last receiver due
    /// destroys them).
    ~Receiver() { release(); }

    class WEFT_MUST_AWAIT RecvAwaiter;

    /// `co_await rx.recv()`: the next value; or RecvError::lagged with lagged_by() == how many
    /// values were dropped before this receiver read them (the next recv continues from the oldest
    /// kept); or RecvError::closed once every sender is gone and everything was read. Suspends
    /// while there is nothing new (or yields first, when the task's cooperative budget is spent).
    ///
    /// Cancellation-safe: the value is taken only when the recv completes, so abandoning it (task
    /// aborted, timeout or select lost) loses nothing. Await inside a task run by a weft runtime;
    /// the receiver must stay in place (not moved or destroyed) while the recv is pending.
    /// Throws whatever T's copy constructor throws, from the co_await; the receiver has then moved
    /// past that value (the next recv yields the one after).
    /// @throws std::logic_error on a moved-from receiver.
    RecvAwaiter recv();

    /// Like recv without waiting: a value, TryRecvError::empty (senders remain), lagged, or
    /// closed. From any thread.
    /// Throws whatever T's copy constructor throws (the receiver has moved past that value).
    /// @throws std::logic_error on a moved-from receiver.
    TryRecvResult<T> try_recv() {
        std::optional<T> out;
        std::uint64_t missed = 0;
        switch (shared()->try_recv(next_, out, missed)) {
            case Status::kValue: return TryRecvResult<T>(std::move(*out));
            case Status::kLagged: return TryRecvResult<T>(TryRecvError::lagged, missed);
            case Status::kClosed: return TryRecvResult<T>(TryRecvError::closed);
            case Status::kEmpty: break;
        }
        return TryRecvResult<T>(TryRecvError::empty);
    }

    /// A new receiver on the same channel that sees values sent from now on (not this one's
    /// backlog).
    /// @throws std::logic_error on a moved-from receiver.
    Receiver resubscribe() const { return Receiver(shared(), shared()->subscribe()); }

    /// Values sent that this receiver has not read yet. More than the capacity means the next
    /// recv reports lagged.
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t len() const { return static_cast<std::size_t>(shared()->tail() - next_); }
    /// True if len() is 0.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_empty() const { return len() == 0; }
    /// How many receivers exist now (a snapshot).
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t receiver_count() const { return shared()->receiver_count(); }
    /// True once every sender is gone (values not read yet can still be received).
    /// @throws std::logic_error on a moved-from receiver.
    bool is_closed() const { return shared()->is_closed(); }

private:
    using Status = typename detail::Shared<T>::Status;
    friend class Sender<T>;
    /// @cond
    template <class U>
    friend Channel<U> channel(std::size_t);
    /// @endcond

    Receiver(detail::Shared<T>* shared, std::uint64_t next) noexcept : shared_(shared), next_(next) {}
    detail::Shared<T>* shared() const {
        if (!shared_) throw std::logic_error("weft: use of a moved-from broadcast::Receiver");
        return shared_;
    }
    void release() noexcept {
        if (detail::Shared<T>* s = std::exchange(shared_, nullptr)) s->unsubscribe(next_);
    }

    detail::Shared<T>* shared_;
    std::uint64_t next_;  // the next position to read
};

/// The awaitable Receiver::recv() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// and try to read now, else queue the task's waker; it is a leaf awaitable, so select() and
/// timeout() accept it. Destroying it before it completes leaves the wait and takes nothing.
template <class T>
class WEFT_MUST_AWAIT Receiver<T>::RecvAwaiter final : public weft::detail::BudgetedWait<RecvAwaiter> {
public:
    /// Made by Receiver::recv().
    /// @throws std::logic_error on a moved-from receiver.
    explicit RecvAwaiter(Receiver* rx) : rx_(rx), shared_(rx->shared()) {}
    /// Leaves the wait list if still queued.
    ~RecvAwaiter() { shared_->rx_waiters().remove(node_); }

    /// The outcome: a value, lagged, or closed.
    /// Throws whatever T's copy constructor threw while the task was suspended (the receiver has
    /// moved past that value).
    RecvResult<T> await_resume() {
        if (error_) std::rethrow_exception(error_);
        return std::move(*result_);
    }

private:
    friend weft::detail::BudgetedWait<RecvAwaiter>;

    bool try_now() {
        std::optional<T> out;
        std::uint64_t missed = 0;
        switch (shared_->try_recv(rx_->next_, out, missed)) {
            case Status::kValue: result_.emplace(std::move(*out)); return true;
            case Status::kLagged: result_.emplace(RecvError::lagged, missed); return true;
            case Status::kClosed: result_.emplace(RecvError::closed); return true;
            case Status::kEmpty: break;
        }
        return false;
    }
    // Called after try_now found nothing. Returns true if the task must suspend (queued); false
    // once there is a result.
    bool wait(const Waker& waker) {
        while (!shared_->wait(node_, waker, rx_->next_)) {
            // Something arrived (or the channel closed) while we queued: take it.
            if (try_now()) return false;
        }
        return true;
    }
    bool poll_failed() noexcept {
        error_ = std::current_exception();  // T's copy threw: rethrown by await_resume
        return true;
    }

    Receiver* rx_;
    detail::Shared<T>* shared_;
    weft::detail::Waiter node_;
    std::optional<RecvResult<T>> result_;
    std::exception_ptr error_;
};

template <class T>
typename Receiver<T>::RecvAwaiter Receiver<T>::recv() {
    return RecvAwaiter(this);
}

/// The awaitable Sender::closed() returns. Not movable: it may sit in the waiter list.
///
/// Its await_ready and await_suspend (inherited) spend one unit of the task's cooperative budget
/// and check the receiver count, else queue the task's waker: a loop on closed() of a channel with
/// no receivers yields to the other tasks once the budget is spent. A leaf awaitable: select() and
/// timeout() accept it. Destroying it before it completes leaves the wait.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ClosedAwaiter final : public weft::detail::BudgetedWait<ClosedAwaiter> {
public:
    /// Made by Sender::closed().
    explicit ClosedAwaiter(detail::Shared<T>* shared) noexcept : shared_(shared) {}
    /// Leaves the wait list if still queued.
    ~ClosedAwaiter() { shared_->rx_gone_waiters().remove(node_); }
    /// Yields nothing.
    void await_resume() const noexcept {}

private:
    friend weft::detail::BudgetedWait<ClosedAwaiter>;
    bool try_now() const noexcept { return shared_->receiver_count() == 0; }
    // True if the task must suspend (queued before the last receiver went).
    bool wait(const Waker& waker) noexcept { return shared_->wait_receivers_gone(node_, waker); }

    detail::Shared<T>* shared_;
    weft::detail::Waiter node_;
};

template <class T>
typename Sender<T>::ClosedAwaiter Sender<T>::closed() const {
    return ClosedAwaiter(shared());
}

/// A sender that does not keep the channel open: while any Sender exists, upgrade() makes another;
/// once the last Sender is gone (the channel closed), upgrade() yields nothing, for ever. As
/// Tokio's broadcast::WeakSender. Copyable; every member may be called from any thread.
template <class T>
class WeakSender {
public:
    /// Another weak sender on the same channel (a moved-from one copies as moved-from).
    WeakSender(const WeakSender& other) noexcept : shared_(other.shared_) {
        if (shared_) shared_->add_weak();
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    WeakSender(WeakSender&& other) noexcept : shared_(std::exchange(other.shared_, nullptr)) {}
    /// Drops this weak sender (as the destructor does) and takes `other`'s channel.
    WeakSender& operator=(WeakSender other) noexcept {
        std::swap(shared_, other.shared_);
        return *this;
    }
    /// Drops this weak sender (it never closes the channel).
    ~WeakSender() {
        if (shared_) shared_->drop_weak();
    }

    /// A Sender on the same channel if one still exists; empty once the channel closed (or on a
    /// moved-from weak sender).
    std::optional<Sender<T>> upgrade() const noexcept {
        if (!shared_ || !shared_->try_add_sender()) return std::nullopt;
        shared_->add_ref();
        return Sender<T>(shared_);
    }
    /// How many Senders exist now (a snapshot); 0 on a moved-from weak sender.
    std::size_t strong_count() const noexcept { return shared_ ? shared_->sender_count() : 0; }
    /// How many WeakSenders exist now, this one included (a snapshot); 0 on a moved-from one.
    std::size_t weak_count() const noexcept { return shared_ ? shared_->weak_count() : 0; }

private:
    friend class Sender<T>;
    explicit WeakSender(detail::Shared<T>* shared) noexcept : shared_(shared) { shared_->add_weak(); }

    detail::Shared<T>* shared_;
};

template <class T>
WeakSender<T> Sender<T>::downgrade() const {
    return WeakSender<T>(shared());
}

template <class T>
Channel<T> channel(std::size_t capacity) {
    static_assert(detail::kCopyable<T>,
                  "weft::broadcast::channel<T> needs a copyable T: every receiver gets its own copy of each value");
    if (capacity == 0) throw std::invalid_argument("weft: broadcast channel capacity must be at least 1");
    if (capacity > (std::size_t{1} << 32))
        throw std::invalid_argument("weft: broadcast channel capacity is absurdly large (the limit is 2^32)");
    auto* shared = new detail::Shared<T>(capacity);
    return Channel<T>{Sender<T>(shared), Receiver<T>(shared, 0)};
}

}  // namespace weft::broadcast
