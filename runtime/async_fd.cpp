#include "async_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

namespace weft {

namespace {
// A blocking descriptor would block the worker in the caller's system call: refuse it up front.
void check_non_blocking(int fd) {
    if (fd < 0) throw std::invalid_argument("weft: AsyncFd needs a valid descriptor");
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) throw std::system_error(errno, std::system_category(), "weft: AsyncFd fcntl");
    if (!(flags & O_NONBLOCK)) throw std::invalid_argument("weft: AsyncFd needs a non-blocking descriptor (O_NONBLOCK)");
}
}  // namespace

AsyncFd::AsyncFd(int fd, detail::FdKind kind) : reg_((check_non_blocking(fd), fd), kind) {}

AsyncFd::AsyncFd(int fd) : AsyncFd(fd, detail::FdKind::borrowed) {}

AsyncFd AsyncFd::adopt(int fd) {
    try {
        check_non_blocking(fd);
    } catch (...) {
        if (fd >= 0) ::close(fd);
        throw;
    }
    return AsyncFd(fd, detail::FdKind::owned);
}

}  // namespace weft
