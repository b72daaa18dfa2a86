#include "unix_stream.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace weft::net {

Task<UnixStream> UnixStream::connect(std::string path) {
    const detail::UnixPath address = detail::unix_path(path);
    detail::OwnedFd fd = detail::new_socket(AF_UNIX, SOCK_STREAM);
    UnixStream stream;
    co_await detail::connect_stream(stream, fd.release(), reinterpret_cast<const sockaddr*>(&address.addr), address.len,
                                    "weft: connect to " + path);
    co_return stream;
}

std::pair<UnixStream, UnixStream> UnixStream::pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) detail::throw_errno(errno, "weft: socketpair");
    detail::OwnedFd second(fds[1]);  // closed if registering the first end throws
    UnixStream a(fds[0]);
    UnixStream b(second.release());
    return {std::move(a), std::move(b)};
}

}  // namespace weft::net
