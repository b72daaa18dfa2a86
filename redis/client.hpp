// weft::redis::Client: one connection to a Redis server, on weft's TCP or a Unix domain socket.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/runtime/net/detail/stream_socket.hpp>
#include <weft/runtime/net/tcp_stream.hpp>
#include <weft/runtime/task.hpp>
#include "detail/replies.hpp"
#include "errors.hpp"
#include "resp_encoder.hpp"
#include "resp_parser.hpp"
#include "url.hpp"
#include "value.hpp"

namespace weft::redis {

namespace detail {
class SubscriberLoop;
class DuplexIo;
}  // namespace detail

/// How a Client reads what the server sends; the defaults suit any server.
struct ClientOptions {
    /// Longest status or error line (`+...`, `-...`), and any other line. redis-server sends
    /// lines longer than 64 KiB (`redis.error_reply`, a Lua `error()` with a long message), so the
    /// default is as generous as the bulk limit; a longer line is a ProtocolError.
    std::size_t max_line_length = std::size_t{512} * 1024 * 1024;
    /// Longest bulk string (Redis's own proto-max-bulk-len default).
    std::size_t max_bulk_length = std::size_t{512} * 1024 * 1024;
    /// Turn TCP keepalive probes on (SO_KEEPALIVE), so a connection to a server that vanished
    /// without closing it (a dead host, a dropped NAT entry) eventually fails instead of waiting
    /// for ever; the kernel's timing applies (net.ipv4.tcp_keepalive_time). On by default, as
    /// redis-server's own tcp-keepalive. TCP only: a Unix socket's peer is on the same host, and
    /// its going away closes the connection.
    bool keepalive = true;
    /// Receives each RESP3 push message (`>`: Pub/Sub messages, client-tracking invalidations),
    /// on the task reading the connection, as it is parsed: pushes never count as a command's
    /// reply. Empty (the default): pushes are dropped. It must not block; an exception from it
    /// breaks the connection (the call in flight gets it).
    std::function<void(Value&&)> on_push;
};

/// One connection to a Redis server, on weft's TCP or a Unix domain socket.
///
///     Client client = co_await Client::connect("127.0.0.1", 6379);
///     // or: co_await Client::connect("unix:///run/redis/redis.sock?db=2")   (a Unix socket)
///     // or: co_await Client::connect("redis://user:password@host:6379/2")   (AUTH and SELECT)
///     // or: co_await Client::connect("redis://host?protocol=resp3&client_name=app")   (HELLO 3)
///     co_await client.set("greeting", "hello", 10s);              // SET greeting hello PX 10000
///     std::optional<std::string> v = co_await client.get("greeting");
///     std::int64_t n = co_await client.incr("visits");
///     Value reply = co_await client.command("HSET", "h", "field", 42);   // any command
///
/// One command at a time: a Client is one connection used by one task, each call awaited before
/// the next starts. To share one connection between many tasks, hand it to the manager actor
/// (redis/manager.hpp), which pipelines their commands, or guard it with a weft::Mutex. Await its
/// calls inside a task of the runtime it was connected on; it may move between tasks between calls.
///
/// Errors (all derive from weft::redis::Error, a std::system_error; see redis/errors.hpp):
/// - ServerError: the server answered with an error reply (its text kept: "WRONGTYPE ...").
///   The typed helpers (get, set, del, incr, ping) throw it. `command` does NOT: it returns the
///   error reply as a Value of kind error, like any other reply, so a caller that runs arbitrary
///   commands sees every reply; any accessor on that Value (as_string(), as_integer()...) throws
///   it as a ServerError, and `throw_if_error()` does so explicitly. A server error leaves the
///   connection usable.
/// - IoError: the connection failed. code() is the errno of the failed call (ECONNREFUSED,
///   ECONNRESET, EPIPE...), or Errc::connection_closed when the server closed the connection.
/// - ProtocolError: the server sent bytes that are not RESP (or a hostile length).
/// - std::invalid_argument: a bad URL (from connect, when awaited) or a non-positive SET expiry
///   (thrown by the call itself, before anything is sent).
/// - std::logic_error: misuse, thrown by the call itself: starting a command while another one
///   is still in flight on this Client.
/// - std::invalid_argument from `command` itself, before anything is sent, for a command that
///   does not answer with exactly one reply (SUBSCRIBE and its kin, MONITOR, CLIENT REPLY
///   OFF/SKIP) or that changes the protocol under the parser (HELLO, RESET): the replies after it
///   would go to the wrong calls.
///
/// Protocol: RESP2 by default; ConnectionInfo::protocol (or `?protocol=resp3`) sends HELLO 3 on
/// connect and parses RESP3 from then on (maps, sets, doubles, booleans...). RESP3 push messages
/// never count as a reply: they go to ClientOptions::on_push.
///
/// After an IoError or ProtocolError the connection is unusable: every later call fails at once
/// with the same error (is_broken() says so), without touching the socket. Errors that are not
/// the connection's (RuntimeShutdownError, std::bad_alloc) also break it and propagate as they are.
///
/// Cancellation: a call may be cancelled where it waits (its task aborted, or a weft::timeout
/// around it expired). Cancelled before any byte was sent, nothing happened. Cancelled while
/// waiting for its reply, the command was sent and may take effect; the reply is read and dropped
/// by the next call, so the connection stays in step. Cancelled halfway through writing the
/// command, the stream is beyond repair: the Client is broken (IoError, ECANCELED). So the calls
/// are cancellation-safe for the connection, not for the command's effect.
///
/// Cost: each call encodes its command into a buffer the Client reuses, writes it with as few
/// system calls as the socket allows, and parses the reply straight out of the parser's receive
/// buffer (the stream's read into RespParser::prepare): no allocation per command beyond the
/// coroutine frame and the reply's Value.
class Client {
public:
    /// Connects to `host` (a name, resolved off the worker threads, or an address) on `port`.
    /// Suspends until connected; await inside a task. Cancelled, it closes the half-made connection.
    /// @throws IoError (ECONNREFUSED, a resolver error...) when awaited.
    static Task<Client> connect(std::string host, std::uint16_t port, ClientOptions options = {});
    /// Connects to the Unix domain socket at `path` (redis.conf's `unixsocket`). Suspends until
    /// connected; cancelled, it closes the half-made connection.
    /// @throws IoError when awaited: ENOENT (no socket at `path`), ECONNREFUSED (nobody listens
    /// there), EACCES (unixsocketperm), ENAMETOOLONG; the message names the path.
    static Task<Client> connect_unix(std::string path, ClientOptions options = {});
    /// Connects to a `redis://[[user]:password@]host[:port][/db]` URL, or a Unix socket's
    /// `unix:///path?db=N&password=PW` (redis/url.hpp), then sends
    /// AUTH if it has a password and SELECT if its database is not 0. The URL is copied: it need
    /// not outlive the call.
    /// @throws std::invalid_argument for a bad URL, IoError if the connection fails, ServerError if
    /// the server refuses AUTH (e.g. "WRONGPASS invalid username-password pair...") or SELECT; all
    /// when awaited.
    static Task<Client> connect(std::string_view url, ClientOptions options = {});
    /// Connects to `info.socket_path` if set, else to `info.host` and `info.port`, then logs in: with RESP3, one `HELLO 3 [AUTH user
    /// password] [SETNAME name]`; with RESP2, AUTH and CLIENT SETNAME as needed. Then SELECT if
    /// the database is not 0.
    /// @throws IoError, ServerError as connect(std::string_view), when awaited (a server older
    /// than Redis 6 refuses HELLO with a ServerError).
    static Task<Client> connect(ConnectionInfo info, ClientOptions options = {});

