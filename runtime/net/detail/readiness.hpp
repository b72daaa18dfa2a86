// Readiness waits and non-blocking calls shared by the socket types: Tokio's readable(),
// writable(), ready() and try_* on TcpStream, UnixStream and UdpSocket, written once.
#pragma once

#include "../../detail/language_check.hpp"

#include <cerrno>
#include <cstddef>
#include <optional>

#include "../../detail/must_await.hpp"
#include "../../detail/registration.hpp"
#include "../../interest.hpp"
#include "socket_ops.hpp"

namespace weft::net {

/// What a socket's readable(), writable() and ready() return: awaiting it yields the Ready the
/// reactor reported. A leaf for select() and timeout(); cancellation-safe; spends one unit of the
/// task's cooperative budget.
class WEFT_MUST_AWAIT ReadyAwaiter final : public weft::detail::ReadyAwaiter {
public:
    using weft::detail::ReadyAwaiter::ReadyAwaiter;
    /// @throws std::system_error (ECANCELED) after close(); RuntimeShutdownError.
    Ready await_resume() { return Ready(weft::detail::ReadyAwaiter::await_resume().ready); }
};

namespace detail {

// One non-blocking call, made only if the reactor last said `reg` is ready for `interest`
// (weft::detail::try_io): the count, or nullopt if it would block (an EAGAIN clears the
// readiness). Throws std::system_error with the errno, named `what`.
template <class Op>
std::optional<std::size_t> try_call(const weft::detail::Registration& reg, weft::detail::Interest interest,
                                    const char* what, Op op) {
    const auto n = weft::detail::try_io(reg, interest, what, op);
    if (!n) return std::nullopt;
    if (*n < 0) throw_errno(errno, what);
    return static_cast<std::size_t>(*n);
}

}  // namespace detail
}  // namespace weft::net
