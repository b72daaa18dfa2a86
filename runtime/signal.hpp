// Signals on the runtime's reactor: ctrl_c() and a stream per Unix signal (tokio::signal).
//
// How a delivery travels (and why this way): the first listener of a signal installs a sigaction
// handler for it, process-wide, as Tokio does. The handler is async-signal-safe: it sets that
// signal's pending flag and writes to one eventfd (a self-pipe). A process-wide dispatcher thread,
// started with the first listener, reads that eventfd and, for each pending signal, writes to the
// eventfd of every listener of it; each listener's eventfd is registered with the reactor of the
// runtime it was created on, so recv() is an ordinary I/O wait on whichever runtime.
//
// The alternative, signalfd, only sees a signal that is blocked in every thread of the process:
// threads the user created before weft (or a library's) would still get the default action and
// kill the process. A handler needs no masks, so it works whatever the other threads do. The
// dispatcher thread blocks every signal itself, so handlers never run on it.
#pragma once

#include "detail/language_check.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "detail/registration.hpp"

// `unix` is a predefined macro (1) in the GNU dialects (-std=gnu++20, g++'s default): the
// namespace below needs -std=c++20, as weft's pkg-config and CMake flags give, or an #undef unix.
#pragma push_macro("unix")
#undef unix

namespace weft::signal {

namespace detail {
struct Listener;
// Reads (and so resets) a listener's eventfd: the deliveries since the last read, coalesced.
struct ReadCounter {
    int fd;
    ssize_t operator()() const noexcept {
        std::uint64_t n;
        return ::read(fd, &n, sizeof n);
    }
};
using RecvBase = weft::detail::IoAwaiter<ReadCounter>;
// Owns a listener; unregisters it when destroyed. Out of line: Listener is private to signal.cpp.
struct ListenerDeleter {
    void operator()(Listener* l) const noexcept;
};
using ListenerPtr = std::unique_ptr<Listener, ListenerDeleter>;
const weft::detail::Registration& registration(const Listener& l) noexcept;
ListenerPtr listen(int signum);
}  // namespace detail

namespace unix {

/// A stream of deliveries of one Unix signal (tokio::signal::unix::Signal), from unix::signal().
/// Listening starts when it is created: a delivery after that is seen by the next (or a waiting)
/// recv(); several deliveries before a recv() are coalesced into one, as in Tokio. Every Signal
/// of a signal sees every delivery, across runtimes. Move-only; destroying it stops listening.
class Signal {
public:
    /// What recv() returns: awaiting it yields nothing. A leaf for select() and timeout().
    class WEFT_MUST_AWAIT RecvAwaiter final : public detail::RecvBase {
    public:
        using detail::RecvBase::RecvBase;
        /// @throws RuntimeShutdownError if the runtime the Signal was created on shut down.
        void await_resume() { (void)detail::RecvBase::await_resume(); }
    };

    /// Waits for the next delivery (or returns at once if one came since the last recv()).
    /// Cancellation-safe: abandoned, it consumed no delivery. Spends one unit of budget.
    RecvAwaiter recv() {
        return RecvAwaiter(detail::registration(*listener_), weft::detail::Interest::read, "weft: signal recv",
                           detail::ReadCounter{detail::registration(*listener_).fd()});
    }

private:
    friend Signal signal(int signum);
    explicit Signal(detail::ListenerPtr l) noexcept : listener_(std::move(l)) {}
    detail::ListenerPtr listener_;
};

/// Starts listening for `signum` (SIGTERM, SIGHUP, SIGUSR1, a real-time signal...) on the current
/// runtime's reactor. The first listener of a signal installs weft's handler for it, for the rest
/// of the process (as Tokio does): from then on the signal no longer has its default action (a
/// SIGTERM no longer terminates, even after every Signal is gone); signals nobody listens to keep
/// theirs. A handler the program had installed for it is replaced, not chained.
/// @throws std::invalid_argument for SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV (Tokio's forbidden
/// list) or a number out of range; std::system_error if sigaction or eventfd fails;
/// std::logic_error outside a task of a weft runtime; RuntimeShutdownError after it shut down.
Signal signal(int signum);

}  // namespace unix

/// What ctrl_c() returns: awaiting it waits for the next SIGINT. A leaf for select() and timeout().
class WEFT_MUST_AWAIT CtrlC final : public detail::RecvBase {
public:
    /// @throws RuntimeShutdownError if the runtime shut down.
    void await_resume() { (void)detail::RecvBase::await_resume(); }

private:
    friend CtrlC ctrl_c();
    // The base holds a reference into the listener, which lives on the heap: moving is safe.
    explicit CtrlC(detail::ListenerPtr l)
        : detail::RecvBase(detail::registration(*l), weft::detail::Interest::read, "weft: ctrl_c",
                           detail::ReadCounter{detail::registration(*l).fd()}),
          listener_(std::move(l)) {}
    detail::ListenerPtr listener_;
};

/// `co_await weft::signal::ctrl_c()`: waits for a SIGINT (Ctrl-C in a terminal). Unlike Tokio's,
/// listening starts when ctrl_c() is called, not at the first suspension, so
/// `auto c = weft::signal::ctrl_c(); start(); co_await c;` misses no Ctrl-C sent during start().
/// From the first call on, SIGINT no longer kills the process (see unix::signal).
/// @throws as unix::signal.
CtrlC ctrl_c();

}  // namespace weft::signal

#pragma pop_macro("unix")
