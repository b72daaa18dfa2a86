// What the bounded and unbounded mpsc receivers share: owning the receiving end, and every way of
// receiving. `Chan` provides the front contract (recv_port.hpp: poll_front, register_receiver,
// front, pop_front), close_receiver, is_closed, len, drop_receiver, and sender_strong_count /
// sender_weak_count (the live senders and weak senders, as Tokio's Receiver reports them).
//
// The API reference leaves weft::detail out, so these members are declared again, for doxygen
// only, in mpsc::Receiver (mpsc.hpp) and mpsc::UnboundedReceiver (unbounded.hpp) under
// #ifdef WEFT_DOXYGEN: change those declarations and their docs along with this class.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

#include "../errors.hpp"
#include "blocking_recv.hpp"
#include "recv_awaiters.hpp"
#include "recv_port.hpp"
#include "recv_status.hpp"

namespace weft::detail {

template <class Chan, class T>
class ReceiverBase {
public:
    ReceiverBase(ReceiverBase&& other) noexcept : ch_(std::exchange(other.ch_, nullptr)) {}
    ReceiverBase& operator=(ReceiverBase&& other) noexcept {
        if (this != &other) {
            if (ch_) ch_->drop_receiver();
            ch_ = std::exchange(other.ch_, nullptr);
        }
        return *this;
    }
    ReceiverBase(const ReceiverBase&) = delete;
    ReceiverBase& operator=(const ReceiverBase&) = delete;
    // Closes the channel and destroys the values still buffered.
    ~ReceiverBase() {
        if (ch_) ch_->drop_receiver();
    }

    using RecvAwaiter = detail::RecvAwaiter<Chan, T>;
    using RecvManyAwaiter = detail::RecvManyAwaiter<Chan, T>;

    // `co_await rx.recv()`: the next message, or an empty optional once every sender is gone (or
    // the channel was closed) and the buffer is drained. Suspends while the channel is empty.
    RecvAwaiter recv() { return RecvAwaiter(channel()); }

    // `co_await rx.recv_many(buffer, limit)`: appends up to `limit` messages to `buffer` (at least
    // one, waiting if there are none) and yields how many; 0 means closed and drained (or
    // limit == 0).
    template <class Container>
    RecvManyAwaiter recv_many(Container& buffer, std::size_t limit) {
        return RecvManyAwaiter(channel(), buffer, limit);
    }

    // A message if one is ready: otherwise empty (senders remain) or disconnected. A move that
    // throws leaves the message in the channel.
    TryRecvResult<T> try_recv() {
        RecvPort<Chan, T> port(channel());
        switch (port.poll()) {
            case RecvStatus::kValue: {
                PopOnReturn<RecvPort<Chan, T>, T> pop(port);
                return TryRecvResult<T>(std::move(port.front()));
            }
            case RecvStatus::kEmpty: return TryRecvResult<T>(TryRecvError::empty);
            case RecvStatus::kClosed: break;
        }
        return TryRecvResult<T>(TryRecvError::disconnected);
    }

    // Blocks this thread until a message arrives or the channel closes. For threads that are not
    // runtime workers (throws std::logic_error on a worker).
    std::optional<T> blocking_recv() { return detail::blocking_recv<T>(*channel()); }

    // Stops new sends (they fail with closed; senders waiting for room wake with closed). Messages
    // already buffered can still be received; recv then yields empty.
    void close() { channel()->close_receiver(); }

    // True once close() was called or every sender is gone, as Tokio's Receiver::is_closed.
    bool is_closed() const { return channel()->is_closed(); }
    // Messages buffered now (approximate while senders are active).
    std::size_t len() const { return channel()->len(); }
    bool is_empty() const { return len() == 0; }

    // Live senders (a weak sender does not count): 0 once every sender is gone.
    std::size_t sender_strong_count() const { return channel()->sender_strong_count(); }
    // Live weak senders.
    std::size_t sender_weak_count() const { return channel()->sender_weak_count(); }

protected:
    explicit ReceiverBase(Chan* ch) noexcept : ch_(ch) {}
    Chan* channel() const {
        if (!ch_) throw std::logic_error("weft: use of a moved-from mpsc receiver");
        return ch_;
    }

private:
    Chan* ch_;
};

}  // namespace weft::detail
