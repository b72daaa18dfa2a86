// SocketAddress: an IPv4 or IPv6 address and port.
#pragma once

#include "../detail/language_check.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::net {

class SocketAddress {
public:
    SocketAddress() noexcept = default;
    // From a numeric host ("127.0.0.1", "::1") and a port. Throws std::invalid_argument for
    // anything that is not a numeric IPv4 or IPv6 address (names go through TcpStream::connect).
    SocketAddress(std::string_view ip, std::uint16_t port);
    // nullopt unless `ip` is a numeric address.
    static std::optional<SocketAddress> parse(std::string_view ip, std::uint16_t port) noexcept;
    static SocketAddress from_native(const sockaddr* sa, socklen_t len) noexcept;

    std::uint16_t port() const noexcept;
    std::string ip() const;
    std::string to_string() const;  // "1.2.3.4:80", "[::1]:80"
    int family() const noexcept { return storage_.ss_family; }
    bool is_v6() const noexcept { return family() == AF_INET6; }

    const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t native_len() const noexcept { return len_; }

    friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
        return a.to_string() == b.to_string();
    }

private:
    sockaddr_storage storage_{};
    socklen_t len_ = 0;
};

}  // namespace weft::net
