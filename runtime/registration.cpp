#include "detail/registration.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "detail/driver.hpp"
#include "errors.hpp"

namespace weft::detail {

Registration::Registration(int fd, FdKind kind) : fd_(fd), kind_(kind) {
    try {
        Driver& driver = current_driver();
        driver_ = driver.io_shared();
        io_ = driver_->add(fd, kind == FdKind::socket);
    } catch (...) {
        const int owned = std::exchange(fd_, -1);
        if (kind != FdKind::borrowed) ::close(owned);
        throw;
    }
}

void Registration::throw_closed(const char* what) const {
    if (driver_ && driver_->is_shutdown()) throw RuntimeShutdownError();
    throw std::system_error(ECANCELED, std::system_category(), what);
}

void Registration::close() noexcept {
    // acq_rel: one close wins even when two tasks close at once; release pairs with is_open().
    if (!io_ || is_closed_.exchange(true, std::memory_order_acq_rel)) return;
    if (kind_ == FdKind::socket) ::shutdown(fd_, SHUT_RDWR);
    driver_->deregister(io_);
}

int Registration::release() noexcept {
    if (io_) driver_->release(std::exchange(io_, nullptr));
    driver_.reset();
    is_closed_.store(false, std::memory_order_relaxed);
    return std::exchange(fd_, -1);
}

void Registration::reset() noexcept {
    if (io_) {
        driver_->release(std::exchange(io_, nullptr));
    }
    const int fd = std::exchange(fd_, -1);
    if (fd >= 0 && kind_ != FdKind::borrowed) ::close(fd);
    driver_.reset();
    is_closed_.store(false, std::memory_order_relaxed);
}

}  // namespace weft::detail
