/// @file
/// mpsc::channel: a bounded multi-producer, single-consumer channel with backpressure.
///
/// @code
/// auto [tx, rx] = weft::mpsc::channel<Command>(32);
/// co_await tx.send(cmd);                           // suspends while the channel is full
/// while (auto cmd = co_await rx.recv()) { ... }    // empty optional: every sender is gone
/// @endcode
///
/// Semantics follow Tokio's mpsc. Messages from one sender arrive in the order sent. Senders
/// waiting on a full channel get room in the order they started waiting. A send that fails hands
/// the value back. Destroying the receiver closes the channel and destroys buffered values.
///
/// Cancellation: destroying a pending recv (its task aborted, a timeout or select won) loses no
/// message: a recv takes a value only when it completes. A pending send either delivered its value
/// or, abandoned, did not send it: the value is destroyed with the awaiter (await reserve() instead
/// to keep it). Neither leaves a waiter behind.
///
/// Threads: awaiting (send, reserve, closed, recv, recv_many) only inside a task run by a weft
/// runtime; blocking_send and blocking_recv only on a thread that is not a runtime worker; the rest
/// from any thread. Handles are not synchronised objects: use one Sender from one task at a time
/// (copy it to share), and the Receiver from one task at a time.
//
// Lock-free: send with room, recv with a value, try_send, try_recv, capacity queries (no mutex, no
// system call, no allocation per message). A sender suspending on a full channel, its wakeup, and
// Sender::closed() take a mutex; see channels/detail/sender_wait_list.hpp for why.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include <weft/runtime/detail/thread_waker.hpp>
#include "detail/bounded_channel.hpp"
#include "detail/budgeted_wait.hpp"
#include "detail/ensure_not_worker.hpp"
#include "detail/receiver_base.hpp"
#include "detail/recv_status.hpp"
#include "errors.hpp"

namespace weft::mpsc {

template <class T>
class Sender;
template <class T>
class Receiver;
template <class T>
class Permit;

/// The outcome of Sender::try_reserve(): a Permit, or why there is none (full or closed), as
/// Tokio's `Result<Permit, TrySendError<()>>`. Reads like a `std::optional<Permit<T>>`.
template <class T>
class [[nodiscard]] TryReserveResult {
public:
    /// A reserved slot.
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

/// The two ends channel() returns; bind them with `auto [tx, rx] = channel<T>(n);`.
template <class T>
struct Channel {
    Sender<T> sender;      ///< The first sender (copy it for more).
    Receiver<T> receiver;  ///< The only receiver.
};

/// Creates a channel holding at most `capacity` messages, with one sender and the receiver.
/// From any thread.
/// @throws std::invalid_argument if capacity is 0 or more than 2^40.
/// @throws std::bad_alloc if the ring cannot be allocated.
template <class T>
Channel<T> channel(std::size_t capacity);

namespace detail {
using weft::detail::AcquireStatus;
using weft::detail::BoundedChannel;
using weft::detail::ensure_not_worker;
using weft::detail::RecvStatus;
}  // namespace detail

/// A permit to send one message without waiting: a slot reserved in the channel.
///
/// Messages sent after the permit was granted are received after its message (it holds its place
/// in line), so send promptly: until it sends or is dropped, the receiver waits at its slot.
/// Dropping it unused gives the slot back. Move-only; usable from any thread.
template <class T>
class [[nodiscard]] Permit {
public:
    /// Takes `other`'s slot; `other` becomes used.
    Permit(Permit&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)), pos_(other.pos_) {}
    /// Gives this permit's slot back (if unused) and takes `other`'s.
    Permit& operator=(Permit&& other) noexcept {
        if (this != &other) {
            release();
            ch_ = std::exchange(other.ch_, nullptr);
            pos_ = other.pos_;
        }
        return *this;
    }
    /// Gives the slot back if the permit was not used.
    ~Permit() { release(); }