    /// Takes `other`'s connection. Not while a call is in flight on `other`.
    Client(Client&&) noexcept = default;
    /// Closes this connection and takes `other`'s. Not while a call is in flight on either.
    Client& operator=(Client&&) noexcept = default;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client() = default;

    // ---- commands ---------------------------------------------------------------------------
    // Each suspends until the reply has arrived. The arguments are encoded by the call itself,
    // so they need not outlive it.

    /// Any command: `command("SET", key, value)`, numbers sent as decimal text. Yields the reply,
    /// an error reply included (see the class). Await it before making the next call.
    /// @throws std::logic_error from the call if another call is in flight, or when awaited if a
    /// later call was made first; IoError or ProtocolError (breaking the Client) when awaited.
    template <CommandArg... Args>
        requires(sizeof...(Args) > 0)
    Task<Value> command(const Args&... args) {
        const std::uint64_t generation = begin_command();
        encode_command(out_, args...);
        refuse_unpaired();
        return exchange(generation, detail::AsValue{});
    }
    /// Any command given as a range of arguments, its name first (a std::vector<std::string>...).
    /// @throws std::invalid_argument from the call for an empty range; otherwise as command(const Args&...).
    template <std::ranges::forward_range R>
        requires CommandArg<std::ranges::range_value_t<R>> && (!CommandArg<R>)
    Task<Value> command(const R& args) {
        const std::uint64_t generation = begin_command();
        encode_command(out_, args);
        refuse_unpaired();
        return exchange(generation, detail::AsValue{});
    }

