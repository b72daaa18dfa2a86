// A file descriptor registered with the runtime's reactor, and the awaiters that wait for it.
//
// A socket's Registration (TCP) owns the descriptor (non-blocking, close-on-exec): close() shuts
// the socket down and deregisters it, waking every task waiting on it (they fail with ECANCELED);
// the descriptor itself is closed only by the destructor, so an operation racing with close() sees
// a dead socket, never a reused descriptor number. AsyncFd registers a descriptor it owns or
// borrows (FdKind): close() then only deregisters, and a borrowed one is never closed.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <coroutine>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "context.hpp"
#include "coop.hpp"
#include "io_driver.hpp"
#include "scheduler.hpp"

namespace weft::detail {

// What a Registration does with its descriptor.
enum class FdKind {
    socket,     // owned; shut down on close() and on the runtime's shutdown, closed at the end
    owned,      // owned; closed at the end, never shut down
    borrowed,   // the user's: only deregistered
};

class Registration {
public:
    Registration() noexcept = default;
    // Registers `fd` with the current runtime's reactor; takes ownership unless `kind` is
    // borrowed (an owned fd is closed if registration fails). Throws std::logic_error outside a
    // runtime, RuntimeShutdownError after it shut down, std::system_error if epoll refuses it.
    explicit Registration(int fd, FdKind kind = FdKind::socket);
    Registration(Registration&& other) noexcept
        : driver_(std::move(other.driver_)),
          io_(std::exchange(other.io_, nullptr)),
          fd_(std::exchange(other.fd_, -1)),
          kind_(other.kind_),
          is_closed_(other.is_closed_.exchange(false, std::memory_order_relaxed)) {}
    Registration& operator=(Registration&& other) noexcept {
        if (this != &other) {
            reset();
            driver_ = std::move(other.driver_);
            io_ = std::exchange(other.io_, nullptr);
            fd_ = std::exchange(other.fd_, -1);
            kind_ = other.kind_;
            is_closed_.store(other.is_closed_.exchange(false, std::memory_order_relaxed), std::memory_order_relaxed);
        }
        return *this;
    }
    ~Registration() { reset(); }

    // From any thread: a task may close the socket while another waits on it.
    bool is_open() const noexcept {
        // acquire: pairs with close()'s exchange, so a waiter woken by the close sees it.
        return fd_ >= 0 && io_ && !is_closed_.load(std::memory_order_acquire) && !io_->is_shutdown();
    }
    int fd() const noexcept { return fd_; }
    ScheduledIo& io() const noexcept { return *io_; }
    // Throws the error an operation on a closed registration gets: RuntimeShutdownError if the
    // runtime shut down, else ECANCELED (closed locally) naming `what`.
    [[noreturn]] void throw_closed(const char* what) const;
    // Idempotent, and safe while other tasks wait on the socket (they wake with ECANCELED).
    void close() noexcept;
    // Deregisters and gives up the descriptor without closing it (-1 if none).
    int release() noexcept;

private:
    void reset() noexcept;

    std::shared_ptr<IoDriver> driver_;
    ScheduledIo* io_ = nullptr;
    int fd_ = -1;
    FdKind kind_ = FdKind::socket;
    // Written by close() on one thread while a waiter on another reads it (is_open): atomic.
    std::atomic<bool> is_closed_{false};
};

// Runs `op` (a system call: >= 0 done; -1 with errno) on a source the reactor said is ready
// (`ev`). EAGAIN clears that readiness unless a newer event arrived meanwhile (see ScheduledIo),
// so an edge that lands between the call and the next wait is not lost; EINTR retries. Returns
// op's result, or nullopt on EAGAIN (errno stays EAGAIN). Shared by every awaiter below, by
// AsyncFd's try_io and by the try_read / try_write of the streams.
template <class Op>
std::optional<std::invoke_result_t<Op&>> run_or_clear(ScheduledIo& io, ReadyEvent ev, Op& op) {
    static_assert(std::is_signed_v<std::invoke_result_t<Op&>>, "weft: an I/O operation returns a system call's result");
    for (;;) {
        const auto n = op();
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            io.clear_readiness(ev);
            errno = EAGAIN;
            return std::nullopt;
        }
        return n;
    }
}

// Tokio's Registration::try_io: runs `op` only if the reactor last said `reg` is ready for
// `interest`. nullopt: it would block (not ready, or op got EAGAIN, which clears the readiness);
// else op's result (-1 with errno for another error). Throws reg.throw_closed(what) if closed.
template <class Op>
std::optional<std::invoke_result_t<Op&>> try_io(const Registration& reg, Interest interest, const char* what, Op op) {
    if (!reg.is_open()) reg.throw_closed(what);
    ScheduledIo& io = reg.io();
    const std::optional<ReadyEvent> ev = io.ready_now(interest);
    if (!ev) return std::nullopt;
    if (ev->ready & ready::kShutdown) reg.throw_closed(what);
    return run_or_clear(io, *ev, op);
}

// The wait every I/O awaiter shares: until the reactor says `reg` is ready for `interest` and
// Derived::on_ready(io, ev) (its system call, or nothing) says done. Derived's on_ready returns
// true when the operation completed, false to wait again (it cleared the readiness it found).
//
// Budget: every operation spends one unit of the task's cooperative budget (coop.hpp), as Tokio
// charges every readiness poll. With the budget spent, await_ready does not try: the task yields
// first and tries when it runs again, so a loop on an always-ready source (a flooded reader, a
// writer with room, an accept that keeps failing) lets the other tasks, timers and the reactor
// run. Nothing is tried until the task runs again, so an operation cancelled during the yield has
// done nothing.
//
// Waiting: the awaiter owns an IoWaiter node; any number of awaiters may wait on one source and
// direction, and every one is woken by an edge (see ScheduledIo). The node is unlinked when the
// awaiter completes or is destroyed.
template <class Derived>
class ReadinessAwaiter : public Pollable {
public:
    ReadinessAwaiter(const Registration& reg, Interest interest, const char* what)
        : reg_(reg), interest_(interest), what_(what) {}
    // Only before it is awaited (the node is copied unlinked).
    ReadinessAwaiter(ReadinessAwaiter&&) = default;
    ReadinessAwaiter& operator=(ReadinessAwaiter&&) = delete;
    ~ReadinessAwaiter() { unlink(); }