    /// Sends `value` into the reserved slot and uses up the permit. Never waits, never fails (if
    /// the receiver closed in the meantime the value is dropped with the channel, as for any value
    /// sent just before the close). From any thread.
    /// Throws whatever T's move constructor throws (the value is lost; the permit stays unused and
    /// its destructor gives the slot back).
    /// @throws std::logic_error on a used (or moved-from) permit.
    void send(T value) {
        if (!ch_) throw std::logic_error("weft: Permit used twice");
        ch_->publish(pos_, std::move(value));
        std::exchange(ch_, nullptr)->drop_sender();
    }

private:
    friend class Sender<T>;
    Permit(detail::BoundedChannel<T>* ch, std::uint64_t pos) noexcept : ch_(ch), pos_(pos) { ch_->add_sender(); }
    void release() noexcept {
        if (!ch_) return;
        ch_->publish_skip(pos_);
        std::exchange(ch_, nullptr)->drop_sender();
    }

    detail::BoundedChannel<T>* ch_;
    std::uint64_t pos_;
};

/// A sending end of a bounded mpsc channel. Copy it for more senders; the channel closes for the
/// receiver once every Sender (and Permit) is gone.
///
/// One Sender object is used by one task at a time. Using a moved-from Sender throws
/// std::logic_error.
template <class T>
class Sender {
public:
    /// Another sender on the same channel (a moved-from one copies as moved-from).
    Sender(const Sender& other) noexcept : ch_(other.ch_) {
        if (ch_) ch_->add_sender();
    }
    /// Takes `other`'s place; `other` becomes moved-from.
    Sender(Sender&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    /// Drops this sender (as the destructor does) and takes `other`'s channel.
    Sender& operator=(Sender other) noexcept {
        std::swap(ch_, other.ch_);
        return *this;
    }
    /// Drops this sender; the last sender or permit gone closes the channel for the receiver.
    ~Sender() {
        if (ch_) ch_->drop_sender();
    }

    // ---- send -----------------------------------------------------------------------------

    class WEFT_MUST_AWAIT SendAwaiter;
    class WEFT_MUST_AWAIT ReserveAwaiter;

    /// `co_await tx.send(v)`: waits for room (in line with other waiting senders), then sends.
    /// Yields a SendResult<T>: ok, or closed (the receiver is gone or closed) with the value handed
    /// back. Suspends only while the channel is full (or to yield, when the task's cooperative
    /// budget is spent).
    ///
    /// Not cancellation-safe for the value: abandoned before it completes (task aborted, timeout or
    /// select lost), the value was not sent and is destroyed with the awaiter, and the place in line
    /// is lost (a slot just offered to it passes to the next sender). Await reserve() instead to
    /// keep the value. Await inside a task run by a weft runtime.
    /// Throws whatever T's move constructor throws (from the co_await when it sends).
    /// @throws std::logic_error on a moved-from sender.
    SendAwaiter send(T value) { return SendAwaiter(channel(), std::move(value)); }

    /// `co_await tx.reserve()`: waits for room and reserves a slot. Yields
    /// `std::optional<Permit<T>>`, empty if the receiver is gone or closed.
    ///
    /// Cancellation-safe: abandoned before it completes, it holds no slot (it loses its place in
    /// line only). Await inside a task run by a weft runtime.
    /// @throws std::logic_error on a moved-from sender.
    ReserveAwaiter reserve() { return ReserveAwaiter(channel()); }

    /// Sends without waiting: ok, full, or closed (the value handed back on failure). Reports
    /// full while other senders wait for room, so they keep their turn. From any thread.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a moved-from sender.
    TrySendResult<T> try_send(T value) {
        std::uint64_t pos = 0;
        switch (channel()->try_acquire(pos)) {
            case detail::AcquireStatus::kClaimed:
                channel()->publish(pos, std::move(value));
                return {};
            case detail::AcquireStatus::kClosed:
                return {TrySendError::closed, std::move(value)};
            case detail::AcquireStatus::kWait:
                break;
        }
        return {TrySendError::full, std::move(value)};
    }

    /// Like try_send, but reserves the slot: a permit, or no permit and why: full (no room, or
    /// others wait for room) or closed. From any thread.
    /// @throws std::logic_error on a moved-from sender.
    TryReserveResult<T> try_reserve() {
        std::uint64_t pos = 0;
        switch (channel()->try_acquire(pos)) {
            case detail::AcquireStatus::kClaimed: return TryReserveResult<T>(Permit<T>(channel(), pos));
            case detail::AcquireStatus::kClosed: return TryReserveResult<T>(TrySendError::closed);
            case detail::AcquireStatus::kWait: break;
        }
        return TryReserveResult<T>(TrySendError::full);
    }

    /// Blocks this thread until there is room (in line with waiting senders), then sends: ok, or
    /// closed with the value handed back. For threads that are not runtime workers.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a runtime worker thread, or on a moved-from sender.
    SendResult<T> blocking_send(T value) {
        detail::ensure_not_worker("blocking_send");
        std::uint64_t pos = 0;
        AcquireStatus status = channel()->try_acquire(pos);
        if (status == AcquireStatus::kWait) {
            weft::detail::ScopedThreadNotifier notifier;
            const Waker waker = notifier->waker();
            typename detail::BoundedChannel<T>::Acquirer acquirer(*channel());
            status = acquirer.wait_in_line(waker);
            while (status == AcquireStatus::kWait) {
                notifier->park();
                status = acquirer.poll(waker);
            }
            pos = acquirer.position();
        }
        if (status == AcquireStatus::kClosed) return {SendError::closed, std::move(value)};
        channel()->publish(pos, std::move(value));
        return {};
    }

    class WEFT_MUST_AWAIT ClosedAwaiter;
    /// `co_await tx.closed()`: completes once the receiver is gone or closed the channel (at once
    /// if it already is). Yields nothing. Cancellation-safe (it takes nothing). Await inside a task
    /// run by a weft runtime.
    /// @throws std::logic_error on a moved-from sender.
    ClosedAwaiter closed() { return ClosedAwaiter(channel()); }

    /// True once the receiver is gone or closed the channel (sends fail).
    /// @throws std::logic_error on a moved-from sender.
    bool is_closed() const { return channel()->is_rx_closed(); }
    /// Free slots now (approximate while others send and receive).
    /// @throws std::logic_error on a moved-from sender.
    std::size_t capacity() const { return channel()->capacity() - std::min(channel()->capacity(), channel()->len()); }
    /// The channel's capacity, as created.
    /// @throws std::logic_error on a moved-from sender.
    std::size_t max_capacity() const { return channel()->capacity(); }
    /// True if both send into the same channel.
    bool same_channel(const Sender& other) const noexcept { return ch_ == other.ch_; }

private:
    using AcquireStatus = detail::AcquireStatus;
    /// @cond
    template <class U>
    friend Channel<U> channel(std::size_t);
    /// @endcond
    template <class Derived>
    class AcquireAwaiterBase;

    explicit Sender(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) {}
    detail::BoundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::Sender");
        return ch_;
    }