    /// GET key: the value, or std::nullopt if the key does not exist.
    /// @throws ServerError if the key holds another type (WRONGTYPE); otherwise as command(const Args&...).
    Task<std::optional<std::string>> get(std::string_view key) {
        const std::uint64_t generation = begin_command();
        encode_command(out_, "GET", key);
        return exchange(generation, detail::AsOptionalString{});
    }
    /// SET key value, with an expiry if given (sent as PX milliseconds).
    /// @throws std::invalid_argument from the call for an expiry that is not positive; ServerError
    /// for an error reply; otherwise as command(const Args&...).
    Task<void> set(std::string_view key, std::string_view value,
                   std::optional<std::chrono::milliseconds> expiry = std::nullopt) {
        const std::uint64_t generation = begin_command();
        detail::encode_set(out_, key, value, expiry);
        return exchange(generation, detail::AsOk{});
    }
    /// DEL key...: how many of the keys existed (and were removed).
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    template <CommandArg... Keys>
        requires(sizeof...(Keys) > 0)
    Task<std::int64_t> del(const Keys&... keys) {
        const std::uint64_t generation = begin_command();
        encode_command(out_, "DEL", keys...);
        return exchange(generation, detail::AsInteger{});
    }
    /// INCR key: the value after the increment (a missing key counts from 0).
    /// @throws ServerError if the value is not an integer ("ERR value is not an integer or out of
    /// range"); otherwise as command(const Args&...).
    Task<std::int64_t> incr(std::string_view key) {
        const std::uint64_t generation = begin_command();
        encode_command(out_, "INCR", key);
        return exchange(generation, detail::AsInteger{});
    }
    /// PING: "PONG".
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    Task<std::string> ping() {
        const std::uint64_t generation = begin_command();
        encode_command(out_, "PING");
        return exchange(generation, detail::AsString{});
    }

    // ---- pipelining (what the manager actor is built on) ------------------------------------
    // Many commands encoded into one buffer (encode_command) go out in one write; their replies
    // come back in the same order. Do not interleave these with the calls above while replies
    // are outstanding: the calls above read the next reply as theirs.

    /// Writes `encoded` whole. Suspends while the socket has no room. `encoded` is not copied: it
    /// must outlive the await. Cancelled before any byte went, nothing happened; cancelled
    /// halfway, the Client is broken (see the class).
    /// @throws IoError (breaking the Client), or the error that broke it earlier.
    Task<void> write_commands(std::string_view encoded);
    /// Reads the next `count` replies in order, calling `on_reply(Value&&)` for each as soon as it
    /// has been parsed (so early replies are handed on while later ones are still arriving).
    /// Suspends while replies are missing. Cancellation-safe: cancelled, it leaves the replies not
    /// yet handed on to the next read.
    /// @throws IoError or ProtocolError (breaking the Client); the replies handed on so far stay
    /// handed on. An exception from `on_reply` propagates and leaves the connection usable.
    template <class OnReply>
        requires std::invocable<OnReply&, Value&&>
    Task<void> read_replies(std::size_t count, OnReply on_reply);

    /// For an actor that waits for the server and for something else at once (in weft::select,
    /// as the manager does between batches on RESP3): a read of whatever the server sends next,
    /// into the Client's buffer. Yields the byte count, for take_received(). Cancellation-safe:
    /// no byte moves unless it completes. Only while no call is in flight.
    net::detail::StreamSocket::ReadAwaiter read_some() {
        throw_if_broken();
        return stream_.read(receive_space());
    }
    /// Takes `n` bytes that read_some() yielded: the push messages among them go to on_push (the
    /// replies of cancelled calls are dropped).
    /// @throws IoError at end of stream; ProtocolError for bytes that are not RESP or for a reply
    /// no call waits for; either breaks the Client.
    void take_received(std::size_t n);

    // ---- state ------------------------------------------------------------------------------

    /// True after an IoError or ProtocolError (or close()): every call now throws failure().
    bool is_broken() const noexcept { return failure_ != nullptr; }
    /// The error that broke the connection, or null.
    std::exception_ptr failure() const noexcept { return failure_; }
    /// "host:port" of the server, as connected to ("[::1]:6379" for IPv6), or its Unix socket's path.
    const std::string& peer() const noexcept { return peer_; }
    /// Closes the connection; later calls fail with IoError (ECANCELED). Must not be called while
    /// a call is in flight on this Client (use it from the task that owns it).
    void close() noexcept;
    /// The connection's socket descriptor (a TCP or a Unix stream), for diagnostics and socket
    /// options (getsockopt); it stays owned by the Client.
    int native_handle() const noexcept { return stream_.native_handle(); }
    /// The protocol replies are parsed as: resp3 once HELLO 3 succeeded.
    RespVersion protocol() const noexcept { return parser_.version(); }

private:
    friend class detail::SubscriberLoop;  // takes the replies read_some() brought, in a select of its own
    friend class detail::DuplexIo;        // the manager: writes and reads at once, in a select of its own
    // How far a call got, for its cancellation (see the class comment).
    enum class Phase : std::uint8_t { not_sent, partly_sent, awaiting_reply };
    class InFlight;

