// How the mpsc receive paths (recv_awaiters.hpp, blocking_recv.hpp, receiver_base.hpp) reach a
// channel's next message: look at it, move it to where it goes, and only then remove it. A move (or
// a container's push_back) that throws therefore leaves the message in the channel, and the next
// receive gets it; and looking never throws, so a wait can be registered without losing anything.
//
// A channel offers the front contract:
//   RecvStatus poll_front() noexcept;                     // kValue: front() is the next message
//                                                         // (kept until pop_front), kEmpty, or
//                                                         // kClosed (closed and drained)
//   RecvStatus register_receiver(const Waker&) noexcept;  // registers, then poll_front()
//   T& front() noexcept;                                  // after poll_front() == kValue
//   void pop_front() noexcept;                            // the front was moved from: drop it
// Only the receiver calls these, so nothing else can take the front between poll and pop.
//
#pragma once

#include <concepts>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <weft/runtime/waker.hpp>
#include "recv_status.hpp"

namespace weft::detail {

template <class Chan>
concept HasRecvFront = requires(Chan& ch, const Waker& w) {
    { ch.poll_front() } -> std::same_as<RecvStatus>;
    { ch.register_receiver(w) } -> std::same_as<RecvStatus>;
    ch.front();
    ch.pop_front();
};

template <class Chan, class T>
    requires HasRecvFront<Chan>
class RecvPort {
public:
    explicit RecvPort(Chan* ch) noexcept : ch_(ch) {}
    RecvStatus poll() noexcept { return ch_->poll_front(); }
    RecvStatus register_receiver(const Waker& waker) noexcept { return ch_->register_receiver(waker); }
    T& front() noexcept { return ch_->front(); }
    void pop_front() noexcept { ch_->pop_front(); }

private:
    Chan* ch_;
};

// Pops the port's front when the scope it guards ends normally, not when an exception leaves it:
//   PopOnReturn<Port, T> pop(port); return Result(std::move(port.front()));
// The result is built in the caller's storage (a prvalue) before the guard runs, so a move that
// throws leaves the message in the channel. For a T whose move cannot throw the guard pops
// unconditionally: std::uncaught_exceptions costs two calls into libstdc++'s thread-local state,
// which on a receive loop was a tenth of each message's time.
template <class Port, class T>
class PopOnReturn {
public:
    explicit PopOnReturn(Port& port) noexcept : port_(port) {
        if constexpr (kMayThrow) exceptions_ = std::uncaught_exceptions();
    }
    PopOnReturn(const PopOnReturn&) = delete;
    PopOnReturn& operator=(const PopOnReturn&) = delete;
    ~PopOnReturn() {
        if constexpr (kMayThrow) {
            if (std::uncaught_exceptions() != exceptions_) return;
        }
        port_.pop_front();
    }

private:
    static constexpr bool kMayThrow = !std::is_nothrow_move_constructible_v<T>;
    Port& port_;
    int exceptions_ = 0;
};

// The ready message, moved out of the channel into an engaged optional (after poll() == kValue).
template <class T, class Port>
std::optional<T> take_front(Port& port) {
    PopOnReturn<Port, T> pop(port);
    return std::optional<T>(std::in_place, std::move(port.front()));
}

}  // namespace weft::detail