    detail::BoundedChannel<T>* ch_;
};

/// What SendAwaiter and ReserveAwaiter share: get a slot, waiting in line if the channel is full
/// (the budget and yield handling are BudgetedWait's, which provides await_ready and
/// await_suspend). Derived::complete(status, pos) turns the outcome into the result. Destroying it
/// while in line leaves the line and passes on a slot it was just offered.
template <class T>
template <class Derived>
class Sender<T>::AcquireAwaiterBase : public weft::detail::BudgetedWait<AcquireAwaiterBase<Derived>> {
public:
    /// Not yet in line.
    explicit AcquireAwaiterBase(detail::BoundedChannel<T>* ch) noexcept : ch_(ch), acquirer_(*ch) {}

protected:
    detail::BoundedChannel<T>* ch_;

private:
    friend weft::detail::BudgetedWait<AcquireAwaiterBase>;

    bool try_now() {
        std::uint64_t pos = 0;
        const AcquireStatus status = ch_->try_acquire(pos);
        if (status == AcquireStatus::kWait) return false;
        finish(status, pos);
        return true;
    }
    // Returns true if the task must suspend.
    bool wait(const Waker& waker) {
        const AcquireStatus status = acquirer_.wait_in_line(waker);
        if (status == AcquireStatus::kWait) return true;
        finish(status, acquirer_.position());
        return false;
    }
    // In line: our turn may have come (or the channel closed); after a spurious wake, or a slot
    // taken by a newcomer, we are back at the front of the line.
    bool poll_woken() {
        const AcquireStatus status = acquirer_.poll(weft::detail::current_task_waker());
        if (status == AcquireStatus::kWait) return false;
        finish(status, acquirer_.position());
        return true;
    }
    // Only allocation can throw here; keep waiting rather than lose the message.
    bool poll_failed() noexcept { return false; }
    void finish(AcquireStatus status, std::uint64_t pos) { static_cast<Derived*>(this)->complete(status, pos); }

