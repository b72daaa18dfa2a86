#include "client.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <weft/runtime/net/unix_stream.hpp>

namespace weft::redis {

namespace {

std::string host_port(const std::string& host, std::uint16_t port) {
    // An IPv6 address gets brackets, so the port stays readable: [::1]:6379.
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

// Awaits `connecting`; a failure is an IoError naming `peer` (a redis::Error passes as it is).
template <class Stream>
Task<Stream> connected_or_io_error(Task<Stream> connecting, std::string peer) {
    std::error_code failed;
    std::optional<Stream> stream;
    try {
        stream.emplace(co_await std::move(connecting));
    } catch (const Error&) {
        throw;
    } catch (const std::system_error& e) {
        failed = e.code();
    }
    if (failed) throw IoError(failed, "weft::redis: connecting to " + peer);
    co_return std::move(*stream);
}

}  // namespace

namespace {
RespParserOptions parser_options(const ClientOptions& options) {
    RespParserOptions parser;
    parser.max_line_length = options.max_line_length;
    parser.max_bulk_length = options.max_bulk_length;
    return parser;
}
}  // namespace

Client::Client(net::detail::StreamSocket stream, std::string peer, ClientOptions options)
    : stream_(std::move(stream)),
      parser_(parser_options(options)),
      peer_(std::move(peer)),
      on_push_(std::move(options.on_push)) {}

Task<Client> Client::connect(std::string host, std::uint16_t port, ClientOptions options) {
    std::string peer = host_port(host, port);
    Task<net::TcpStream> connecting = connected_or_io_error(net::TcpStream::connect(std::move(host), port), peer);
    net::TcpStream stream = co_await std::move(connecting);
    if (options.keepalive) stream.set_keepalive(true);
    co_return Client(std::move(stream), std::move(peer), std::move(options));  // keeps the stream half
}

Task<Client> Client::connect_unix(std::string path, ClientOptions options) {
    std::string peer = path;
    Task<net::UnixStream> connecting = connected_or_io_error(net::UnixStream::connect(std::move(path)), peer);
    net::UnixStream stream = co_await std::move(connecting);
    co_return Client(std::move(stream), std::move(peer), std::move(options));
}

Task<Client> Client::connect(std::string_view url, ClientOptions options) {
    // Copied into the coroutine: the task may be awaited after the caller's string is gone.
    return connect_url(std::string(url), std::move(options));
}

Task<Client> Client::connect_url(std::string url, ClientOptions options) {
    // Parsed here, inside the task, so a bad URL is thrown where the task is awaited.
    ConnectionInfo info = parse_url(url);
    Task<Client> connecting = connect(std::move(info), std::move(options));
    Client client = co_await connecting;
    co_return client;
}

Task<Client> Client::connect(ConnectionInfo info, ClientOptions options) {
    Task<Client> connecting = info.socket_path ? connect_unix(*info.socket_path, std::move(options))
                                               : connect(info.host, info.port, std::move(options));
    Client client = co_await connecting;
    Task<void> login = client.log_in(info);
    co_await login;
    co_return client;
}

Task<void> Client::log_in(const ConnectionInfo& info) {
    if (info.protocol == RespVersion::resp3) {
        // One round trip: HELLO 3 [AUTH user password] [SETNAME name]. The server answers it in
        // RESP3 already (a map), or with a RESP2-compatible error if it does not know HELLO.
        std::vector<std::string> hello{"HELLO", "3"};
        if (info.password) {
            hello.insert(hello.end(), {"AUTH", info.username.value_or("default"), *info.password});
        }
        if (info.client_name) hello.insert(hello.end(), {"SETNAME", *info.client_name});
        parser_.set_version(RespVersion::resp3);
        const std::uint64_t generation = begin_command();
        encode_command(out_, hello);
        Task<Value> exchanging = exchange(generation, detail::AsValue{});  // HELLO itself is refused by command()
        const Value reply = co_await exchanging;
        if (reply.is_error()) {
            parser_.set_version(RespVersion::resp2);
            reply.throw_if_error();
        }
    } else {
        // The AUTH task is chosen, then awaited: `co_await (c ? f() : g())` is miscompiled by
        // g++ 12 (README, Pitfalls).
        if (info.password) {
            Task<Value> auth = info.username ? command("AUTH", *info.username, *info.password)
                                             : command("AUTH", *info.password);
            const Value reply = co_await auth;
            reply.throw_if_error();
        }
        if (info.client_name) {
            const Value reply = co_await command("CLIENT", "SETNAME", *info.client_name);
            reply.throw_if_error();
        }
    }
    if (info.database != 0) {
        const Value reply = co_await command("SELECT", info.database);
        reply.throw_if_error();
    }
}

void Client::close() noexcept {
    stream_.close();
    if (!failure_) {
        failure_ = std::make_exception_ptr(IoError(std::make_error_code(std::errc::operation_canceled),
                                                   "weft::redis: the connection to " + peer_ + " was closed"));
    }
}

std::uint64_t Client::begin_command() {
    if (busy_)
        throw std::logic_error(
            "weft::redis::Client: a command was started while another is in flight on the same Client (await "
            "each call before the next; share a connection through the manager or a Mutex)");
    out_.clear();
    return ++generation_;
}

Client::InFlight::InFlight(Client& client, std::uint64_t generation) : client_(client) {
    if (client.busy_)
        throw std::logic_error("weft::redis::Client: a command was awaited while another is in flight");
    if (generation != client.generation_)
        throw std::logic_error(
            "weft::redis::Client: a command was awaited after a later one was started (each call must be awaited "
            "before the next call is made)");
    client.throw_if_broken();
    client.busy_ = true;
}

Client::InFlight::~InFlight() {
    if (finished_) return;
    // The call was cancelled where it waited.
    client_.busy_ = false;
    switch (phase_) {
        case Phase::not_sent: break;  // nothing reached the server
        case Phase::awaiting_reply: ++client_.owed_replies_; break;
        case Phase::partly_sent:
            if (!client_.failure_) {
                client_.failure_ = std::make_exception_ptr(IoError(
                    std::make_error_code(std::errc::operation_canceled),
                    "weft::redis: a command to " + client_.peer_ +
                        " was cancelled halfway through being written; the connection cannot be used"));
            }
            client_.stream_.close();
            break;
    }
}

Task<void> Client::write_commands(std::string_view encoded) {
    throw_if_broken();
    std::size_t written = 0;
    // Cancelled halfway through, the stream holds part of a command: nothing can follow it.
    struct PartialWriteGuard {
        Client& client;
        const std::size_t& written;
        std::size_t size;
        bool done = false;
        ~PartialWriteGuard() {
            if (done || written == 0 || written == size || client.failure_) return;
            client.failure_ = std::make_exception_ptr(
                IoError(std::make_error_code(std::errc::operation_canceled),
                        "weft::redis: a write to " + client.peer_ + " was cancelled halfway; the connection cannot be used"));
            client.stream_.close();
        }
    } guard{*this, written, encoded.size()};
    try {
        while (written < encoded.size()) written += co_await stream_.write(encoded.substr(written));
    } catch (...) {
        guard.done = true;
        fail(std::current_exception(), "writing to");
    }
    guard.done = true;
}

std::optional<Value> Client::next_reply() {
    for (;;) {
        std::optional<Value> reply = parser_.next();
        if (!reply) return reply;
        if (reply->kind() == Kind::push) {  // out of band: never a command's reply
            if (on_push_) on_push_(std::move(*reply));
            continue;
        }
        if (owed_replies_ == 0) return reply;
        --owed_replies_;  // the reply of a call that was cancelled while waiting for it
    }
}

void Client::received(std::size_t n) {
    if (n == 0) {
        parser_.check_end_of_stream();  // closed mid-reply, or a failed parser: its own error
        throw IoError(make_error_code(Errc::connection_closed),
                      "weft::redis: the server at " + peer_ + " closed the connection");
    }
    parser_.commit(n);
}

void Client::take_received(std::size_t n) {
    try {
        received(n);
        if (std::optional<Value> stray = next_reply())
            throw ProtocolError("weft::redis: the server at " + peer_ + " sent a reply no call waits for: " +
                                stray->to_string());
    } catch (...) {
        fail(std::current_exception(), "reading from");
    }
}

void Client::fail(std::exception_ptr error, const char* doing) {
    try {
        std::rethrow_exception(error);
    } catch (const Error&) {
        failure_ = error;  // ProtocolError, IoError: already ours
    } catch (const std::system_error& e) {
        failure_ = std::make_exception_ptr(IoError(e.code(), std::string("weft::redis: ") + doing + " " + peer_));
    } catch (...) {
        failure_ = error;  // RuntimeShutdownError, std::bad_alloc: the connection's state is unknown
    }
    stream_.close();
    std::rethrow_exception(failure_);
}

}  // namespace weft::redis
