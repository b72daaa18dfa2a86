// UnixStream: a connected Unix domain stream socket on the runtime's reactor.
#pragma once

#include "../detail/language_check.hpp"

#include <string>
#include <utility>

#include "../task.hpp"
#include "detail/socket_ops.hpp"
#include "detail/stream_socket.hpp"
#include "split.hpp"

namespace weft::net {

/// A connected Unix domain stream socket (Tokio's UnixStream): the same byte stream as TcpStream
/// (read, read_exact, write, write_all, shutdown, close, into_split; BufReader and BufWriter work
/// over it), named by filesystem paths instead of IP addresses.
///
///     weft::net::UnixStream s = co_await weft::net::UnixStream::connect("/run/app.sock");
///     auto [a, b] = weft::net::UnixStream::pair();   // two connected ends, no path
///
/// Operations, cancellation safety, the cooperative budget and errors are TcpStream's (the stream
/// code is shared). Move-only; destroying it closes the socket.
class UnixStream : public detail::StreamSocket {
public:
    /// No socket: operations fail with ECANCELED.
    UnixStream() noexcept = default;
    /// Adopts a connected, non-blocking Unix stream socket and registers it with the current
    /// runtime's reactor. @throws as TcpStream(int).
    explicit UnixStream(int fd) : StreamSocket(fd) {}

    /// Connects to the listener at `path`. Cancellation-safe: an abandoned connect closes its socket.
    /// @throws std::system_error with the errno (ENOENT: no such socket, ECONNREFUSED: nobody
    /// listens there, EAGAIN: its backlog is full, ENAMETOOLONG), naming the path.
    static Task<UnixStream> connect(std::string path);
    /// Two streams connected to each other (socketpair), on the current runtime's reactor.
    /// @throws std::system_error if socketpair fails; as UnixStream(int) outside a runtime.
    static std::pair<UnixStream, UnixStream> pair();

    /// Splits the stream into a read half and a write half that two tasks may use at once; see
    /// OwnedReadHalf. Dropping the write half shuts the write side down.
    std::pair<OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>> into_split() && { return split_owned(std::move(*this)); }

    /// The path this end is bound to; empty for an unnamed socket (a connecting end, a pair).
    /// (Tokio returns a SocketAddr; a path is all a Unix stream address holds here.)
    /// @throws std::system_error if getsockname fails.
    std::string local_addr() const { return detail::local_unix_path(native_handle()); }
    /// The peer's path; empty if the peer is unnamed. @throws std::system_error if getpeername fails.
    std::string peer_addr() const { return detail::peer_unix_path(native_handle()); }
};

}  // namespace weft::net
