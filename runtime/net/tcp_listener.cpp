#include "tcp_listener.hpp"

#include <exception>
#include <system_error>
#include <vector>

#include "detail/resolve.hpp"
#include "detail/socket_ops.hpp"
#include "tcp_socket.hpp"

namespace weft::net {

TcpListener TcpListener::bind(const SocketAddress& address, int backlog) {
    TcpSocket socket = TcpSocket::new_for(address);
    socket.set_reuseaddr(true);
    socket.bind(address);
    return std::move(socket).listen(backlog);
}

Task<TcpListener> TcpListener::bind(std::string host_port) {
    auto [host, port] = detail::split_host_port(host_port);
    std::vector<SocketAddress> addresses = co_await detail::resolve(std::move(host), port);
    std::exception_ptr last;
    for (const SocketAddress& a : addresses) {
        try {
            co_return bind(a);
        } catch (const std::system_error&) {
            last = std::current_exception();
        }
    }
    std::rethrow_exception(last);  // resolve() yields at least one address
}

Task<Accepted> TcpListener::accept() {
    detail::AcceptOp op{reg_.fd()};  // a local: no braced temporary in a co_await (g++ 12)
    const detail::AcceptOp::Result a = co_await weft::detail::IoAwaiter(reg_, weft::detail::Interest::read, "weft: accept", op);
    TcpStream stream(a.fd);
    stream.set_nodelay(true);
    Accepted accepted(std::move(stream), a.peer);
    co_return accepted;
}

SocketAddress TcpListener::local_addr() const { return detail::local_address(reg_.fd()); }

}  // namespace weft::net
