#include "tcp_stream.hpp"

#include <exception>
#include <system_error>
#include <vector>

#include "detail/resolve.hpp"
#include "tcp_socket.hpp"

namespace weft::net {

Task<TcpStream> TcpStream::connect(std::string host, std::uint16_t port) {
    std::vector<SocketAddress> addresses = co_await detail::resolve(host, port);
    std::exception_ptr last;
    for (const SocketAddress& a : addresses) {
        try {
            co_return co_await connect(a);
        } catch (const std::system_error&) {
            last = std::current_exception();
        }
    }
    std::rethrow_exception(last);  // resolve() yields at least one address
}

Task<TcpStream> TcpStream::connect(std::string host_port) {
    auto [host, port] = detail::split_host_port(host_port);
    TcpStream stream = co_await connect(std::move(host), port);
    co_return stream;
}

Task<TcpStream> TcpStream::connect(SocketAddress address) {
    TcpSocket socket = TcpSocket::new_for(address);
    TcpStream stream = co_await std::move(socket).connect(address);
    co_return stream;
}

}  // namespace weft::net
