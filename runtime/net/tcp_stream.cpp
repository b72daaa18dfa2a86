#include "tcp_stream.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

#include "../runtime.hpp"
#include "errors.hpp"

namespace weft::net {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::system_category(), what);
}

// getaddrinfo, which may block on DNS: run on the blocking pool.
std::vector<SocketAddress> resolve_blocking(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
        const int code = rc == EAI_SYSTEM ? errno : rc;
        const std::error_category& cat = rc == EAI_SYSTEM ? std::system_category() : resolver_category();
        throw std::system_error(code, cat, "weft: resolve " + host);
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(found, ::freeaddrinfo);
    std::vector<SocketAddress> out;
    for (addrinfo* ai = found; ai; ai = ai->ai_next)
        out.push_back(SocketAddress::from_native(ai->ai_addr, ai->ai_addrlen));
    return out;
}

}  // namespace

Task<TcpStream> TcpStream::connect(std::string host, std::uint16_t port) {
    const std::optional<SocketAddress> numeric = SocketAddress::parse(host, port);
    if (numeric) {
        TcpStream stream = co_await connect(*numeric);
        co_return stream;
    }
    // Bound to a variable: g++ 12 destroys a lambda with captures written directly in a co_await
    // operand twice (README, Pitfalls).
    JoinHandle<std::vector<SocketAddress>> resolving = weft::spawn_blocking([host, port] { return resolve_blocking(host, port); });
    std::vector<SocketAddress> addresses = co_await resolving;
    std::exception_ptr last;
    for (const SocketAddress& a : addresses) {
        try {
            co_return co_await connect(a);
        } catch (const std::system_error&) {
            last = std::current_exception();
        }
    }
    if (last) std::rethrow_exception(last);
    throw std::system_error(EAI_NONAME, resolver_category(), "weft: resolve " + host);
}

Task<TcpStream> TcpStream::connect(SocketAddress address) {
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno(errno, "weft: socket");
    const std::string what = "weft: connect to " + address.to_string();
    // Register only once the connection is under way: epoll reports a socket that is not yet
    // connected as hung up, and that stale edge must not be the first thing the reactor sees.
    const int rc = ::connect(fd, address.native(), address.native_len());
    const int connect_errno = errno;
    TcpStream stream(fd);  // owns fd from here (closes it if registration fails)
    if (rc < 0) {
        if (connect_errno != EINPROGRESS) throw_errno(connect_errno, what);
        // Writable once the handshake finished, either way: SO_ERROR says which way, and a
        // socket that still has no peer is still connecting (a stale edge woke us): wait on.
        auto connected = [fd]() -> ssize_t {
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -1;
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
            (void)co_await weft::detail::IoAwaiter(stream.reg_, weft::detail::Interest::write, "weft: connect", connected);
        } catch (const std::system_error& e) {
            if (e.code().category() != std::system_category()) throw;
            failed = e.code();
        }
        if (failed) throw std::system_error(failed, what);  // name the address in the message
    }
    stream.set_nodelay(true);
    co_return stream;
}

Task<void> TcpStream::read_exact(std::span<std::byte> buffer) {
    std::size_t done = 0;
    while (done < buffer.size()) {
        const std::size_t n = co_await read(buffer.subspan(done));
        if (n == 0) throw std::system_error(StreamError::unexpected_eof, "weft: read_exact");
        done += n;
    }
}

Task<void> TcpStream::write_all(std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) done += co_await write(data.subspan(done));
}

std::optional<std::size_t> TcpStream::try_read_some(void* data, std::size_t size) {
    const auto n = weft::detail::try_io(reg_, weft::detail::Interest::read, "weft: try_read", detail::RecvOp{reg_.fd(), data, size});
    if (!n) return std::nullopt;
    if (*n < 0) throw_errno(errno, "weft: try_read");
    return static_cast<std::size_t>(*n);
}

std::optional<std::size_t> TcpStream::try_write_some(const void* data, std::size_t size) {
    const auto n = weft::detail::try_io(reg_, weft::detail::Interest::write, "weft: try_write", detail::SendOp{reg_.fd(), data, size});
    if (!n) return std::nullopt;
    if (*n < 0) throw_errno(errno, "weft: try_write");
    return static_cast<std::size_t>(*n);
}

void TcpStream::shutdown(Shutdown how) {
    if (!reg_.is_open()) reg_.throw_closed("weft: shutdown");
    if (::shutdown(reg_.fd(), static_cast<int>(how)) < 0) throw_errno(errno, "weft: shutdown");
}

SocketAddress TcpStream::local_addr() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(reg_.fd(), reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno(errno, "weft: getsockname");
    return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&a), len);
}

SocketAddress TcpStream::peer_addr() const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(reg_.fd(), reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno(errno, "weft: getpeername");
    return SocketAddress::from_native(reinterpret_cast<sockaddr*>(&a), len);
}

void TcpStream::set_nodelay(bool on) {
    const int v = on ? 1 : 0;
    if (::setsockopt(reg_.fd(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0) throw_errno(errno, "weft: TCP_NODELAY");
}

bool TcpStream::nodelay() const {
    int v = 0;
    socklen_t len = sizeof v;
    if (::getsockopt(reg_.fd(), IPPROTO_TCP, TCP_NODELAY, &v, &len) < 0) throw_errno(errno, "weft: TCP_NODELAY");
    return v != 0;
}

}  // namespace weft::net