    typename detail::BoundedChannel<T>::Acquirer acquirer_;
};

/// The awaitable Sender::send() returns: holds the value until it is sent. Not movable. A leaf
/// awaitable: select() and timeout() accept it. Its await_ready and await_suspend are inherited
/// (spend budget and try for a slot, else wait in line).
template <class T>
class WEFT_MUST_AWAIT Sender<T>::SendAwaiter final : public AcquireAwaiterBase<SendAwaiter> {
public:
    /// Made by Sender::send(). Throws what T's move constructor throws.
    SendAwaiter(detail::BoundedChannel<T>* ch, T value) : AcquireAwaiterBase<SendAwaiter>(ch), value_(std::move(value)) {}
    /// Ok, or closed with the value handed back. Throws what T's move constructor throws.
    SendResult<T> await_resume() { return std::move(result_); }
    /// Called by the base once the wait ends: sends into the slot, or keeps the value to hand back.
    void complete(AcquireStatus status, std::uint64_t pos) {
        if (status == AcquireStatus::kClaimed) this->ch_->publish(pos, std::move(value_));
        else result_ = SendResult<T>(SendError::closed, std::move(value_));
    }

private:
    T value_;
    SendResult<T> result_;
};

/// The awaitable Sender::reserve() returns. Not movable. A leaf awaitable: select() and timeout()
/// accept it. Its await_ready and await_suspend are inherited (spend budget and try for a slot,
/// else wait in line). Destroyed holding a slot it was not asked for, it gives the slot back.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ReserveAwaiter final : public AcquireAwaiterBase<ReserveAwaiter> {
public:
    /// Made by Sender::reserve().
    explicit ReserveAwaiter(detail::BoundedChannel<T>* ch) : AcquireAwaiterBase<ReserveAwaiter>(ch) {}
    /// The permit, or empty if the channel is closed.
    std::optional<Permit<T>> await_resume() { return std::move(permit_); }
    /// Called by the base once the wait ends: wraps the slot in a Permit.
    void complete(AcquireStatus status, std::uint64_t pos) {
        if (status == AcquireStatus::kClaimed) permit_.emplace(Permit<T>(this->ch_, pos));
    }

private:
    std::optional<Permit<T>> permit_;
};

/// The awaitable Sender::closed() returns. Not movable. A leaf awaitable: select() and timeout()
/// accept it.
template <class T>
class WEFT_MUST_AWAIT Sender<T>::ClosedAwaiter final : public weft::detail::Pollable {
public:
    /// Made by Sender::closed().
    explicit ClosedAwaiter(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) {}
    /// Leaves the wait list if still queued.
    ~ClosedAwaiter() { ch_->closed_waiters().remove(node_); }
    /// True if the receiver is already gone or closed.
    bool await_ready() const noexcept { return ch_->is_rx_closed(); }
    /// Queues the task's waker; false (do not suspend) if the channel closed meanwhile.
    /// @throws std::logic_error outside a task run by a weft runtime.
    bool await_suspend(std::coroutine_handle<>) {
        if (!ch_->closed_waiters().add(node_, weft::detail::current_task_waker())) return false;
        weft::detail::set_pending_poll(this);
        return true;
    }
    /// Called by the worker before resuming the task: true once the channel is closed.
    bool poll_ready() noexcept override { return ch_->is_rx_closed(); }
    /// Yields nothing.
    void await_resume() const noexcept {}

private:
    detail::BoundedChannel<T>* ch_;
    weft::detail::Waiter node_;
};

/// The receiving end of a bounded mpsc channel: recv, recv_many, try_recv, blocking_recv, close,
/// len (inherited from weft::detail::ReceiverBase, shared with UnboundedReceiver), plus the
/// capacity queries of a bounded channel.
///
/// Move-only. One task (or thread) at a time. Using a moved-from Receiver throws std::logic_error.
template <class T>
class Receiver : public weft::detail::ReceiverBase<detail::BoundedChannel<T>, T> {
    using Base = weft::detail::ReceiverBase<detail::BoundedChannel<T>, T>;

public:
#ifdef WEFT_DOXYGEN
    // For the reference only (the compiler never sees these): the members Receiver inherits from
    // weft::detail::ReceiverBase (channels/detail/receiver_base.hpp), which the reference does not
    // show. Keep them in step with ReceiverBase.

