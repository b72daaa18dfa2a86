#include "url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>

namespace weft::redis {

namespace {

// The URL for messages, its password (if any) masked: a message may end up in a log. A password
// is in the user information (`redis://user:pw@host`) or, in a unix URL, a `password=` query key.
std::string masked(std::string_view url) {
    std::string out(url);
    if (const std::size_t question = out.find('?'); question != std::string::npos) {
        for (std::size_t key = question + 1; key < out.size();) {
            const std::size_t amp = std::min(out.find('&', key), out.size());
            if (std::string_view(out).substr(key, amp - key).starts_with("password=")) {
                const std::size_t value = key + 9;
                out.replace(value, amp - value, "***");
                key = value + 4;
            } else {
                key = amp + 1;
            }
        }
    }
    const std::size_t scheme_end = out.find("://");
    if (scheme_end == std::string::npos) return out;
    const std::size_t auth_start = scheme_end + 3;
    const std::size_t at = out.find('@', auth_start);
    const std::size_t slash = out.find('/', auth_start);
    if (at == std::string::npos || (slash != std::string::npos && slash < at)) return out;
    const std::size_t colon = out.find(':', auth_start);
    if (colon == std::string::npos || colon > at) return out;
    return out.substr(0, colon + 1) + "***" + out.substr(at);
}

[[noreturn]] void fail(std::string_view url, std::string_view what) {
    throw std::invalid_argument("weft::redis: bad URL '" + masked(url) + "': " + std::string(what));
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view url, std::string_view part, std::string_view what) {
    std::string out;
    out.reserve(part.size());
    for (std::size_t i = 0; i < part.size(); ++i) {
        if (part[i] != '%') {
            out += part[i];
            continue;
        }
        const int hi = i + 2 < part.size() ? hex_value(part[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(part[i + 2]) : -1;
        if (lo < 0) fail(url, std::string(what) + " has a '%' not followed by two hex digits");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

template <class Int>
Int parse_number(std::string_view url, std::string_view text, Int min, Int max, std::string_view what) {
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) fail(url, std::string(what) + " must be a decimal number, got '" + std::string(text) + "'");
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < static_cast<std::uint64_t>(min) ||
        value > static_cast<std::uint64_t>(max))
        fail(url, std::string(what) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + std::string(text));
    return static_cast<Int>(value);
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

// `protocol=resp3&client_name=NAME`, and for a unix URL also `db=N&user=NAME&password=PW` (its path
// has no room for them): each key at most once, nothing else.
void parse_query(std::string_view url, std::string_view query, ConnectionInfo& info, bool is_unix) {
    bool seen_protocol = false, seen_name = false, seen_db = false, seen_user = false, seen_password = false;
    const auto once = [url](bool& seen, std::string_view key) {
        if (seen) fail(url, std::string(key) + " is given twice");
        seen = true;
    };
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (key == "protocol") {
            once(seen_protocol, key);
            if (value == "resp3" || value == "3") info.protocol = RespVersion::resp3;
            else if (value == "resp2" || value == "2") info.protocol = RespVersion::resp2;
            else fail(url, "protocol must be resp2 or resp3, got '" + std::string(value) + "'");
        } else if (key == "client_name") {
            once(seen_name, key);
            std::string name = percent_decode(url, value, "the client name");
            if (name.empty()) fail(url, "client_name is empty");
            if (name.find_first_of(" \t\r\n") != std::string::npos) fail(url, "client_name contains whitespace");
            info.client_name = std::move(name);
        } else if (is_unix && key == "db") {
            once(seen_db, key);
            info.database = parse_number<std::uint32_t>(url, value, 0, std::numeric_limits<std::int32_t>::max(),
                                                        "the database index");
        } else if (is_unix && key == "user") {
            once(seen_user, key);
            info.username = percent_decode(url, value, "the user name");
        } else if (is_unix && key == "password") {
            once(seen_password, key);
            info.password = percent_decode(url, value, "the password");
        } else {
            fail(url, "unknown query parameter '" + std::string(key) + "' (known: protocol, client_name" +
                          (is_unix ? ", db, user, password)" : ")"));
        }
    }
    if (info.username && !info.password) fail(url, "a user name needs a password (add &password=...)");
}

// Cuts `?query` off the end of `rest` and returns it (empty without one).
std::string_view split_query(std::string_view& rest) {
    const std::size_t question = rest.find('?');
    if (question == std::string_view::npos) return {};
    const std::string_view query = rest.substr(question + 1);
    rest = rest.substr(0, question);
    return query;
}

// After `unix://` or `redis+unix://`: an absolute path, no host, and the query.
ConnectionInfo parse_unix_url(std::string_view url, std::string_view rest) {
    const std::string_view query = split_query(rest);
    if (rest.empty() || rest.front() != '/')
        fail(url, "a unix URL names an absolute socket path and no host: unix:///path/to/redis.sock");
    ConnectionInfo info;
    info.socket_path = percent_decode(url, rest, "the socket path");
    parse_query(url, query, info, true);
    return info;
}

}  // namespace

ConnectionInfo parse_url(std::string_view url) {
    constexpr std::string_view kScheme = "redis://";
    if (url.find('#') != std::string_view::npos) fail(url, "fragments are not supported");
    for (const std::string_view unix_scheme : {std::string_view("unix://"), std::string_view("redis+unix://")}) {
        if (starts_with_ignoring_case(url, unix_scheme)) return parse_unix_url(url, url.substr(unix_scheme.size()));
    }
    if (!starts_with_ignoring_case(url, kScheme)) {
        if (starts_with_ignoring_case(url, "rediss://")) fail(url, "TLS (rediss://) is not supported");
        fail(url, "expected redis://[[user]:password@]host[:port][/db] or unix:///path/to/redis.sock");
    }
    std::string_view rest = url.substr(kScheme.size());
    const std::string_view query = split_query(rest);

    ConnectionInfo info;
    // The authority ends at the first '/'; a '@' in a password must be percent-encoded, so the
    // last '@' before that slash ends the user information.
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos)
            fail(url, "a user name needs a password (redis://user:password@host); for a password alone write "
                      "redis://:password@host");
        const std::string_view user = userinfo.substr(0, colon);
        const std::string_view password = userinfo.substr(colon + 1);
        if (!user.empty()) info.username = percent_decode(url, user, "the user name");
        info.password = percent_decode(url, password, "the password");
    }

    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) fail(url, "an IPv6 address needs its closing ']'");
        info.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') fail(url, "unexpected text after the IPv6 address");
            port_text = after.substr(1);
            has_port = true;
        }
    } else {
        const std::size_t colon = authority.find(':');
        info.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            has_port = true;
        }
    }
    if (info.host.empty()) fail(url, "the host is missing");
    if (info.host.find_first_of(" \t\r\n") != std::string::npos) fail(url, "the host contains whitespace");
    if (has_port) info.port = parse_number<std::uint16_t>(url, port_text, 1, 65535, "the port");

    if (!path.empty()) {
        info.database = parse_number<std::uint32_t>(url, path, 0, std::numeric_limits<std::int32_t>::max(),
                                                    "the database index");
    }
    parse_query(url, query, info, false);
    return info;
}

}  // namespace weft::redis
