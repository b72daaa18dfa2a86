// What the Client and the manager's handle share: how the typed commands are encoded and how
// their replies become C++ values. Each converter throws the reply as a ServerError if it is an
// error reply, and UnexpectedReplyError if it is of another kind than the command returns.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../resp_encoder.hpp"
#include "../value.hpp"

namespace weft::redis::detail {

// SET key value [PX milliseconds]. Throws std::invalid_argument for an expiry that is not
// positive (Redis would refuse it; saying so before anything is sent is clearer).
inline void encode_set(std::string& out, std::string_view key, std::string_view value,
                       std::optional<std::chrono::milliseconds> expiry) {
    if (!expiry) {
        encode_command(out, "SET", key, value);
        return;
    }
    if (expiry->count() <= 0) throw std::invalid_argument("weft::redis: SET expiry must be positive");
    encode_command(out, "SET", key, value, "PX", static_cast<std::int64_t>(expiry->count()));
}

// The commands a request/reply call cannot carry: each answers with no reply or with more than
// one (SUBSCRIBE and its kin, MONITOR, CLIENT REPLY OFF/SKIP), or changes how the connection
// speaks under the parser (HELLO, RESET). Through Client::command or the manager they would
// shift every later reply onto the wrong caller, so the call refuses them before anything is
// sent. `encoded` is one command as encode_command wrote it (an array of bulk strings).
// @throws std::invalid_argument naming the command and what to use instead.
inline void refuse_unpaired_command(std::string_view encoded) {
    // Reads the i-th bulk string of the array; empty if the bytes end first (cannot happen for
    // what encode_command wrote, but a short read must not be trusted).
    std::size_t at = encoded.find('\n');
    const auto next_bulk = [&]() -> std::string_view {
        if (at == std::string_view::npos || at + 1 >= encoded.size() || encoded[at + 1] != '$') return {};
        const std::size_t header_end = encoded.find('\r', at + 2);
        if (header_end == std::string_view::npos) return {};
        std::size_t length = 0;
        std::from_chars(encoded.data() + at + 2, encoded.data() + header_end, length);
        const std::size_t start = header_end + 2;
        if (start + length > encoded.size()) return {};
        at = start + length + 1;
        return encoded.substr(start, length);
    };
    const auto is = [](std::string_view word, std::string_view upper) {
        return word.size() == upper.size() && std::equal(word.begin(), word.end(), upper.begin(), [](char a, char b) {
                   return std::toupper(static_cast<unsigned char>(a)) == b;
               });
    };
    const std::string_view name = next_bulk();
    std::string shown(name);
    const char* instead = nullptr;
    for (std::string_view pubsub : {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
                                    "SUNSUBSCRIBE"}) {
        if (is(name, pubsub)) instead = "it answers once per channel and then streams messages; subscribe on a connection of its own";
    }
    if (is(name, "MONITOR")) instead = "it streams every command the server runs; monitor on a connection of its own";
    if (is(name, "HELLO") || is(name, "RESET"))
        instead = "it changes the protocol the connection speaks; choose it with ConnectionInfo::protocol (?protocol=resp3)";
    if (is(name, "CLIENT")) {
        const std::string_view sub = next_bulk();
        if (is(sub, "REPLY")) {
            const std::string_view mode = next_bulk();
            if (is(mode, "OFF") || is(mode, "SKIP")) {
                instead = "the replies it suppresses would be matched to the wrong calls";
                shown = std::string(name) + " " + std::string(sub) + " " + std::string(mode);
            }
        }
    }
    if (instead) {
        throw std::invalid_argument("weft::redis: " + shown +
                                    " cannot be sent as a request/reply command: " + instead);
    }
}

struct AsValue {
    Value operator()(Value&& v) const noexcept { return std::move(v); }
};

// GET: a bulk string, or nil for a missing key.
struct AsOptionalString {
    std::optional<std::string> operator()(Value&& v) const {
        if (v.is_nil()) return std::nullopt;
        return std::move(v).as_string();
    }
};

// SET (without NX/XX): +OK.
struct AsOk {
    void operator()(Value&& v) const {
        const std::string& s = v.as_string();
        if (v.kind() != Kind::simple_string || s != "OK")
            throw UnexpectedReplyError("weft::redis: expected +OK, got " + v.to_string());
    }
};

// DEL, INCR: an integer.
struct AsInteger {
    std::int64_t operator()(Value&& v) const { return v.as_integer(); }
};

// A request without a reply (a RESP3 SUBSCRIBE): nothing to convert.
struct Ignore {
    void operator()(Value&&) const noexcept {}
};

// A batch's replies, answered as one array.
struct AsArrayElements {
    std::vector<Value> operator()(Value&& v) const { return std::move(v).as_array(); }
};

// PING: +PONG (or the message given).
struct AsString {
    std::string operator()(Value&& v) const { return std::move(v).as_string(); }
};

}  // namespace weft::redis::detail
