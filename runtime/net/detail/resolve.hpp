// Name resolution for TcpStream::connect, TcpListener::bind and UdpSocket::bind: getaddrinfo on
// the blocking pool (it may wait on DNS), never on a worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../task.hpp"
#include "../socket_address.hpp"

namespace weft::net::detail {

// The addresses of `host` (a name or a numeric address; a numeric one without the pool) on `port`,
// in getaddrinfo's order. Throws std::system_error in resolver_category() (or the errno).
Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port);

// Splits "host:port" or "[v6 address]:port". Throws std::invalid_argument without a valid port.
std::pair<std::string, std::uint16_t> split_host_port(std::string_view host_port);

}  // namespace weft::net::detail
