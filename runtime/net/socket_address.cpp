#include "socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <stdexcept>


namespace weft::net {

std::optional<SocketAddress> SocketAddress::parse(std::string_view ip, std::uint16_t port) noexcept {
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    char buf[INET6_ADDRSTRLEN + 1];
    if (ip.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, ip.data(), ip.size());
    buf[ip.size()] = '\0';
    SocketAddress a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    if (::inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.len_ = sizeof(sockaddr_in);
        return a;
    }
    a.storage_ = {};
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.len_ = sizeof(sockaddr_in6);
        return a;
    }
    return std::nullopt;
}

SocketAddress::SocketAddress(std::string_view ip, std::uint16_t port) {
    auto a = parse(ip, port);
    if (!a) throw std::invalid_argument("weft: not a numeric IP address: " + std::string(ip));
    *this = *a;
}

SocketAddress SocketAddress::from_native(const sockaddr* sa, socklen_t len) noexcept {
    SocketAddress a;
    if (len > sizeof a.storage_) len = sizeof a.storage_;
    std::memcpy(&a.storage_, sa, len);
    a.len_ = len;
    return a;
}

std::uint16_t SocketAddress::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
    if (a.family() != b.family() || a.port() != b.port()) return false;
    if (a.family() == AF_INET) {
        return std::memcmp(&reinterpret_cast<const sockaddr_in*>(a.native())->sin_addr,
                           &reinterpret_cast<const sockaddr_in*>(b.native())->sin_addr, sizeof(in_addr)) == 0;
    }
    if (a.family() == AF_INET6) {
        return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.native())->sin6_addr,
                           &reinterpret_cast<const sockaddr_in6*>(b.native())->sin6_addr, sizeof(in6_addr)) == 0;
    }
    return true;  // both without an address
}

std::string SocketAddress::ip() const {
    char buf[INET6_ADDRSTRLEN] = "";
    if (family() == AF_INET) ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
    else if (family() == AF_INET6) ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return buf;
}

std::string SocketAddress::to_string() const {
    // Appends rather than `"[" + ip() + ...`: g++ 12 warns falsely (-Wrestrict) on that form.
    std::string out;
    if (is_v6()) out += '[';
    out += ip();
    if (is_v6()) out += ']';
    out += ':';
    out += std::to_string(port());
    return out;
}

}  // namespace weft::net
