// mpsc::unbounded_channel: a multi-producer, single-consumer channel without backpressure.
//
//   auto [tx, rx] = weft::mpsc::unbounded_channel<Event>();
//   tx.send(ev);                                   // never waits
//   while (auto ev = co_await rx.recv()) { ... }
//
// The same semantics as mpsc::channel, minus capacity: send never suspends, so a producer faster
// than its consumer grows memory without bound. Prefer the bounded channel unless the producer
// cannot wait (a callback from a non-async library, say).
//
// Lock-free: send, recv with a value, try_recv (moodycamel's ConcurrentQueue; allocation is
// amortised over blocks of messages, and blocks are reused). T must be default-constructible and
// move-assignable (the queue dequeues by assignment).
//
// A Sender is one producer of the underlying queue: use it from one task (or thread) at a time,
// and copy it to share. Messages from one Sender arrive in the order sent.
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

template <class T>
struct UnboundedChannel {
    UnboundedSender<T> sender;
    UnboundedReceiver<T> receiver;
};

template <class T>
UnboundedChannel<T> unbounded_channel();

template <class T>
class UnboundedSender {
public:
    UnboundedSender(const UnboundedSender& other) : ch_(other.ch_), token_(ch_ ? ch_->make_token() : nullptr) {
        if (ch_) ch_->add_sender();
    }
    UnboundedSender(UnboundedSender&& other) noexcept
        : ch_(std::exchange(other.ch_, nullptr)), token_(std::move(other.token_)) {}
    UnboundedSender& operator=(UnboundedSender other) noexcept {
        std::swap(ch_, other.ch_);
        std::swap(token_, other.token_);
        return *this;
    }
    ~UnboundedSender() {
        token_.reset();  // before the channel (and its queue) can go
        if (ch_) ch_->drop_sender();
    }

    // Sends without waiting. Fails, handing the value back, if the receiver is gone or closed.
    SendResult<T> send(T value) {
        if (!channel()->send(*token_, value)) return {SendError::closed, std::move(value)};
        return {};
    }

    bool is_closed() const { return channel()->is_rx_closed(); }
    bool same_channel(const UnboundedSender& other) const noexcept { return ch_ == other.ch_; }

private:
    template <class U>
    friend UnboundedChannel<U> unbounded_channel();
    explicit UnboundedSender(weft::detail::UnboundedChannel<T>* ch) : ch_(ch), token_(ch->make_token()) {}
    weft::detail::UnboundedChannel<T>* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc::UnboundedSender");
        return ch_;
    }

    weft::detail::UnboundedChannel<T>* ch_;
    std::unique_ptr<typename weft::detail::UnboundedChannel<T>::Token> token_;
};

// The receiving end: recv, recv_many, try_recv, blocking_recv, close, len (ReceiverBase documents
// each).
template <class T>
class UnboundedReceiver : public weft::detail::ReceiverBase<weft::detail::UnboundedChannel<T>, T> {
    using Base = weft::detail::ReceiverBase<weft::detail::UnboundedChannel<T>, T>;

private:
    template <class U>
    friend UnboundedChannel<U> unbounded_channel();
    explicit UnboundedReceiver(weft::detail::UnboundedChannel<T>* ch) noexcept : Base(ch) {}
};

template <class T>
UnboundedChannel<T> unbounded_channel() {
    auto* ch = new weft::detail::UnboundedChannel<T>();
    return UnboundedChannel<T>{UnboundedSender<T>(ch), UnboundedReceiver<T>(ch)};
}

}  // namespace weft::mpsc