    /// The awaitable recv() returns; `co_await` on it yields `std::optional<T>`. A leaf awaitable:
    /// select() and timeout() accept it.
    using RecvAwaiter = unspecified;
    /// The awaitable recv_many() returns; `co_await` on it yields `std::size_t`. A leaf awaitable.
    using RecvManyAwaiter = unspecified;

    /// Takes `other`'s place; `other` becomes moved-from.
    Receiver(Receiver&& other) noexcept;
    /// Closes this receiver's channel (as the destructor does) and takes `other`'s.
    Receiver& operator=(Receiver&& other) noexcept;
    /// Closes the channel (later sends fail, waiting senders wake with closed) and destroys the
    /// values still buffered.
    ~Receiver();

    /// `co_await rx.recv()`: the next message, or an empty optional once every sender is gone (or
    /// the channel was closed) and the buffer is drained. Suspends while the channel is empty (or
    /// yields first, when the task's cooperative budget is spent).
    ///
    /// Cancellation-safe: a message is taken only when the recv completes, so abandoning it (task
    /// aborted, timeout or select lost) loses nothing. Await inside a task run by a weft runtime.
    /// Throws whatever T's move constructor throws, from the co_await; T's move should not throw:
    /// thrown while the task is being resumed after a wait, it terminates.
    /// @throws std::logic_error on a moved-from receiver.
    RecvAwaiter recv();

    /// `co_await rx.recv_many(buffer, limit)`: appends up to `limit` messages to `buffer` with
    /// `push_back` (at least one, waiting while there are none) and yields how many; 0 means
    /// closed and drained (or limit == 0).
    ///
    /// Cancellation-safe: messages are appended only by the step that completes it, so abandoning
    /// it loses nothing. `buffer` must outlive the await. Await inside a task run by a weft runtime.
    /// Throws whatever `push_back` or T's move constructor throws, from the co_await when it
    /// completes without waiting. Thrown while the task is being resumed after a wait, the
    /// exception is swallowed and the message lost: use a buffer whose `push_back` cannot throw
    /// there (reserve `limit` first).
    /// @throws std::logic_error on a moved-from receiver.
    template <class Container>
    RecvManyAwaiter recv_many(Container& buffer, std::size_t limit);

    /// A message if one is ready; otherwise empty (senders remain) or disconnected (every sender
    /// gone, or the channel closed, and nothing buffered). Never waits; from any thread.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a moved-from receiver.
    TryRecvResult<T> try_recv();

    /// Blocks this thread until a message arrives (returned) or the channel is closed and drained
    /// (empty optional). For threads that are not runtime workers.
    /// Throws whatever T's move constructor throws.
    /// @throws std::logic_error on a runtime worker thread, or on a moved-from receiver.
    std::optional<T> blocking_recv();

    /// Stops new sends: they fail with closed, and senders waiting for room wake with closed.
    /// Messages already buffered can still be received; recv then yields empty. From any thread;
    /// closing twice does nothing.
    /// @throws std::logic_error on a moved-from receiver.
    void close();

    /// True once close() was called or every sender (and permit) is gone, as Tokio's. Messages
    /// may still be buffered: recv yields them first.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_closed() const;
    /// Messages buffered now (approximate while senders are active).
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t len() const;
    /// True if len() is 0.
    /// @throws std::logic_error on a moved-from receiver.
    bool is_empty() const;
#endif

    /// Free slots now (approximate while others send and receive).
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t capacity() const { return max_capacity() - std::min(max_capacity(), this->len()); }
    /// The channel's capacity, as created.
    /// @throws std::logic_error on a moved-from receiver.
    std::size_t max_capacity() const { return this->channel()->capacity(); }

private:
    /// @cond
    template <class U>
    friend Channel<U> channel(std::size_t);
    /// @endcond
    explicit Receiver(detail::BoundedChannel<T>* ch) noexcept : Base(ch) {}
};

template <class T>
Channel<T> channel(std::size_t capacity) {
    auto* ch = new detail::BoundedChannel<T>(capacity);
    return Channel<T>{Sender<T>(ch), Receiver<T>(ch)};
}

}  // namespace weft::mpsc
