#include "detail/io_driver.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

#include "errors.hpp"

namespace weft::detail {

namespace {
// epoll data of the eventfd: no ScheduledIo has this address.
void* const kWakeToken = reinterpret_cast<void*>(std::uintptr_t{1});
constexpr int kMaxEvents = 256;

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::system_category(), what); }

// epoll_wait fails otherwise only with EBADF or EINVAL (the epoll descriptor was closed or
// replaced behind the runtime's back) or EFAULT (memory corruption). Neither goes away: retrying
// would spin a core for ever and every task waiting on I/O or a timer would hang. Aborting, not
// throwing: turn() runs on whichever worker parks, a thread with no caller to catch it (on the
// multi-thread runtime the exception would reach std::terminate with no message), and a runtime
// whose reactor is gone cannot be recovered by block_on's caller either.
[[noreturn]] void fail_wait(int err) noexcept {
    std::fprintf(stderr, "weft: epoll_wait failed: %s (errno %d); the I/O driver cannot continue\n", std::strerror(err),
                 err);
    std::abort();
}
}  // namespace

IoDriver::IoDriver() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw_errno("weft: epoll_create1");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) {
        ::close(epoll_fd_);
        throw_errno("weft: eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: drained on every turn that sees it
    ev.data.ptr = kWakeToken;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) < 0) {
        ::close(event_fd_);
        ::close(epoll_fd_);
        throw_errno("weft: epoll_ctl(eventfd)");
    }
}

IoDriver::~IoDriver() {
    release_removed();
    // Sockets hold the driver by shared_ptr, so none is registered any more.
    ::close(event_fd_);
    ::close(epoll_fd_);
}

ScheduledIo* IoDriver::add(int fd, bool is_socket) {
    auto* io = new ScheduledIo(fd, is_socket);
    {
        std::lock_guard lock(mutex_);
        if (is_shutdown()) {
            delete io;
            throw RuntimeShutdownError();
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = io;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
            const int err = errno;
            delete io;
            throw std::system_error(err, std::system_category(), "weft: epoll_ctl(ADD)");
        }
        io->next = live_;
        if (live_) live_->prev = io;
        live_ = io;
        io->is_live = true;
    }
    registered_.fetch_add(1, std::memory_order_relaxed);
    return io;
}

void IoDriver::deregister(ScheduledIo* io) noexcept {
    {
        std::lock_guard lock(mutex_);
        if (!io->is_live) return;
        io->is_live = false;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, io->fd(), nullptr);
        if (io->prev) io->prev->next = io->next;
        else live_ = io->next;
        if (io->next) io->next->prev = io->prev;
        io->prev = io->next = nullptr;
        registered_.fetch_sub(1, std::memory_order_relaxed);
    }
    io->shutdown();
}

void IoDriver::release(ScheduledIo* io) noexcept {
    deregister(io);
    std::lock_guard lock(mutex_);
    io->next = removed_;
    removed_ = io;
}

void IoDriver::release_removed() noexcept {
    ScheduledIo* list;
    {
        std::lock_guard lock(mutex_);
        list = std::exchange(removed_, nullptr);
    }
    while (list) delete std::exchange(list, list->next);
}

std::size_t IoDriver::turn(std::optional<std::chrono::milliseconds> timeout, bool* interrupted) {
    release_removed();
    epoll_event events[kMaxEvents];
    int wait_ms = -1;
    if (timeout) wait_ms = static_cast<int>(std::min<std::chrono::milliseconds::rep>(timeout->count(), 1 << 30));
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, wait_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;  // a signal: the caller loops
        fail_wait(errno);
    }
    std::size_t dispatched = 0;
    for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == kWakeToken) {
            std::uint64_t count;
            while (::read(event_fd_, &count, sizeof count) > 0) {
            }
            if (interrupted) *interrupted = true;
            continue;
        }
        const std::uint32_t e = events[i].events;
        std::uint32_t bits = 0;
        if (e & EPOLLIN) bits |= ready::kReadable;
        if (e & EPOLLOUT) bits |= ready::kWritable;
        if (e & (EPOLLRDHUP | EPOLLHUP)) bits |= ready::kReadClosed | ready::kReadable;
        if (e & EPOLLHUP) bits |= ready::kWriteClosed | ready::kWritable;
        if (e & EPOLLERR) bits |= ready::kError | ready::kReadable | ready::kWritable;
        static_cast<ScheduledIo*>(events[i].data.ptr)->set_readiness(bits);
        ++dispatched;
    }
    return dispatched;
}

void IoDriver::interrupt() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t r = ::write(event_fd_, &one, sizeof one);  // EAGAIN: already pending
}

void IoDriver::shutdown() noexcept {
    std::lock_guard lock(mutex_);
    shutdown_.store(true, std::memory_order_release);
    for (ScheduledIo* io = live_; io; io = io->next) {
        if (io->is_socket()) ::shutdown(io->fd(), SHUT_RDWR);
        io->shutdown();
    }
}

}  // namespace weft::detail
