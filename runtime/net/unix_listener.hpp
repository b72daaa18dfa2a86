// UnixListener: accepts Unix domain stream connections on the runtime's reactor.
#pragma once

#include "../detail/language_check.hpp"

#include <string>

#include "../detail/registration.hpp"
#include "../task.hpp"
#include "unix_stream.hpp"

namespace weft::net {

/// A listening Unix domain stream socket bound to a filesystem path (Tokio's UnixListener).
///
///     auto listener = weft::net::UnixListener::bind("/tmp/app.sock");
///     weft::net::UnixStream s = co_await listener.accept();
///
/// As Tokio (and the system), destroying the listener leaves the socket file in place: remove it
/// (std::filesystem::remove) when done, and before binding the same path again (bind fails with
/// EADDRINUSE while it exists). accept() behaves as TcpListener::accept (several tasks may wait,
/// cancellation-safe, spends the cooperative budget, EMFILE keeps the readiness: back off), but
/// yields only the stream: a connecting Unix socket is almost always unnamed (Tokio also yields
/// its address). Move-only; destroying it closes the socket.
class UnixListener {
public:
    /// No socket: accept() fails with ECANCELED.
    UnixListener() noexcept = default;

    /// Creates the socket file at `path` and listens. Synchronous; call inside a task of the
    /// runtime to serve it.
    /// @throws std::system_error (EADDRINUSE if `path` exists, ENOENT, EACCES, ENAMETOOLONG);
    /// std::logic_error outside a runtime; RuntimeShutdownError after it shut down.
    static UnixListener bind(const std::string& path, int backlog = 1024);

    /// Waits for the next connection. @throws std::system_error with the errno (ECANCELED after
    /// close(); EMFILE, ENFILE: back off first), or RuntimeShutdownError.
    Task<UnixStream> accept();

    /// The path it is bound to. @throws std::system_error if getsockname fails.
    std::string local_addr() const { return detail::local_unix_path(reg_.fd()); }
    /// Stops listening now; a waiting accept fails with ECANCELED. Idempotent; from any thread.
    void close() noexcept { reg_.close(); }
    /// The socket's descriptor (-1 if none); still owned by the listener.
    int native_handle() const noexcept { return reg_.fd(); }

private:
    explicit UnixListener(int fd) : reg_(fd) {}
    weft::detail::Registration reg_;
};

}  // namespace weft::net
