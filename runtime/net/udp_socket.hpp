// UdpSocket: a UDP socket on the runtime's reactor.
#pragma once

#include "../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "../detail/registration.hpp"
#include "../task.hpp"
#include "detail/readiness.hpp"
#include "detail/socket_options.hpp"
#include "socket_address.hpp"

namespace weft::net {

namespace detail {
// Datagram ops: their lengths are not called `size`, so a datagram shorter than the buffer does
// not clear readiness (more datagrams may be queued; see IoAwaiter).
struct DatagramRecvOp {
    int fd;
    void* data;
    std::size_t capacity;
    ssize_t operator()() const noexcept { return ::recv(fd, data, capacity, 0); }
};
struct DatagramSendOp {
    int fd;
    const void* data;
    std::size_t length;
    ssize_t operator()() const noexcept { return ::send(fd, data, length, MSG_NOSIGNAL); }
};
struct SendToOp {
    int fd;
    const void* data;
    std::size_t length;
    SocketAddress to;
    ssize_t operator()() const noexcept { return ::sendto(fd, data, length, MSG_NOSIGNAL, to.native(), to.native_len()); }
};
struct RecvFromOp {
    int fd;
    void* data;
    std::size_t capacity;
    sockaddr_storage from{};
    socklen_t from_len = 0;
    ssize_t operator()() noexcept {
        from_len = sizeof from;
        return ::recvfrom(fd, data, capacity, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    }
    std::pair<std::size_t, SocketAddress> result(std::size_t n) const noexcept {
        return {n, SocketAddress::from_native(reinterpret_cast<const sockaddr*>(&from), from_len)};
    }
};
}  // namespace detail

/// A UDP socket on the runtime's reactor (Tokio's UdpSocket).
///
///     auto socket = weft::net::UdpSocket::bind(weft::net::SocketAddress("127.0.0.1", 0));
///     co_await socket.send_to("ping", peer);
///     auto [n, from] = co_await socket.recv_from(std::span<char>(buf));
///
/// Each send or receive moves one whole datagram. A datagram longer than the receive buffer is
/// cut to it and the rest is lost (as in Tokio); an empty datagram is received as 0 bytes.
/// Every operation is a leaf wait on the reactor: it works in select() and timeout(), is
/// cancellation-safe (the system call runs only when it completes, so an abandoned receive took
/// no datagram and an abandoned send sent nothing), and spends one unit of the task's
/// cooperative budget. Several tasks may send and receive on one socket at once.
///
/// Errors are std::system_error with the errno: ECONNREFUSED on a connected socket whose peer
/// has no listener (reported by a later send or recv, from an ICMP message), EMSGSIZE for a
/// datagram too large; ECANCELED after close(), RuntimeShutdownError after the runtime shut
/// down. Options (ttl, broadcast, buffer sizes) throw std::system_error if the call fails.
/// Move-only; destroying it closes the socket.
class UdpSocket : public detail::IpSocketOptions<UdpSocket> {
public:
    /// What recv() returns: awaiting it yields the datagram's length (std::size_t).
    using RecvAwaiter = weft::detail::IoAwaiter<detail::DatagramRecvOp>;
    /// What send() returns: awaiting it yields the bytes sent (all of them).
    using SendAwaiter = weft::detail::IoAwaiter<detail::DatagramSendOp>;
    /// What send_to() returns: awaiting it yields the bytes sent (all of them).
    using SendToAwaiter = weft::detail::IoAwaiter<detail::SendToOp>;
    /// What recv_from() returns: awaiting it yields std::pair<std::size_t, SocketAddress>, the
    /// datagram's length and who sent it.
    using RecvFromAwaiter = weft::detail::IoAwaiter<detail::RecvFromOp>;

    /// No socket: operations fail with ECANCELED.
    UdpSocket() noexcept = default;

    /// A socket bound to `address` (port 0: a free one, see local_addr()). Synchronous (Tokio's
    /// is async only because it resolves names). Call inside a task of the runtime to serve it.
    /// @throws std::system_error (EADDRINUSE...); std::logic_error outside a runtime;
    /// RuntimeShutdownError after it shut down.
    static UdpSocket bind(const SocketAddress& address);

    /// Sets the default peer: send() goes there, recv() takes only its datagrams. May be called
    /// again to change it. @throws std::system_error.
    void connect(const SocketAddress& address);

