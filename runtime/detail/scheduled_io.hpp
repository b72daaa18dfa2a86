// ScheduledIo: the readiness of one registered file descriptor, and the tasks waiting on it.
//
// `readiness_` packs a 32-bit event tick (high half) and the ready bits (low half). The reactor
// ORs in what epoll reported and bumps the tick, then wakes the waiters whose interest matches.
// A task that got EAGAIN clears the bit it waited for only if the tick is still the one it saw
// (`clear_readiness`): an edge that arrived between its failed read and the clear bumped the tick,
// so the clear is skipped and the readiness is not lost (edge-triggered epoll never repeats it).
//
// Waiting: a task loads the readiness; if not ready it links its IoWaiter (interest and waker)
// into the list under `lock_`, then loads again. The reactor's RMW precedes its lock of `lock_`,
// so either it finds the waiter or the task's second load sees the bits.
//
// Any number of tasks may wait on each direction (several accepts on one listener, a reader and a
// writer of a split stream, two readers): an edge unlinks and wakes every waiter whose interest
// it matches, as Tokio's ScheduledIo does. The one whose system call runs first takes what is
// there; the others get EAGAIN, clear the readiness and wait again. A woken waiter is unlinked,
// so a wake is never lost to a later registration replacing an earlier one.
//
// Orders: the reactor's fetch_or is acq_rel and the task's loads acquire, so what the kernel
// reported is what the task acts on; the tick check in clear_readiness is a CAS for the same
// reason.
#pragma once

#include <atomic>
#include <cstddef>
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

// One task's wait on a ScheduledIo: an intrusive node owned by the waiting awaiter, so waiting
// allocates nothing. Links, interest and waker are guarded by the ScheduledIo's lock; the awaiter
// unlinks it (remove_waiter) before it goes away. `linked` is also read outside the lock: an edge
// stores false last, with release, and never touches the node after, so an owner that sees false
// (acquire) may destroy it without taking the lock (the common case: the edge woke it). Copying
// makes a fresh, unlinked node: an awaiter is never moved once it waits.
struct IoWaiter {
    IoWaiter() noexcept = default;
    IoWaiter(const IoWaiter&) noexcept {}
    IoWaiter& operator=(const IoWaiter&) = delete;

    IoWaiter* prev = nullptr;
    IoWaiter* next = nullptr;
    Waker waker;
    std::uint32_t interest = 0;
    std::atomic<bool> linked{false};
};

struct ReadyEvent {
    std::uint32_t tick;
    std::uint32_t ready;  // bits from ready::
};

class ScheduledIo {
public:
    // `is_socket`: the runtime's shutdown shuts the socket down so its peer sees the close (TCP);
    // false for a descriptor AsyncFd watches, which the runtime must not touch.
    explicit ScheduledIo(int fd, bool is_socket = true) noexcept : fd_(fd), is_socket_(is_socket) {}
    int fd() const noexcept { return fd_; }
    bool is_socket() const noexcept { return is_socket_; }

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

    // The readiness for `interest` if any, else links `waiter` (if it is not linked yet) with
    // `waker` and returns nullopt. The waiter stays linked until an edge wakes it or
    // remove_waiter(); a waiter that found readiness was not linked by this call.
    std::optional<ReadyEvent> poll_ready(Interest interest, IoWaiter& waiter, const Waker& waker) {
        if (auto ev = ready_now(interest)) return ev;
        {
            std::lock_guard lock(lock_);
            if (!waiter.linked.load(std::memory_order_relaxed)) {
                waiter.interest = static_cast<std::uint32_t>(interest);
                waiter.prev = tail_;
                waiter.next = nullptr;
                if (tail_) tail_->next = &waiter;
                else head_ = &waiter;
                tail_ = &waiter;
                waiter.linked.store(true, std::memory_order_relaxed);  // the owner's own store: no order needed
            }
            if (!waiter.waker.will_wake(waker)) waiter.waker = waker;
        }
        return ready_now(interest);
    }

    // Unlinks `waiter` if an edge has not already (its operation completed or was cancelled).
    void remove_waiter(IoWaiter& waiter) noexcept {
        // acquire: pairs with unlink's release, so the edge is done with the node.
        if (!waiter.linked.load(std::memory_order_acquire)) return;
        Waker dropped;  // outside the lock: dropping the last reference frees a task
        std::lock_guard lock(lock_);
        if (!waiter.linked.load(std::memory_order_relaxed)) return;
        unlink(waiter);
        dropped = std::move(waiter.waker);
    }

    // How many waiters are linked (for tests and metrics).
    std::size_t waiters() const noexcept {
        std::lock_guard lock(lock_);
        std::size_t n = 0;
        for (const IoWaiter* w = head_; w; w = w->next) ++n;
        return n;
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

    // The user says `ev` is used up (AsyncFd's clear_ready): forget its readable and writable bits
    // unless a newer event arrived. Hang-up and error bits stay, as in Tokio: they are final, and
    // the edge that reported them will not come again.
    void clear_ready(ReadyEvent ev) noexcept { clear_bits(ev, ev.ready & (ready::kReadable | ready::kWritable)); }

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
    // Intrusive links of the driver's registry, and whether it is in it; guarded by its mutex.
    ScheduledIo* prev = nullptr;
    ScheduledIo* next = nullptr;
    bool is_live = false;

private:
    // Unlinks and wakes every waiter whose interest `bits` matches. Wakers are run outside the lock
    // (a wake may take other locks), in batches so the lock is held for a bounded time.
    void wake(std::uint32_t bits) {
        constexpr std::size_t kBatch = 32;
        for (;;) {
            Waker batch[kBatch];
            std::size_t n = 0;
            bool more = false;
            {
                std::lock_guard lock(lock_);
                for (IoWaiter* w = head_; w;) {
                    IoWaiter* const next = w->next;
                    if (w->interest & bits) {
                        if (n == kBatch) {
                            more = true;
                            break;
                        }
                        batch[n++] = std::move(w->waker);
                        unlink(*w);  // last: the owner may free the node once it sees it unlinked
                    }
                    w = next;
                }
            }
            for (std::size_t i = 0; i < n; ++i) batch[i].wake();
            if (!more) return;
        }
    }

    void unlink(IoWaiter& w) noexcept {
        if (w.prev) w.prev->next = w.next;
        else head_ = w.next;
        if (w.next) w.next->prev = w.prev;
        else tail_ = w.prev;
        w.prev = w.next = nullptr;
        w.linked.store(false, std::memory_order_release);  // see IoWaiter
    }

    const int fd_;
    const bool is_socket_;
    std::atomic<std::uint64_t> readiness_{0};
    mutable SpinLock lock_;
    IoWaiter* head_ = nullptr;  // waiters in arrival order; guarded by lock_
    IoWaiter* tail_ = nullptr;
};

}  // namespace weft::detail
