#include "detail/registration.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "detail/driver.hpp"
#include "errors.hpp"

namespace weft::detail {

Registration::Registration(int fd) : fd_(fd) {
    try {
        Driver& driver = current_driver();
        driver_ = driver.io_shared();
        io_ = driver_->add(fd);
    } catch (...) {
        ::close(std::exchange(fd_, -1));
        throw;
    }
}

void Registration::throw_closed(const char* what) const {
    if (driver_ && driver_->is_shutdown()) throw RuntimeShutdownError();
    throw std::system_error(ECANCELED, std::system_category(), what);
}

void Registration::close() noexcept {
    if (is_closed_ || !io_) return;
    is_closed_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    driver_->deregister(io_);
}

void Registration::reset() noexcept {
    if (io_) {
        driver_->release(std::exchange(io_, nullptr));
    }
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    driver_.reset();
    is_closed_ = false;
}

}  // namespace weft::detail
