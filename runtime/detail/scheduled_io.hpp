// ScheduledIo: the readiness of one registered file descriptor, and the tasks waiting on it.
//
// `readiness_` packs a 32-bit event tick (high half) and the ready bits (low half). The reactor
// ORs in what epoll reported and bumps the tick, then wakes the waiters whose interest matches.
// A task that got EAGAIN clears the bit it waited for only if the tick is still the one it saw
// (`clear_readiness`): an edge that arrived between its failed read and the clear bumped the tick,
// so the clear is skipped and the readiness is not lost (edge-triggered epoll never repeats it).
//
// Waiting: a task loads the readiness; if not ready it stores its waker under `lock_`, then loads
// again. The reactor's RMW precedes its lock of `lock_`, so either it sees the waker or the task's
// second load sees the bits. One reader and one writer may wait at a time (a split stream).
//
// Orders: the reactor's fetch_or is acq_rel and the task's loads acquire, so what the kernel
// reported is what the task acts on; the tick check in clear_readiness is a CAS for the same
// reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "spin_lock.hpp"
#include "../waker.hpp"

namespace weft::detail {

namespace ready {
inline constexpr std::uint32_t kReadable = 1u << 0;
inline constexpr std::uint32_t kWritable = 1u << 1;
inline constexpr std::uint32_t kReadClosed = 1u << 2;   // peer shut down its side (EPOLLRDHUP/HUP)
inline constexpr std::uint32_t kWriteClosed = 1u << 3;  // EPOLLHUP
inline constexpr std::uint32_t kError = 1u << 4;        // EPOLLERR: the next call reports it
inline constexpr std::uint32_t kShutdown = 1u << 5;     // closed locally, or the runtime shut down
}  // namespace ready

enum class Interest : std::uint32_t {
    read = ready::kReadable | ready::kReadClosed | ready::kError | ready::kShutdown,
    write = ready::kWritable | ready::kWriteClosed | ready::kError | ready::kShutdown,
};

struct ReadyEvent {
    std::uint32_t tick;
    std::uint32_t ready;  // bits from ready::
};

class ScheduledIo {
public:
    explicit ScheduledIo(int fd) noexcept : fd_(fd) {}
    int fd() const noexcept { return fd_; }

    bool is_shutdown() const noexcept {
        return readiness_.load(std::memory_order_acquire) & ready::kShutdown;  // pairs with shutdown()
    }

    // Reactor: `bits` became ready.
    void set_readiness(std::uint32_t bits) {
        // acq_rel: publishes the bits to the waiters' acquire loads; see the header.
        std::uint64_t cur = readiness_.load(std::memory_order_relaxed);
        while (!readiness_.compare_exchange_weak(cur, (((cur >> 32) + 1) << 32) | (cur & 0xffffffffu) | bits,
                                                 std::memory_order_acq_rel, std::memory_order_relaxed)) {
        }
        wake(bits);
    }

    // Marks the source shut down (closed, or the runtime is gone) and wakes every waiter.
    void shutdown() {
        readiness_.fetch_or(ready::kShutdown, std::memory_order_acq_rel);
        wake(ready::kShutdown);
    }

    // The readiness for `interest` if any, else registers `waker` and returns nullopt.
    std::optional<ReadyEvent> poll_ready(Interest interest, const Waker& waker) {
        if (auto ev = ready_now(interest)) return ev;
        {
            std::lock_guard lock(lock_);
            Waker& slot = interest == Interest::read ? reader_ : writer_;
            if (!slot.will_wake(waker)) slot = waker;
        }
        return ready_now(interest);
    }

    std::optional<ReadyEvent> ready_now(Interest interest) const noexcept {
        // acquire: pairs with the reactor's RMW in set_readiness.
        const std::uint64_t cur = readiness_.load(std::memory_order_acquire);
        const std::uint32_t bits = static_cast<std::uint32_t>(cur) & static_cast<std::uint32_t>(interest);
        if (!bits) return std::nullopt;
        return ReadyEvent{static_cast<std::uint32_t>(cur >> 32), bits};
    }

    // After EAGAIN: forget the bits of `ev`, unless a newer event arrived. Hang-up and error bits
    // go too: the call just proved the socket can still block, so they were stale (epoll reports
    // HUP for a socket that is not connected yet, say); a real hang-up makes the call return 0
    // or an error, never EAGAIN. Only kShutdown is final.
    void clear_readiness(ReadyEvent ev) noexcept { clear_bits(ev, ev.ready & ~ready::kShutdown); }

    // After a short read or write (the socket was drained, or its send buffer filled): forget the
    // readable or writable bit of `ev` unless a newer event arrived. A pending hang-up or error
    // keeps everything: a short read may have taken the last bytes before end of stream, and the
    // edge that said so will not come again.
    void clear_after_short_transfer(ReadyEvent ev) noexcept {
        if (ev.ready & (ready::kReadClosed | ready::kWriteClosed | ready::kError | ready::kShutdown)) return;
        clear_bits(ev, ev.ready & (ready::kReadable | ready::kWritable));
    }

private:
    void clear_bits(ReadyEvent ev, std::uint32_t clear) noexcept {
        std::uint64_t cur = readiness_.load(std::memory_order_acquire);
        while (static_cast<std::uint32_t>(cur >> 32) == ev.tick) {
            if (readiness_.compare_exchange_weak(cur, cur & ~std::uint64_t{clear}, std::memory_order_acq_rel,
                                                 std::memory_order_acquire))
                return;
        }
    }

public:
    // Drops the wakers (a waiting operation was cancelled and will not come back for them).
    void clear_waker(Interest interest) noexcept {
        Waker dropped;
        std::lock_guard lock(lock_);
        dropped = std::move(interest == Interest::read ? reader_ : writer_);
    }

    // Intrusive links of the driver's registry, and whether it is in it; guarded by its mutex.
    ScheduledIo* prev = nullptr;
    ScheduledIo* next = nullptr;
    bool is_live = false;

private:
    void wake(std::uint32_t bits) {
        Waker r, w;
        {
            std::lock_guard lock(lock_);
            if (bits & static_cast<std::uint32_t>(Interest::read)) r = std::move(reader_);
            if (bits & static_cast<std::uint32_t>(Interest::write)) w = std::move(writer_);
        }
        r.wake();
        w.wake();
    }

    const int fd_;
    std::atomic<std::uint64_t> readiness_{0};
    SpinLock lock_;
    Waker reader_, writer_;  // guarded by lock_
};

}  // namespace weft::detail
