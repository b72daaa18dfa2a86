// Encoding commands for a Redis server: a command goes over the wire as an array of bulk
// strings, `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
//
//   std::string out;
//   encode_command(out, "SET", key, value);       // anything convertible to std::string_view
//   encode_command(out, "EXPIRE", key, 60);        // numbers are sent as their decimal text
//   encode_command(out, {"MGET", "a", "b"});       // an initializer_list of string_views
//   encode_command(out, args);                     // a range: std::vector<std::string>, a span...
//   write_all(socket, out);                        // every command appended: one write
//
// Each call appends one command to `out` and never touches what is already there, so a caller
// batches many commands into one buffer. Arguments are binary-safe: their bytes are sent as they
// are, CR, LF and NUL included. The buffer grows geometrically (never by exactly one command's
// size, which would make batching quadratic), and each command is one size computation and a
// few memcpys.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace weft::redis {

/// A type a command argument can be: text (convertible to std::string_view), an integer (sent in
/// decimal; not bool, and not a character type, whose intent is unclear), or a floating-point
/// number (sent as the shortest decimal text that reads back as the same value; infinities as
/// "inf" and "-inf", which Redis accepts).
template <class T>
concept CommandArg =
    std::convertible_to<const T&, std::string_view> ||
    (std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
     !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
     !std::same_as<T, char32_t>) ||
    std::floating_point<T>;

namespace detail {

// One argument's bytes: a view of a text argument, or a number's decimal text stored inline.
// Copying it is safe (a number's text is addressed through `external == nullptr`, not a pointer
// into itself).
class ArgBytes {
public:
    template <CommandArg T>
    explicit ArgBytes(const T& arg) {
        if constexpr (std::convertible_to<const T&, std::string_view>) {
            const std::string_view text = arg;
            external_ = text.data();
            size_ = text.size();
            // A view of nothing may have a null data(): point at something, memcpy needs it.
            if (external_ == nullptr) external_ = "";
        } else {
            const std::to_chars_result r = std::to_chars(digits_, digits_ + sizeof digits_, arg);
            size_ = static_cast<std::size_t>(r.ptr - digits_);
        }
    }
    const char* data() const noexcept { return external_ != nullptr ? external_ : digits_; }
    std::size_t size() const noexcept { return size_; }

private:
    const char* external_ = nullptr;
    std::size_t size_ = 0;
    char digits_[48];  // fits any integer up to 128 bits, and any double's shortest form
};

inline std::size_t decimal_digits(std::size_t n) noexcept {
    std::size_t digits = 1;
    while (n >= 10) {
        n /= 10;
        ++digits;
    }
    return digits;
}

// Size of "<marker><n>\r\n".
inline std::size_t header_size(std::size_t n) noexcept { return 1 + decimal_digits(n) + 2; }

inline void append_header(std::string& out, char marker, std::size_t n) {
    char buf[24];
    buf[0] = marker;
    char* end = std::to_chars(buf + 1, buf + sizeof buf, n).ptr;
    *end++ = '\r';
    *end++ = '\n';
    out.append(buf, end);
}

inline void append_bulk(std::string& out, const char* data, std::size_t size) {
    append_header(out, '$', size);
    out.append(data, size);
    out.append("\r\n", 2);
}

// Makes room for `extra` more bytes, at least doubling the capacity when it has to grow.
inline void reserve_more(std::string& out, std::size_t extra) {
    if (out.capacity() - out.size() >= extra) return;
    out.reserve(std::max(out.size() + extra, 2 * out.capacity()));
}

inline std::size_t bulk_size(std::size_t n) noexcept { return header_size(n) + n + 2; }

template <class R>
void encode_range(std::string& out, const R& args) {
    std::size_t count = 0;
    std::size_t total = 0;
    for (const auto& arg : args) {
        ++count;
        total += bulk_size(ArgBytes(arg).size());
    }
    if (count == 0) throw std::invalid_argument("weft::redis: a command needs at least its name");
    reserve_more(out, header_size(count) + total);
    append_header(out, '*', count);
    for (const auto& arg : args) {
        const ArgBytes b(arg);
        append_bulk(out, b.data(), b.size());
    }
}

}  // namespace detail

/// Appends the command `args...` (its name first) to `out`, leaving what is there untouched.
/// Arguments are binary-safe. Pure: any thread, no I/O. Does not fail but for the string's own
/// std::bad_alloc / std::length_error.
///
///     std::string out;
///     encode_command(out, "SET", key, value);   // anything convertible to std::string_view
///     encode_command(out, "EXPIRE", key, 60);    // numbers are sent as their decimal text
template <CommandArg... Args>
void encode_command(std::string& out, const Args&... args) {
    static_assert(sizeof...(Args) > 0, "a command needs at least its name");
    const detail::ArgBytes bytes[] = {detail::ArgBytes(args)...};
    std::size_t total = detail::header_size(sizeof...(Args));
    for (const detail::ArgBytes& b : bytes) total += detail::bulk_size(b.size());
    detail::reserve_more(out, total);
    detail::append_header(out, '*', sizeof...(Args));
    for (const detail::ArgBytes& b : bytes) detail::append_bulk(out, b.data(), b.size());
}

/// Appends a command whose arguments are in a range (its name first): std::vector<std::string>,
/// std::span<const std::string_view>, a std::vector<std::int64_t>...
/// @throws std::invalid_argument if the range is empty (a command needs its name); `out` is then
/// unchanged. Otherwise only the string's std::bad_alloc / std::length_error.
template <std::ranges::forward_range R>
    requires CommandArg<std::ranges::range_value_t<R>> && (!CommandArg<R>)
void encode_command(std::string& out, const R& args) {
    detail::encode_range(out, args);
}

/// Appends a command given as a braced list: `encode_command(out, {"MGET", "a", "b"})`.
/// @throws std::invalid_argument for an empty list; `out` is then unchanged. Otherwise only the
/// string's std::bad_alloc / std::length_error.
inline void encode_command(std::string& out, std::initializer_list<std::string_view> args) {
    detail::encode_range(out, args);
}

}  // namespace weft::redis
