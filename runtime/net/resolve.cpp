#include "detail/resolve.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "../runtime.hpp"
#include "errors.hpp"

namespace weft::net::detail {

namespace {

std::vector<SocketAddress> resolve_blocking(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;  // one entry per address (the port is the same for UDP)
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
        const int code = rc == EAI_SYSTEM ? errno : rc;
        const std::error_category& cat = rc == EAI_SYSTEM ? std::system_category() : resolver_category();
        throw std::system_error(code, cat, "weft: resolve " + host);
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(found, ::freeaddrinfo);
    std::vector<SocketAddress> out;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) out.push_back(SocketAddress::from_native(ai->ai_addr, ai->ai_addrlen));
    if (out.empty()) throw std::system_error(EAI_NONAME, resolver_category(), "weft: resolve " + host);
    return out;
}

}  // namespace

Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port) {
    if (const std::optional<SocketAddress> numeric = SocketAddress::parse(host, port)) {
        std::vector<SocketAddress> one{*numeric};
        co_return one;
    }
    // Bound to a variable: g++ 12 destroys a lambda with captures written directly in a co_await
    // operand twice (README, Pitfalls).
    JoinHandle<std::vector<SocketAddress>> resolving = weft::spawn_blocking([host, port] { return resolve_blocking(host, port); });
    std::vector<SocketAddress> addresses = co_await resolving;
    co_return addresses;
}

std::pair<std::string, std::uint16_t> split_host_port(std::string_view host_port) {
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        throw std::invalid_argument("weft: expected host:port, got " + std::string(host_port));
    const std::string_view port_text = host_port.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || port > 65535)
        throw std::invalid_argument("weft: bad port in " + std::string(host_port));
    std::string_view host = host_port.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return {std::string(host), static_cast<std::uint16_t>(port)};
}

}  // namespace weft::net::detail