    /// Sends `data` as one datagram to the connected peer. `data` must outlive the await.
    /// @throws std::system_error (EDESTADDRREQ if not connected, ECONNREFUSED...).
    SendAwaiter send(std::string_view data) { return send(std::as_bytes(std::span(data.data(), data.size()))); }
    /// As send(std::string_view).
    SendAwaiter send(std::span<const std::byte> data) {
        return SendAwaiter(reg_, weft::detail::Interest::write, "weft: send", detail::DatagramSendOp{reg_.fd(), data.data(), data.size()});
    }
    /// Receives one datagram from the connected peer into `buffer`; yields its length.
    RecvAwaiter recv(std::span<char> buffer) { return recv(std::as_writable_bytes(buffer)); }
    /// As recv(std::span<char>).
    RecvAwaiter recv(std::span<std::byte> buffer) {
        return RecvAwaiter(reg_, weft::detail::Interest::read, "weft: recv", detail::DatagramRecvOp{reg_.fd(), buffer.data(), buffer.size()});
    }
    /// Sends `data` as one datagram to `target`.
    SendToAwaiter send_to(std::string_view data, const SocketAddress& target) {
        return send_to(std::as_bytes(std::span(data.data(), data.size())), target);
    }
    /// As send_to(std::string_view, const SocketAddress&).
    SendToAwaiter send_to(std::span<const std::byte> data, const SocketAddress& target) {
        return SendToAwaiter(reg_, weft::detail::Interest::write, "weft: send_to",
                             detail::SendToOp{reg_.fd(), data.data(), data.size(), target});
    }
    /// Receives one datagram into `buffer`; yields its length and sender.
    RecvFromAwaiter recv_from(std::span<char> buffer) { return recv_from(std::as_writable_bytes(buffer)); }
    /// As recv_from(std::span<char>).
    RecvFromAwaiter recv_from(std::span<std::byte> buffer) {
        return RecvFromAwaiter(reg_, weft::detail::Interest::read, "weft: recv_from",
                               detail::RecvFromOp{reg_.fd(), buffer.data(), buffer.size()});
    }

    /// Waits until a datagram can be received (or an error is pending), Tokio's readable().
    /// Suspends only if the reactor reported nothing since the last would-block.
    ReadyAwaiter readable() { return ready(Interest::readable); }
    /// Waits until a datagram can be sent. As readable().
    ReadyAwaiter writable() { return ready(Interest::writable); }
    /// Waits for any of `interest`; yields what is ready. As readable().
    ReadyAwaiter ready(Interest interest) { return ReadyAwaiter(reg_, interest.to_detail(), "weft: ready"); }

    /// send() without waiting: the bytes sent, or std::nullopt if it would block (await
    /// writable()). Throws as send().
    std::optional<std::size_t> try_send(std::string_view data) {
        return detail::try_call(reg_, weft::detail::Interest::write, "weft: try_send",
                                detail::DatagramSendOp{reg_.fd(), data.data(), data.size()});
    }
    /// recv() without waiting: the datagram's length, or std::nullopt if none is queued (await
    /// readable()). Throws as recv().
    std::optional<std::size_t> try_recv(std::span<char> buffer) {
        return detail::try_call(reg_, weft::detail::Interest::read, "weft: try_recv",
                                detail::DatagramRecvOp{reg_.fd(), buffer.data(), buffer.size()});
    }
    /// send_to() without waiting: the bytes sent, or std::nullopt if it would block.
    std::optional<std::size_t> try_send_to(std::string_view data, const SocketAddress& target) {
        return detail::try_call(reg_, weft::detail::Interest::write, "weft: try_send_to",
                                detail::SendToOp{reg_.fd(), data.data(), data.size(), target});
    }
    /// recv_from() without waiting: the datagram's length and sender, or std::nullopt if none is
    /// queued.
    std::optional<std::pair<std::size_t, SocketAddress>> try_recv_from(std::span<char> buffer) {
        detail::RecvFromOp op{reg_.fd(), buffer.data(), buffer.size()};
        const std::optional<std::size_t> n =
            detail::try_call(reg_, weft::detail::Interest::read, "weft: try_recv_from", std::ref(op));
        if (!n) return std::nullopt;
        return op.result(*n);
    }

    /// The connected peer. @throws std::system_error (ENOTCONN if not connected).
    SocketAddress peer_addr() const { return detail::peer_address(reg_.fd()); }
    /// True if datagrams may be sent to a broadcast address (SO_BROADCAST).
    bool broadcast() const;
    /// Allows or forbids sending to a broadcast address.
    void set_broadcast(bool on);

    /// Closes the socket now; waiting operations fail with ECANCELED. Idempotent; from any thread.
    void close() noexcept { reg_.close(); }
    /// False after close(), after the runtime shut down, or with no socket. From any thread.
    bool is_open() const noexcept { return reg_.is_open(); }
    /// The socket's descriptor (-1 if none); still owned by the socket.
    int native_handle() const noexcept { return reg_.fd(); }

private:
    explicit UdpSocket(int fd) : reg_(fd) {}
    weft::detail::Registration reg_;
};

}  // namespace weft::net
