// Where a Redis server is and how to log in to it, parsed from a `redis://` (TCP) or `unix://`
// (Unix domain socket) URL.
//
//   ConnectionInfo info = parse_url("redis://app:s3cret@cache.internal:6380/2");
//   // info.host == "cache.internal", info.port == 6380, info.username == "app",
//   // info.password == "s3cret", info.database == 2
//
// The form is `redis://[[user]:password@]host[:port][/db][?protocol=resp3&client_name=NAME]`:
//   - host: a name, an IPv4 address, or an IPv6 address in brackets (`redis://[::1]:6379`);
//   - port: 1 to 65535, default 6379;
//   - user and password: percent-encoded as in any URL (`p%40ss` is `p@ss`); `:password@` alone
//     (no user) authenticates as Redis's default user, like `AUTH password`; a user without a
//     password is rejected (Redis has no such login);
//   - db: the database index SELECTed after connecting, default 0; `/` alone means 0;
//   - query: `protocol=resp2|resp3` (or `2`/`3`; default resp2) and `client_name=NAME` (sent on
//     connect, percent-encoded like the password), separated by `&`, each at most once.
//
// A server on a Unix domain socket: `unix:///path/to/redis.sock` or `redis+unix:///path/to/redis.sock`
// (an absolute path, percent-encoded like the password, no host), with the login and database in
// the query as the path has no room for them: `?db=N&user=NAME&password=PW`, besides `protocol`
// and `client_name` (redis-rs and hiredis-based clients take the same forms).
//
// Anything else (another scheme, `rediss://`, another query key, a fragment, a bad port or
// database, a stray character) is std::invalid_argument with a message naming what is wrong.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "resp_parser.hpp"

namespace weft::redis {

/// Redis's port when a URL names none.
inline constexpr std::uint16_t kDefaultPort = 6379;

/// Where a Redis server is and how to log in to it; parse_url() builds one from a URL.
struct ConnectionInfo {
    std::string host = "127.0.0.1";     ///< A name, or a numeric IPv4 or IPv6 address (no brackets).
    std::uint16_t port = kDefaultPort;  ///< The server's TCP port.
    /// Set: the server's Unix domain socket (redis.conf's `unixsocket`), connected to instead of
    /// host and port, which are then unused. TCP keepalive does not apply there.
    std::optional<std::string> socket_path;
    /// The ACL user for AUTH. AUTH is sent on connect when a password is set:
    /// `AUTH username password` with a username, `AUTH password` without.
    std::optional<std::string> username;
    /// The password for AUTH; none: no AUTH.
    std::optional<std::string> password;
    /// The database index, SELECTed on connect when not 0.
    std::uint32_t database = 0;
    /// The protocol to speak. resp3 sends `HELLO 3` on connect, with AUTH and SETNAME folded in
    /// (Redis 6 or later); resp2 sends AUTH and CLIENT SETNAME as separate commands.
    RespVersion protocol = RespVersion::resp2;
    /// The connection's name (CLIENT SETNAME, or HELLO's SETNAME), shown by CLIENT LIST; none: no name.
    std::optional<std::string> client_name;
};

/// Parses a `redis://`, `unix://` or `redis+unix://` URL (see the top of this header). Pure: any thread, no I/O.
/// @throws std::invalid_argument with a message that names the problem and quotes the URL
/// without its password.
ConnectionInfo parse_url(std::string_view url);

}  // namespace weft::redis
