#include "detail/stream_socket.hpp"

#include <cerrno>
#include <system_error>

#include "../coop.hpp"
#include "detail/socket_ops.hpp"
#include "errors.hpp"

namespace weft::net::detail {

Task<void> connect_stream(StreamSocket& out, int fd, const sockaddr* address, socklen_t len, std::string what) {
    // A connect that completes or fails at once (a Unix socket, a refused one) never reaches a
    // readiness wait: it spends its unit of budget here, so a connect loop yields like any I/O.
    // Before the call: a connect cancelled during that yield has done nothing.
    co_await weft::consume_budget();
    // Register only once the connection is under way: epoll reports a socket that is not yet
    // connected as hung up, and that stale edge must not be the first thing the reactor sees.
    const int rc = ::connect(fd, address, len);
    const int connect_errno = errno;
    out = StreamSocket(fd);  // owns fd from here (closes it if registration fails)
    if (rc == 0) co_return;
    if (connect_errno != EINPROGRESS) throw_errno(connect_errno, what);
    // Writable once the handshake finished, either way: SO_ERROR says which way, and a socket
    // that still has no peer is still connecting (a stale edge woke us): wait on.
    auto connected = [fd]() -> ssize_t {
        int err = 0;
        socklen_t err_len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0) return -1;
        if (err != 0) {
            errno = err;
            return -1;
        }
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) return 0;
        if (errno == ENOTCONN) errno = EAGAIN;
        return -1;
    };
    std::error_code failed;
    try {
        (void)co_await weft::detail::IoAwaiter(out.reg_, weft::detail::Interest::write, "weft: connect", connected);
    } catch (const std::system_error& e) {
        if (e.code().category() != std::system_category()) throw;
        failed = e.code();
    }
    if (failed) throw std::system_error(failed, what);  // name the address in the message
}

Task<void> StreamSocket::read_exact(std::span<std::byte> buffer) {
    std::size_t done = 0;
    while (done < buffer.size()) {
        const std::size_t n = co_await read(buffer.subspan(done));
        if (n == 0) throw std::system_error(StreamError::unexpected_eof, "weft: read_exact");
        done += n;
    }
}

Task<void> StreamSocket::write_all(std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) done += co_await write(data.subspan(done));
}

void StreamSocket::shutdown(Shutdown how) {
    if (!reg_.is_open()) reg_.throw_closed("weft: shutdown");
    if (::shutdown(reg_.fd(), static_cast<int>(how)) < 0) throw_errno(errno, "weft: shutdown");
}

}  // namespace weft::net::detail