    Client(net::detail::StreamSocket stream, std::string peer, ClientOptions options);
    static Task<Client> connect_url(std::string url, ClientOptions options);
    // Sends the login commands `info` asks for (HELLO 3 or AUTH + CLIENT SETNAME, then SELECT).
    Task<void> log_in(const ConnectionInfo& info);
    // Throws (std::invalid_argument) if out_ holds a command refuse_unpaired_command refuses;
    // out_ is cleared first, so nothing half-made is left behind.
    void refuse_unpaired() {
        try {
            detail::refuse_unpaired_command(out_);
        } catch (...) {
            out_.clear();
            throw;
        }
    }

    // Starts a command: checks no other is in flight, clears out_, and numbers the command so
    // the task it returns can tell it is still the latest one.
    std::uint64_t begin_command();
    template <class Convert>
    Task<std::invoke_result_t<Convert&, Value&&>> exchange(std::uint64_t generation, Convert convert);

    // The next reply not owed to a cancelled call, if the parser has a complete one.
    std::optional<Value> next_reply();
    // Where to read into, and how many bytes arrived (0: end of stream, which throws).
    std::span<char> receive_space() { return parser_.prepare(kReadChunk); }
    void received(std::size_t n);
    // Records the error that broke the connection (an I/O error from the socket layer becomes
    // an IoError naming what we were doing) and throws it.
    [[noreturn]] void fail(std::exception_ptr error, const char* doing);
    void throw_if_broken() const {
        if (failure_) std::rethrow_exception(failure_);
    }

    static constexpr std::size_t kReadChunk = 16 * 1024;

    // The stream half of the TcpStream or UnixStream connected to: both are this base plus how
    // they connect (TCP's options are set before it is stored), so the calls are the same direct,
    // inlined ones on either transport, with no variant to dispatch on.
    net::detail::StreamSocket stream_;
    RespParser parser_;
    std::string out_;             // the command being sent; reused, so it stops allocating
    std::string peer_;            // "host:port", for messages
    std::exception_ptr failure_;  // set once the connection is unusable
    std::function<void(Value&&)> on_push_;  // RESP3 pushes go here, never to a call
    std::uint64_t generation_ = 0;  // commands started (see begin_command)
    std::uint64_t owed_replies_ = 0;  // replies of cancelled calls, dropped by the next read
    bool busy_ = false;           // a call is in flight
};

/// @cond
// Marks a call in flight for its lifetime; if the call's frame is destroyed before it finished
// (cancelled), records what that means for the connection (see the class comment).
class Client::InFlight {
public:
    InFlight(Client& client, std::uint64_t generation);
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    ~InFlight();

    void set_phase(Phase phase) noexcept { phase_ = phase; }
    void finish() noexcept {
        finished_ = true;
        client_.busy_ = false;
    }
    [[noreturn]] void fail(std::exception_ptr error, const char* doing) {
        finished_ = true;
        client_.busy_ = false;
        client_.fail(std::move(error), doing);
    }

private:
    Client& client_;
    Phase phase_ = Phase::not_sent;
    bool finished_ = false;
};
/// @endcond

template <class Convert>
Task<std::invoke_result_t<Convert&, Value&&>> Client::exchange(std::uint64_t generation, Convert convert) {
    InFlight flight(*this, generation);
    std::optional<Value> reply;
    const char* doing = "writing to";
    try {
        for (std::size_t written = 0; written < out_.size();) {
            written += co_await stream_.write(std::string_view(out_).substr(written));
            flight.set_phase(Phase::partly_sent);
        }
        flight.set_phase(Phase::awaiting_reply);
        doing = "reading from";
        for (;;) {
            reply = next_reply();
            if (reply) break;
            const std::size_t n = co_await stream_.read(receive_space());
            received(n);
        }
    } catch (...) {
        flight.fail(std::current_exception(), doing);
    }
    flight.finish();
    co_return convert(std::move(*reply));
}

template <class OnReply>
    requires std::invocable<OnReply&, Value&&>
Task<void> Client::read_replies(std::size_t count, OnReply on_reply) {
    throw_if_broken();
    for (std::size_t handed = 0; handed < count;) {
        std::optional<Value> reply;
        try {
            reply = next_reply();
            if (!reply) {
                const std::size_t n = co_await stream_.read(receive_space());
                received(n);
            }
        } catch (...) {
            fail(std::current_exception(), "reading from");
        }
        if (reply) {
            ++handed;
            on_reply(std::move(*reply));
        }
    }
}

}  // namespace weft::redis
