// Network errors that have no errno: a stream that ended early, and name resolution failures.
// Both are std::system_error, so one catch handles every I/O failure; the category tells them
// apart (system_category: the errno of the failed call, e.g. ECONNREFUSED or ECONNRESET).
#pragma once

#include "../detail/language_check.hpp"

#include <system_error>

namespace weft::net {

/// Stream failures that have no errno; thrown as std::system_error in stream_category().
enum class StreamError {
    unexpected_eof = 1,   ///< The peer closed the stream before the bytes asked for arrived.
    frame_too_large = 2,  ///< A length-delimited frame's header announced more than the limit.
};

/// "weft.stream": StreamError codes. A function-local static: usable from any thread.
const std::error_category& stream_category() noexcept;
/// "weft.resolver": getaddrinfo's EAI_* codes, with gai_strerror's text.
const std::error_category& resolver_category() noexcept;

/// Lets a StreamError become a std::error_code (and be compared with one).
inline std::error_code make_error_code(StreamError e) noexcept { return {static_cast<int>(e), stream_category()}; }

}  // namespace weft::net

/// @cond
template <>
struct std::is_error_code_enum<weft::net::StreamError> : std::true_type {};
/// @endcond
