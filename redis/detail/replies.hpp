// What the Client and the manager's handle share: how the typed commands are encoded and how
// their replies become C++ values. Each converter throws the reply as a ServerError if it is an
// error reply, and UnexpectedReplyError if it is of another kind than the command returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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

// PING: +PONG (or the message given).
struct AsString {
    std::string operator()(Value&& v) const { return std::move(v).as_string(); }
};

}  // namespace weft::redis::detail
