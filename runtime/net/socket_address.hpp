// SocketAddress: an IPv4 or IPv6 address and port.
#pragma once

#include "../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::net {

/// An IPv4 or IPv6 address and port: a plain value, usable from any thread; no name resolution.
class SocketAddress {
public:
    /// No address (family AF_UNSPEC, port 0).
    SocketAddress() noexcept = default;
    /// From a numeric host ("127.0.0.1", "::1", "[::1]") and a port.
    /// @throws std::invalid_argument for anything that is not a numeric IPv4 or IPv6 address
    /// (names go through TcpStream::connect).
    SocketAddress(std::string_view ip, std::uint16_t port);
    /// nullopt unless `ip` is a numeric address.
    static std::optional<SocketAddress> parse(std::string_view ip, std::uint16_t port) noexcept;
    /// Copies a sockaddr from the system (at most sizeof(sockaddr_storage) bytes of it).
    static SocketAddress from_native(const sockaddr* sa, socklen_t len) noexcept;

    /// The port in host byte order; 0 for no address.
    std::uint16_t port() const noexcept;
    /// The address without the port ("1.2.3.4", "::1"); empty for no address.
    std::string ip() const;
    /// "1.2.3.4:80", "[::1]:80".
    std::string to_string() const;
    /// AF_INET, AF_INET6, or AF_UNSPEC for no address.
    int family() const noexcept { return storage_.ss_family; }
    /// True for an IPv6 address.
    bool is_v6() const noexcept { return family() == AF_INET6; }

    /// The sockaddr to pass to the system.
    const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    /// The length of native().
    socklen_t native_len() const noexcept { return len_; }

    /// Same family, address and port (an IPv6 scope id is not compared). Allocates nothing.
    friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

private:
    sockaddr_storage storage_{};
    socklen_t len_ = 0;
};

}  // namespace weft::net
