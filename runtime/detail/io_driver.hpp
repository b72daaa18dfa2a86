// The I/O reactor: one edge-triggered epoll instance per runtime, and an eventfd to interrupt it.
//
// Each file descriptor is registered once, for read, write and hang-up edges together
// (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), with a ScheduledIo as its epoll data. Only the
// worker holding the Driver calls turn(), so events are dispatched by one thread at a time.
//
// Lifetime: a ScheduledIo is freed only by the thread that turns the reactor, at the start of its
// next turn after the source was deregistered. Events already returned by epoll_wait for a source
// being closed concurrently therefore never point at freed memory, and no reference count is
// needed on the per-event path.
//
// Shared ownership: sockets hold the driver by shared_ptr, so a socket that outlives its runtime
// (returned from block_on, say) stays safe to destroy; after the runtime shut down, its operations
// fail with RuntimeShutdownError and its peer has seen the connection shut down.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

#include "scheduled_io.hpp"

namespace weft::detail {

class IoDriver {
public:
    IoDriver();
    ~IoDriver();
    IoDriver(const IoDriver&) = delete;
    IoDriver& operator=(const IoDriver&) = delete;

    // Registers `fd` (non-blocking) for readiness events; `is_socket`: see ScheduledIo. Throws
    // RuntimeShutdownError after shutdown, std::system_error if epoll refuses it (EPERM for a
    // regular file, EEXIST for a descriptor registered twice).
    ScheduledIo* add(int fd, bool is_socket = true);
    // Stops events for `io` and marks it shut down, waking its waiters (they fail). Idempotent.
    // The ScheduledIo stays valid until release().
    void deregister(ScheduledIo* io) noexcept;
    // Hands `io` back (deregistering it first if needed): freed at the next turn, once no event
    // being dispatched can point at it. The owner must not touch it afterwards.
    void release(ScheduledIo* io) noexcept;

    // Waits up to `timeout` (nullopt: until interrupted) and dispatches what became ready.
    // Returns how many sources got events; sets `*interrupted` (if given) when an interrupt() was
    // among them. One caller at a time (the Driver's holder). An
    // epoll_wait error other than EINTR (the epoll descriptor is broken) aborts the process with
    // a message on stderr: see fail_wait in io_driver.cpp for why not an exception.
    std::size_t turn(std::optional<std::chrono::milliseconds> timeout, bool* interrupted = nullptr);
    // Makes a concurrent or the next turn() return promptly. From any thread.
    void interrupt() noexcept;

    // Marks every source shut down, wakes its waiters and shuts the sockets down (the peer sees
    // the connection close; descriptors AsyncFd watches are left alone); later add() throws. The descriptors stay open until their owners
    // close them, so no descriptor is closed twice.
    void shutdown() noexcept;
    bool is_shutdown() const noexcept { return shutdown_.load(std::memory_order_acquire); }

    std::size_t registered() const noexcept { return registered_.load(std::memory_order_relaxed); }

private:
    void release_removed() noexcept;

    int epoll_fd_ = -1;
    int event_fd_ = -1;
    std::atomic<bool> shutdown_{false};
    std::atomic<std::size_t> registered_{0};
    std::mutex mutex_;                   // guards the two lists below
    ScheduledIo* live_ = nullptr;        // registered sources
    ScheduledIo* removed_ = nullptr;     // deregistered, freed at the next turn
};

}  // namespace weft::detail
