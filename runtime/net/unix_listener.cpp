#include "unix_listener.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "detail/socket_ops.hpp"

namespace weft::net {

UnixListener UnixListener::bind(const std::string& path, int backlog) {
    const detail::UnixPath address = detail::unix_path(path);
    detail::OwnedFd fd = detail::new_socket(AF_UNIX, SOCK_STREAM);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.addr), address.len) < 0)
        detail::throw_errno(errno, "weft: bind " + path);
    if (::listen(fd.get(), backlog) < 0) detail::throw_errno(errno, "weft: listen " + path);
    return UnixListener(fd.release());
}

Task<UnixStream> UnixListener::accept() {
    detail::AcceptOp op{reg_.fd()};  // a local: no braced temporary in a co_await (g++ 12)
    const detail::AcceptOp::Result a = co_await weft::detail::IoAwaiter(reg_, weft::detail::Interest::read, "weft: accept", op);
    UnixStream stream(a.fd);
    co_return stream;
}

}  // namespace weft::net
