// A file descriptor registered with the runtime's reactor, and the awaiter that waits for it.
//
// Registration owns the descriptor (non-blocking, close-on-exec): close() shuts the socket down
// and deregisters it, waking every task waiting on it (they fail with ECANCELED); the descriptor
// itself is closed only by the destructor, so an operation racing with close() sees a dead socket,
// never a reused descriptor number.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <coroutine>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include "context.hpp"
#include "coop.hpp"
#include "io_driver.hpp"
#include "scheduler.hpp"

namespace weft::detail {

class Registration {
public:
    Registration() noexcept = default;
    // Takes ownership of `fd` and registers it with the current runtime's reactor (the fd is
    // closed if that fails). Throws std::logic_error outside a runtime, RuntimeShutdownError after.
    explicit Registration(int fd);
    Registration(Registration&& other) noexcept
        : driver_(std::move(other.driver_)),
          io_(std::exchange(other.io_, nullptr)),
          fd_(std::exchange(other.fd_, -1)),
          is_closed_(other.is_closed_.exchange(false, std::memory_order_relaxed)) {}
    Registration& operator=(Registration&& other) noexcept {
        if (this != &other) {
            reset();
            driver_ = std::move(other.driver_);
            io_ = std::exchange(other.io_, nullptr);
            fd_ = std::exchange(other.fd_, -1);
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

private:
    void reset() noexcept;

    std::shared_ptr<IoDriver> driver_;
    ScheduledIo* io_ = nullptr;
    int fd_ = -1;
    // Written by close() on one thread while a waiter on another reads it (is_open): atomic.
    std::atomic<bool> is_closed_{false};
};

// Waits until `op()` stops failing with EAGAIN on `reg`. `op` returns the syscall's result
// (>= 0 done; -1 with errno). Completes with that result, or an errno. An op with a `size`
// member is a byte-stream transfer: a short one clears readiness (below); datagram ops must not
// name their length `size`, since a short datagram says nothing about what is queued behind it.
//
// Readiness first: the syscall runs only when the reactor says the socket is ready; an EAGAIN (or
// a short read or write, for ops that say their `size`) clears that readiness unless a newer event
// arrived meanwhile (see ScheduledIo), so an edge that lands between the call and the wait is not
// lost.
//
// Budget: every operation spends one unit of the task's cooperative budget (coop.hpp), as Tokio
// charges every readiness poll. With the budget spent, await_ready does not try the call: the
// task yields first and tries when it runs again, so a loop on an always-ready socket (a flooded
// reader, a writer with room, an accept that keeps failing) lets the other tasks, timers and the
// reactor run. The call is tried only once the task runs again, so an operation cancelled during
// the yield has moved nothing.
//
// Waiting: the awaiter owns an IoWaiter node; any number of awaiters may wait on one socket and
// direction, and every one is woken by an edge (see ScheduledIo). The node is unlinked when the
// awaiter completes or is destroyed.
template <class Op>
class WEFT_MUST_AWAIT IoAwaiter final : public Pollable {
public:
    IoAwaiter(const Registration& reg, Interest interest, const char* what, Op op)
        : reg_(reg), interest_(interest), what_(what), op_(std::move(op)) {}
    // Only before it is awaited (the node is copied unlinked).
    IoAwaiter(IoAwaiter&&) = default;
    IoAwaiter& operator=(IoAwaiter&&) = delete;
    ~IoAwaiter() { unlink(); }

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
    // The syscall's (non-negative) result, or what `op.result(n)` makes of it for an op that
    // has more to report (recvfrom's sender, accept's peer). Throws std::system_error (the errno,
    // naming the operation) or RuntimeShutdownError.
    auto await_resume() {
        if (closed_) reg_.throw_closed(what_);
        if (error_) throw std::system_error(error_, std::system_category(), what_);
        if constexpr (requires { op_.result(std::size_t{}); }) {
            return op_.result(static_cast<std::size_t>(result_));
        } else {
            return static_cast<std::size_t>(result_);
        }
    }

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
            const ssize_t n = op_();
            if (n >= 0) {
                result_ = n;
                // A short transfer drained the socket (or filled its send buffer): the next call
                // would only get EAGAIN, so forget the readiness now and save that system call
                // (not for 0, nor with a hang-up pending: see clear_after_short_transfer).
                if constexpr (requires { op_.size; }) {
                    if (n > 0 && static_cast<std::size_t>(n) < op_.size) io.clear_after_short_transfer(*ev);
                }
                return true;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                io.clear_readiness(*ev);
                continue;
            }
            if (errno == EINTR) continue;
            error_ = errno;
            return true;
        }
    }
    void unlink() noexcept {
        if (ScheduledIo* io = std::exchange(linked_, nullptr)) io->remove_waiter(waiter_);
    }

    const Registration& reg_;
    Interest interest_;
    const char* what_;
    Op op_;
    ssize_t result_ = 0;
    int error_ = 0;
    bool closed_ = false;
    bool must_yield_ = false;      // await_ready found the budget spent: suspend as a yield
    ScheduledIo* linked_ = nullptr;  // where waiter_ may be linked (nullptr: certainly not)
    IoWaiter waiter_;
};

}  // namespace weft::detail
