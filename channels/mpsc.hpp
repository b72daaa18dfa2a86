// mpsc::channel: a bounded multi-producer, single-consumer channel with backpressure.
//
//   auto [tx, rx] = weft::mpsc::channel<Command>(32);
//   co_await tx.send(cmd);                  // suspends while the channel is full
//   while (auto cmd = co_await rx.recv()) { ... }   // empty optional: every sender is gone
//
// Semantics follow Tokio's mpsc. Messages from one sender arrive in the order sent. Senders
// waiting on a full channel get room in the order they started waiting. A send that fails hands
// the value back. Destroying the receiver closes the channel and destroys buffered values.
//
// Lock-free: send with room, recv with a value, try_send, try_recv, capacity queries (no mutex, no
// system call, no allocation per message). A sender suspending on a full channel, its wakeup, and
// Sender::closed() take a mutex; see channels/detail/sender_wait_list.hpp for why.
//
// Cancellation: destroying a pending send or recv (its task aborted, or a timeout won) loses no
// message: a recv takes a value only when it completes; a send either delivered its value or gives
// it up with the awaiter, and leaves no waiter behind.
//
// Handles are not synchronised objects: use one Sender from one task at a time (copy it to share),
// and the Receiver from one task at a time.
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

template <class T>
struct Channel {
    Sender<T> sender;
    Receiver<T> receiver;
};

// Creates a channel holding at most `capacity` messages. Throws std::invalid_argument if
// capacity is 0 (or absurdly large).
template <class T>
Channel<T> channel(std::size_t capacity);

namespace detail {
using weft::detail::AcquireStatus;
using weft::detail::BoundedChannel;
using weft::detail::ensure_not_worker;
using weft::detail::RecvStatus;
}  // namespace detail

// A permit to send one message without waiting: a slot reserved in the channel. Messages sent
// after the permit was granted are received after its message (it holds its place in line), so
// send promptly. Dropping it unused gives the slot back.
template <class T>
class [[nodiscard]] Permit {
public:
    Permit(Permit&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)), pos_(other.pos_) {}
    Permit& operator=(Permit&& other) noexcept {
        if (this != &other) {
            release();
            ch_ = std::exchange(other.ch_, nullptr);
            pos_ = other.pos_;
        }
        return *this;
    }
    ~Permit() { release(); }

    // Sends `value` into the reserved slot. Never waits, never fails (if the receiver closed in
    // the meantime the value is dropped with the channel, as for any value sent just before the
    // close). Throws std::logic_error on a used permit.
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

template <class T>
class Sender {
public:
    Sender(const Sender& other) noexcept : ch_(other.ch_) {
        if (ch_) ch_->add_sender();
    }
    Sender(Sender&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    Sender& operator=(Sender other) noexcept {
        std::swap(ch_, other.ch_);
        return *this;
    }
    ~Sender() {
        if (ch_) ch_->drop_sender();
    }

    // ---- send -----------------------------------------------------------------------------

    class SendAwaiter;
    class ReserveAwaiter;

    // `co_await tx.send(v)`: waits for room, then sends. Yields a SendResult<T>: ok, or closed
    // (the receiver is gone or closed) with the value handed back.
    SendAwaiter send(T value) { return SendAwaiter(channel(), std::move(value)); }

    // `co_await tx.reserve()`: waits for room and reserves it. Yields std::optional<Permit<T>>,
    // empty if the receiver is gone or closed.
    ReserveAwaiter reserve() { return ReserveAwaiter(channel()); }

    // Sends without waiting: ok, full, or closed (the value handed back on failure). Reports
    // full while other senders wait for room, so they keep their turn.
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

    // Like try_send, but returns a permit for the slot.
    std::optional<Permit<T>> try_reserve() {
        std::uint64_t pos = 0;
        if (channel()->try_acquire(pos) != detail::AcquireStatus::kClaimed) return std::nullopt;
        return Permit<T>(channel(), pos);
    }

    // Blocks this thread until there is room, then sends. For threads that are not runtime workers
    // (throws std::logic_error on a worker).
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

    // `co_await tx.closed()`: completes once the receiver is gone or closed the channel.
    class ClosedAwaiter;
    ClosedAwaiter closed() { return ClosedAwaiter(channel()); }

    bool is_closed() const { return channel()->is_rx_closed(); }
    // Free slots now (approximate while others send and receive).
    std::size_t capacity() const { return channel()->capacity() - std::min(channel()->capacity(), channel()->len()); }
    std::size_t max_capacity() const { return channel()->capacity(); }
    bool same_channel(const Sender& other) const noexcept { return ch_ == other.ch_; }

private:
    using AcquireStatus = detail::AcquireStatus;
    template <class U>
    friend Channel<U> channel(std::size_t);
    template <class Derived>
    class AcquireAwaiterBase;

    explicit Sender(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) {}
    detail::BoundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::Sender");
        return ch_;
    }

