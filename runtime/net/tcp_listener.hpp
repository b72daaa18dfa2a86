// TcpListener: accepts TCP connections on the runtime's reactor.
//
//   auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress("127.0.0.1", 0));
//   std::uint16_t port = listener.local_addr().port();   // port 0 picked a free one
//   for (;;) { auto [stream, peer] = co_await listener.accept(); ... }
//
// bind() is synchronous (it never blocks); call it inside a task or block_on. Errors are
// std::system_error with the errno and the operation (EADDRINUSE, EACCES...). After close() a
// waiting accept fails with ECANCELED; after the runtime shut down, with RuntimeShutdownError.
#pragma once

#include "../detail/language_check.hpp"

#include <cstdint>
#include <string_view>
#include <utility>

#include "../detail/registration.hpp"
#include "../task.hpp"
#include "socket_address.hpp"
#include "tcp_stream.hpp"

namespace weft::net {

struct Accepted {
    // A constructor, not an aggregate: g++ 12 destroys a brace-initialised aggregate temporary in
    // a co_return or co_await before moving from it (see README), which would close the socket.
    Accepted(TcpStream s, SocketAddress p) noexcept : stream(std::move(s)), peer(p) {}
    TcpStream stream;
    SocketAddress peer;
};

class TcpListener {
public:
    TcpListener() noexcept = default;

    // Binds and listens (SO_REUSEADDR on, so a restarted server can rebind at once).
    static TcpListener bind(const SocketAddress& address, int backlog = 1024);
    static TcpListener bind(std::string_view ip, std::uint16_t port, int backlog = 1024) {
        return bind(SocketAddress(ip, port), backlog);
    }

    // Waits for the next connection.
    Task<Accepted> accept();

    SocketAddress local_addr() const;
    void close() noexcept { reg_.close(); }
    int native_handle() const noexcept { return reg_.fd(); }

private:
    explicit TcpListener(int fd) : reg_(fd) {}
    weft::detail::Registration reg_;
};

}  // namespace weft::net
