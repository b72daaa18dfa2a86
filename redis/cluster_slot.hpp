// Redis Cluster's key slots: CRC16 (XMODEM) of the key, or of its hash tag, modulo 16384, as the
// cluster specification defines them.
//
//   key_slot("foo") == 12182
//   key_slot("{user1}.a") == key_slot("{user1}.b")    // both hash "user1" only
//
// Pure functions: any thread, no I/O, no allocation.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace weft::redis {

/// How many hash slots a Redis Cluster has.
inline constexpr std::uint16_t kClusterSlots = 16384;

namespace detail {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection, no final xor. The
// table is computed at compile time from the polynomial.
inline constexpr std::array<std::uint16_t, 256> kCrc16Table = [] {
    std::array<std::uint16_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
        table[i] = crc;
    }
    return table;
}();

}  // namespace detail

/// CRC16 (XMODEM, the cluster specification's): crc16("123456789") == 0x31C3.
constexpr std::uint16_t crc16(std::string_view bytes) noexcept {
    std::uint16_t crc = 0;
    for (const char c : bytes) {
        const auto byte = static_cast<std::uint8_t>(c);
        crc = static_cast<std::uint16_t>((crc << 8) ^ detail::kCrc16Table[((crc >> 8) ^ byte) & 0xFF]);
    }
    return crc;
}

/// The part of `key` that is hashed: between the first `{` and the first `}` after it, if that is
/// not empty; otherwise the whole key (`{}x`, `{x` and `x}` hash whole; `{a}{b}` hashes `a`).
constexpr std::string_view hash_tag(std::string_view key) noexcept {
    const std::size_t open = key.find('{');
    if (open == std::string_view::npos) return key;
    const std::size_t close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) return key;
    return key.substr(open + 1, close - open - 1);
}

/// The hash slot (0 to 16383) that owns `key`.
constexpr std::uint16_t key_slot(std::string_view key) noexcept {
    return static_cast<std::uint16_t>(crc16(hash_tag(key)) & (kClusterSlots - 1));
}

}  // namespace weft::redis