    detail::BoundedChannel<T>* ch_;
};

// Shared by send and reserve: get a slot, waiting in line if the channel is full (the budget and
// yield handling are BudgetedWait's). Derived::complete(status, pos) turns the outcome into the
// result.
template <class T>
template <class Derived>
class Sender<T>::AcquireAwaiterBase : public weft::detail::BudgetedWait<AcquireAwaiterBase<Derived>> {
public:
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

template <class T>
class Sender<T>::SendAwaiter final : public AcquireAwaiterBase<SendAwaiter> {
public:
    SendAwaiter(detail::BoundedChannel<T>* ch, T value) : AcquireAwaiterBase<SendAwaiter>(ch), value_(std::move(value)) {}
    SendResult<T> await_resume() { return std::move(result_); }
    void complete(AcquireStatus status, std::uint64_t pos) {
        if (status == AcquireStatus::kClaimed) this->ch_->publish(pos, std::move(value_));
        else result_ = SendResult<T>(SendError::closed, std::move(value_));
    }

private:
    T value_;
    SendResult<T> result_;
};

template <class T>
class Sender<T>::ReserveAwaiter final : public AcquireAwaiterBase<ReserveAwaiter> {
public:
    explicit ReserveAwaiter(detail::BoundedChannel<T>* ch) : AcquireAwaiterBase<ReserveAwaiter>(ch) {}
    std::optional<Permit<T>> await_resume() { return std::move(permit_); }
    void complete(AcquireStatus status, std::uint64_t pos) {
        if (status == AcquireStatus::kClaimed) permit_.emplace(Permit<T>(this->ch_, pos));
    }

private:
    std::optional<Permit<T>> permit_;
};

template <class T>
class Sender<T>::ClosedAwaiter final : public weft::detail::Pollable {
public:
    explicit ClosedAwaiter(detail::BoundedChannel<T>* ch) noexcept : ch_(ch) {}
    ~ClosedAwaiter() { ch_->closed_waiters().remove(node_); }
    bool await_ready() const noexcept { return ch_->is_rx_closed(); }
    bool await_suspend(std::coroutine_handle<>) {
        if (!ch_->closed_waiters().add(node_, weft::detail::current_task_waker())) return false;
        weft::detail::set_pending_poll(this);
        return true;
    }
    bool poll_ready() noexcept override { return ch_->is_rx_closed(); }
    void await_resume() const noexcept {}

private:
    detail::BoundedChannel<T>* ch_;
    weft::detail::Waiter node_;
};

// The receiving end: recv, recv_many, try_recv, blocking_recv, close, len (ReceiverBase documents
// each), plus the capacity queries of a bounded channel.
template <class T>
class Receiver : public weft::detail::ReceiverBase<detail::BoundedChannel<T>, T> {
    using Base = weft::detail::ReceiverBase<detail::BoundedChannel<T>, T>;

public:
    // Free slots now (approximate while others send and receive), and the channel's capacity.
    std::size_t capacity() const { return max_capacity() - std::min(max_capacity(), this->len()); }
    std::size_t max_capacity() const { return this->channel()->capacity(); }

private:
    template <class U>
    friend Channel<U> channel(std::size_t);
    explicit Receiver(detail::BoundedChannel<T>* ch) noexcept : Base(ch) {}
};

template <class T>
Channel<T> channel(std::size_t capacity) {
    auto* ch = new detail::BoundedChannel<T>(capacity);
    return Channel<T>{Sender<T>(ch), Receiver<T>(ch)};
}

}  // namespace weft::mpsc
