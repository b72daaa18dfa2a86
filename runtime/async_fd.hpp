// AsyncFd: waits for readiness of any non-blocking file descriptor on the runtime's reactor
// (tokio::io::unix::AsyncFd).
#pragma once

#include "detail/language_check.hpp"

#include <cerrno>
#include <optional>
#include <type_traits>
#include <utility>

#include "detail/registration.hpp"
#include "interest.hpp"

namespace weft {

class AsyncFd;

/// What AsyncFd's readable(), writable() and ready() yield: the readiness the reactor reported.
/// Edge-triggered: the reactor says a descriptor became ready once, so after a system call that
/// failed with EAGAIN the readiness must be cleared (clear_ready(), or try_io() does it), or the
/// next wait returns at once. Not clearing is harmless beyond that extra wake-up. Must not outlive
/// its AsyncFd.
class AsyncFdReadyGuard {
public:
    /// What was ready when the wait ended.
    Ready ready() const noexcept { return Ready(event_.ready); }
    /// Forgets this readiness: the next wait suspends until the reactor reports a new edge. An
    /// edge that came after this guard's keeps its readiness (no wake-up is lost). Hang-up and
    /// error readiness stay, as in Tokio: they are final.
    void clear_ready() noexcept;
    /// Runs `f` (a system call on the descriptor, returning its result: >= 0 done, -1 with errno).
    /// Returns nullopt if it failed with EAGAIN or EWOULDBLOCK, after clearing the readiness (wait
    /// again); else f's result, -1 included (errno says why). EINTR is retried.
    template <class F>
        requires std::is_signed_v<std::invoke_result_t<F&>>
    std::optional<std::invoke_result_t<F&>> try_io(F f);
    /// The AsyncFd this guard came from.
    AsyncFd& get_ref() const noexcept { return *fd_; }

private:
    friend class AsyncFd;
    AsyncFdReadyGuard(AsyncFd& fd, detail::ReadyEvent event) noexcept : fd_(&fd), event_(event) {}
    AsyncFd* fd_;
    detail::ReadyEvent event_;
};

/// Waits for a file descriptor the user owns (a pipe, an eventfd, a signalfd, inotify, a socket
/// from another library) to become readable or writable, on the current runtime's reactor.
///
///     int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
///     weft::AsyncFd fd(efd);                       // borrows efd; weft::AsyncFd::adopt owns it
///     for (;;) {
///         weft::AsyncFdReadyGuard guard = co_await fd.readable();
///         std::uint64_t n;
///         auto r = guard.try_io([&] { return ::read(efd, &n, sizeof n); });
///         if (!r) continue;                        // EAGAIN: readiness cleared, wait again
///         if (*r < 0) throw std::system_error(errno, std::system_category(), "read");
///         use(n);
///     }
///
/// The descriptor must be non-blocking (O_NONBLOCK), and of a kind epoll supports (not a regular
/// file). Registration is edge-triggered, for reading and writing at once.
///
/// The waits are leaf awaitables (select, timeout), cancellation-safe (abandoned, they did
/// nothing), and spend one unit of the task's cooperative budget each, as the socket operations
/// do. Any number of tasks may wait on one AsyncFd at once, for either direction: each readiness
/// edge wakes every one whose interest it matches (the first to make its call takes what is
/// there; the others get EAGAIN, clear and wait again).
///
/// Errors: a wait on a deregistered AsyncFd (deregister(), or one waiting when it was called)
/// throws std::system_error with ECANCELED; after the runtime shut down, RuntimeShutdownError.
/// Destroying the AsyncFd deregisters the descriptor and, unless it was adopted, leaves it open:
/// destroy the AsyncFd before closing a borrowed descriptor (epoll would go on watching the open
/// file through any duplicate of it). Move-only; moving it while a task waits on it is undefined.
class AsyncFd {
public:
    /// What readable(), writable() and ready() return: awaiting it yields an AsyncFdReadyGuard.
    class WEFT_MUST_AWAIT ReadyAwaiter final : public detail::ReadyAwaiter {
    public:
        /// @throws std::system_error (ECANCELED) after deregister(); RuntimeShutdownError.
        AsyncFdReadyGuard await_resume() { return AsyncFdReadyGuard(*fd_, detail::ReadyAwaiter::await_resume()); }

    private:
        friend class AsyncFd;
        ReadyAwaiter(AsyncFd& fd, Interest interest)
            : detail::ReadyAwaiter(fd.reg_, interest.to_detail(), "weft: AsyncFd"), fd_(&fd) {}
        AsyncFd* fd_;
    };

    /// Not registered: waits fail with ECANCELED.
    AsyncFd() noexcept = default;
    /// Registers `fd` with the current runtime's reactor; the descriptor stays the caller's.
    /// @throws std::invalid_argument if fd is negative or blocking; std::system_error if epoll
    /// refuses it (EPERM for a regular file, EEXIST if it is registered already);
    /// std::logic_error outside a task of a weft runtime; RuntimeShutdownError after it shut down.
    explicit AsyncFd(int fd);
    /// As AsyncFd(int), and takes ownership: the descriptor is closed when the AsyncFd is
    /// destroyed (also when this throws).
    static AsyncFd adopt(int fd);

    /// Waits until the descriptor is readable (or hung up, or in error). Suspends only if the
    /// reactor has not reported readiness since the last clear.
    ReadyAwaiter readable() { return ReadyAwaiter(*this, Interest::readable); }
    /// Waits until the descriptor is writable (or hung up, or in error).
    ReadyAwaiter writable() { return ReadyAwaiter(*this, Interest::writable); }
    /// Waits for any of `interest`; the guard's ready() says which came.
    ReadyAwaiter ready(Interest interest) { return ReadyAwaiter(*this, interest); }

    /// Stops watching now: tasks waiting on it wake with ECANCELED, and so do later waits. The
    /// descriptor stays open until the AsyncFd is destroyed (adopted) or for good (borrowed).
    /// Idempotent; from any thread.
    void deregister() noexcept { reg_.close(); }
    /// Deregisters and hands the descriptor back (the caller owns it now, adopted or not); the
    /// AsyncFd is left empty. No task may be waiting on it.
    int into_inner() noexcept { return reg_.release(); }
    /// The descriptor (-1 if none).
    int native_handle() const noexcept { return reg_.fd(); }
    /// False after deregister(), after the runtime shut down, or with no descriptor.
    bool is_registered() const noexcept { return reg_.is_open(); }

private:
    friend class AsyncFdReadyGuard;
    AsyncFd(int fd, detail::FdKind kind);
    detail::Registration reg_;
};

inline void AsyncFdReadyGuard::clear_ready() noexcept {
    if (fd_->reg_.fd() >= 0) fd_->reg_.io().clear_ready(event_);
}

template <class F>
    requires std::is_signed_v<std::invoke_result_t<F&>>
std::optional<std::invoke_result_t<F&>> AsyncFdReadyGuard::try_io(F f) {
    return detail::run_or_clear(fd_->reg_.io(), event_, f);
}

}  // namespace weft
