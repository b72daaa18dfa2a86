// The Redis client's errors. Catch `weft::redis::Error` for all of them; the concrete types keep
// apart what a caller handles differently:
//   ServerError           the server replied with an error (-ERR ..., -WRONGTYPE ...): text kept
//   ProtocolError         the bytes made no sense as RESP, or broke one of the parser's limits
//   UnexpectedReplyError  a valid reply, but not of the kind the caller asked for
//   IoError               the connection broke (code() is the errno, or Errc::connection_closed)
// (see Error for what they have in common).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace weft::redis {

/// The Redis client's error codes, in error_category(): compare with `e.code()`.
enum class Errc {
    server_error = 1,   ///< ServerError: the server replied with an error.
    protocol_error,     ///< ProtocolError: the bytes were not valid RESP, or broke a limit.
    unexpected_reply,   ///< UnexpectedReplyError: a valid reply of the wrong kind.
    connection_closed,  ///< IoError: the server closed the connection (mid-reply, commands pending).
};

}  // namespace weft::redis

// Lets an Errc compare with and convert to std::error_code: `e.code() == Errc::server_error`.
/// @cond
template <>
struct std::is_error_code_enum<weft::redis::Errc> : std::true_type {};
/// @endcond

namespace weft::redis {

namespace detail {
class ErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "weft.redis"; }
    std::string message(int code) const override {
        switch (static_cast<Errc>(code)) {
            case Errc::server_error: return "the Redis server replied with an error";
            case Errc::protocol_error: return "invalid RESP data from the Redis server";
            case Errc::unexpected_reply: return "unexpected kind of reply from the Redis server";
            case Errc::connection_closed: return "the Redis server closed the connection";
        }
        return "unknown weft.redis error";
    }
};
}  // namespace detail

/// The category of Errc codes, "weft.redis" (one instance program-wide; any thread).
inline const std::error_category& error_category() noexcept {
    static const detail::ErrorCategory category;
    return category;
}

/// Lets an Errc become a std::error_code (and be compared with one).
inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// The common base of the Redis client's errors: catch it for all of them.
///
/// Each is a std::system_error (so I/O failures stay system errors carrying their errno, as
/// everywhere in weft) and therefore a std::runtime_error. code() tells them apart without
/// parsing a message: `e.code() == weft::redis::Errc::server_error`. Copying never throws (the
/// message is shared), as an exception type's should.
class Error : public std::system_error {
public:
    /// The message alone, without the "<message>: <category text>" suffix std::system_error adds.
    const char* what() const noexcept override { return what_->c_str(); }

protected:
    /// Carries `code` and the message `what`.
    /// @throws std::bad_alloc if the message cannot be stored.
    Error(std::error_code code, std::string what)
        : std::system_error(code), what_(std::make_shared<const std::string>(std::move(what))) {}
    /// The whole message, NUL bytes included (what() stops at the first).
    const std::string& message() const noexcept { return *what_; }

private:
    std::shared_ptr<const std::string> what_;
};

/// The server's error reply (Errc::server_error). what() and text() are its text exactly as sent
/// (without the leading '-' and the CRLF), e.g. "WRONGTYPE Operation against a key holding the
/// wrong kind of value". The connection stays usable.
class ServerError : public Error {
public:
    /// The error reply whose text is `text`.
    explicit ServerError(std::string text)
        : Error(make_error_code(Errc::server_error), std::move(text)) {}

    /// The whole text, NUL bytes included.
    std::string_view text() const noexcept { return message(); }
    /// The first word, by Redis's convention the error's code: "ERR", "WRONGTYPE", "NOSCRIPT",
    /// "MOVED"... The whole text if it has no space.
    std::string_view prefix() const noexcept { return text().substr(0, text().find(' ')); }
    /// What follows the prefix and its space; empty if there is nothing after the prefix.
    std::string_view detail() const noexcept {
        const std::string_view t = text();
        const std::size_t space = t.find(' ');
        return space == std::string_view::npos ? std::string_view{} : t.substr(space + 1);
    }
};

/// The peer sent bytes that are not RESP, or a reply beyond a configured limit (a bulk length, a
/// nesting depth, an element count, a line length): Errc::protocol_error. The connection cannot
/// be trusted afterwards.
class ProtocolError : public Error {
public:
    /// what() is "redis protocol error: " followed by `what`.
    explicit ProtocolError(std::string_view what)
        : Error(make_error_code(Errc::protocol_error),
                "redis protocol error: " + std::string(what)) {}
};

/// A well-formed reply of another kind than the caller asked for (as_integer() on a bulk
/// string): Errc::unexpected_reply. The connection stays usable.
class UnexpectedReplyError : public Error {
public:
    /// what() is `what`.
    explicit UnexpectedReplyError(std::string what)
        : Error(make_error_code(Errc::unexpected_reply), std::move(what)) {}
};

/// The connection failed. code() is the errno-based code of the failed call (as in the
/// std::system_error the socket layer threw), or Errc::connection_closed when the server closed
/// the connection.
class IoError : public Error {
public:
    /// what() is `what`, ": " and the code's message.
    IoError(std::error_code code, std::string_view what)
        : Error(code, std::string(what) + ": " + code.message()) {}
};

}  // namespace weft::redis