    bool await_ready() {
        if (!coop::try_consume()) {
            must_yield_ = true;
            return false;
        }
        return try_complete(nullptr);
    }
    bool await_suspend(std::coroutine_handle<>) {
        if (must_yield_) coop::request_yield();
        else if (try_complete_with_waker()) return false;
        set_pending_poll(this);
        return true;
    }
    bool poll_ready() noexcept override {
        must_yield_ = false;
        try {
            return try_complete_with_waker();
        } catch (...) {
            return false;
        }
    }

protected:
    // For Derived's await_resume: throws if the wait ended because the source was closed.
    void throw_if_closed() const {
        if (closed_) reg_.throw_closed(what_);
    }
    const Registration& registration() const noexcept { return reg_; }
    const char* what() const noexcept { return what_; }

private:
    bool try_complete_with_waker() {
        const Waker waker = current_task_waker();
        return try_complete(&waker);
    }
    bool try_complete(const Waker* waker) {
        const bool done = try_once(waker);
        if (done) unlink();
        return done;
    }
    bool try_once(const Waker* waker) {
        if (!reg_.is_open()) return closed_ = true;
        ScheduledIo& io = reg_.io();
        for (;;) {
            std::optional<ReadyEvent> ev;
            if (waker) {
                ev = io.poll_ready(interest_, waiter_, *waker);
                linked_ = &io;  // maybe linked now: unlink() asks under the lock
            } else {
                ev = io.ready_now(interest_);
            }
            if (!ev) return false;
            if (ev->ready & ready::kShutdown) return closed_ = true;
            if (static_cast<Derived*>(this)->on_ready(io, *ev)) return true;
        }
    }
    void unlink() noexcept {
        if (ScheduledIo* io = std::exchange(linked_, nullptr)) io->remove_waiter(waiter_);
    }

    const Registration& reg_;
    Interest interest_;
    const char* what_;
    bool closed_ = false;
    bool must_yield_ = false;        // await_ready found the budget spent: suspend as a yield
    ScheduledIo* linked_ = nullptr;  // where waiter_ may be linked (nullptr: certainly not)
    IoWaiter waiter_;
};

// Waits for readiness only, with no system call (Tokio's `ready(interest)`): completes with the
// event that was ready (its tick lets the caller clear exactly it, see ScheduledIo).
class WEFT_MUST_AWAIT ReadyAwaiter : public ReadinessAwaiter<ReadyAwaiter> {
public:
    using ReadinessAwaiter::ReadinessAwaiter;
    // Throws ECANCELED after close(), RuntimeShutdownError after the runtime shut down.
    ReadyEvent await_resume() {
        throw_if_closed();
        return event_;
    }
    bool on_ready(ScheduledIo&, ReadyEvent ev) noexcept {
        event_ = ev;
        return true;
    }

private:
    ReadyEvent event_{};
};

// Waits until `op()` stops failing with EAGAIN on `reg`. `op` returns the syscall's result
// (>= 0 done; -1 with errno). Completes with that result, or an errno. The syscall runs only when
// the reactor says the source is ready (see ReadinessAwaiter and run_or_clear). An op with a
// `size` member is a byte-stream transfer: a short one clears readiness (below); datagram ops
// must not name their length `size`, since a short datagram says nothing about what is queued
// behind it.
template <class Op>
class WEFT_MUST_AWAIT IoAwaiter : public ReadinessAwaiter<IoAwaiter<Op>> {
    using Base = ReadinessAwaiter<IoAwaiter<Op>>;

public:
    IoAwaiter(const Registration& reg, Interest interest, const char* what, Op op)
        : Base(reg, interest, what), op_(std::move(op)) {}

    // The syscall's (non-negative) result, or what `op.result(n)` makes of it for an op that
    // has more to report (recvfrom's sender, accept's peer). Throws std::system_error (the errno,
    // naming the operation) or RuntimeShutdownError.
    auto await_resume() {
        this->throw_if_closed();
        if (error_) throw std::system_error(error_, std::system_category(), this->what());
        if constexpr (requires { op_.result(std::size_t{}); }) {
            return op_.result(static_cast<std::size_t>(result_));
        } else {
            return static_cast<std::size_t>(result_);
        }
    }

    bool on_ready(ScheduledIo& io, ReadyEvent ev) {
        const auto n = run_or_clear(io, ev, op_);
        if (!n) return false;
        if (*n < 0) {
            error_ = errno;
            return true;
        }
        result_ = *n;
        // A short transfer drained the socket (or filled its send buffer): the next call would
        // only get EAGAIN, so forget the readiness now and save that system call (not for 0, nor
        // with a hang-up pending: see clear_after_short_transfer).
        if constexpr (requires { op_.size; }) {
            if (*n > 0 && static_cast<std::size_t>(*n) < op_.size) io.clear_after_short_transfer(ev);
        }
        return true;
    }

private:
    Op op_;
    ssize_t result_ = 0;
    int error_ = 0;
};

}  // namespace weft::detail
