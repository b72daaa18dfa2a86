// The manager actor: one task owns one Redis connection; any number of tasks talk to Redis through
// cheap copies of its handle (see weft::redis::Manager).
//
// How it works (Tokio's tutorial pattern, made full duplex as redis-rs's multiplexed connection
// and boost.redis are). A call encodes its command, makes a oneshot channel and sends {command,
// oneshot sender} over a bounded mpsc channel (suspending while it is full: that is the
// backpressure), then awaits the oneshot. The manager task keeps the requests written and not yet
// answered in order (in flight) and, in one weft::select, races three things:
//   write   the bytes of the requests taken in but not yet written (one write for a whole batch)
//   read    replies: each answers the oldest request in flight, as soon as it is parsed
//   take    recv_many: every command queued right now, up to max_batch, while fewer than
//           max_in_flight requests are in flight
// So the next batch goes out while the previous batch's replies are still due: the server always
// has work, and replies reach their callers as they arrive instead of after the whole batch. (The
// lock-step design before it, write a batch then read all its replies, left redis-server idle
// while weft answered a batch and weft idle while the server worked.) One task, not a reader and
// a writer: the in-flight queue needs no synchronisation, and a failure is seen in one place.
// max_in_flight bounds the memory it holds: once reached, the manager stops taking commands and
// callers wait in the channel. After answering several callers it yields once, so they run and
// queue their next commands before it takes more (one write for all of them, not one each).
// ManagerOptions::Mode::sequential keeps one request in flight: write it, read its reply, then
// the next (the W6 benchmark's comparison).
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/errors.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/task.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>
#include "batch.hpp"
#include "client.hpp"
#include "detail/replies.hpp"
#include "errors.hpp"
#include "resp_encoder.hpp"
#include "value.hpp"

namespace weft::redis {

/// How the manager task sends commands; see spawn_manager().
struct ManagerOptions {
    /// How commands go over the connection.
    enum class Mode : std::uint8_t {
        pipelined,   ///< Take every queued command, write them in one buffer while earlier replies are still read (full duplex).
        sequential,  ///< Write one command, read its reply, then the next.
    };
    /// Pipelined (the default) or one command at a time.
    Mode mode = Mode::pipelined;
    /// Most commands taken from the channel (and written) in one go. Must be at least 1.
    std::size_t max_batch = 512;
    /// Most requests written (or being written) whose replies are still due: the bound on what
    /// the manager holds while the server works. Once it is reached the manager stops taking
    /// commands from the channel (callers queue there, then suspend) until replies come back.
    /// 0 (the default): four times max_batch. Sequential mode always holds one.
    std::size_t max_in_flight = 0;
    /// Reconnect after the connection fails, for a manager made by connect_manager (which knows
    /// where to; spawn_manager refuses it). Off by default, so a failure reaches every caller at
    /// once and stays (see Manager). On: the commands in flight get the error, the queued ones
    /// and later ones wait for the new connection (status() is reconnecting meanwhile).
    bool reconnect = false;
    /// First wait before reconnecting; doubled after each failed attempt up to max_backoff, each
    /// wait jittered down to half.
    std::chrono::milliseconds min_backoff{50};
    /// Longest wait between two attempts.
    std::chrono::milliseconds max_backoff{5'000};
    /// Longest wait for one reconnect attempt (connect and log in).
    std::chrono::milliseconds connect_timeout{5'000};
};

/// Where a manager's connection is (Manager::status()).
enum class ManagerStatus : std::uint8_t {
    connected,     ///< Commands go out as they come.
    reconnecting,  ///< The connection failed; queued commands wait for the next one.
    failed,        ///< The connection failed for good (reconnect off): every call throws failure().
};

namespace detail {

// The manager's answer: the reply, or the error that failed the connection.
struct ManagerOutcome {
    explicit ManagerOutcome(Value v) noexcept : value(std::move(v)) {}
    explicit ManagerOutcome(std::exception_ptr e) noexcept : error(std::move(e)) {}
    Value value;  // nil for a request without a reply (a RESP3 SUBSCRIBE)
    std::exception_ptr error;
};

// One command's RESP bytes, stored inline when short (a GET or SET of short keys and values is
// well under kInline bytes), so a call costs no allocation for them; longer ones go to the heap.
class EncodedCommand {
public:
    static constexpr std::size_t kInline = 112;

    explicit EncodedCommand(std::string_view bytes) : size_(bytes.size()) {
        char* to = inline_;
        if (size_ > kInline) {
            heap_ = std::make_unique<char[]>(size_);
            to = heap_.get();
        }
        std::memcpy(to, bytes.data(), size_);
    }
    EncodedCommand(EncodedCommand&& other) noexcept : size_(other.size_), heap_(std::move(other.heap_)) {
        if (!heap_) std::memcpy(inline_, other.inline_, size_);
    }
    EncodedCommand& operator=(EncodedCommand&& other) noexcept {
        if (this != &other) {
            size_ = other.size_;
            heap_ = std::move(other.heap_);
            if (!heap_) std::memcpy(inline_, other.inline_, size_);
        }
        return *this;
    }
    EncodedCommand(const EncodedCommand&) = delete;

    std::string_view view() const noexcept { return {heap_ ? heap_.get() : inline_, size_}; }

private:
    std::size_t size_;
    std::unique_ptr<char[]> heap_;
    char inline_[kInline];
};

// The calling thread's buffer to encode a command into before it is copied into an
// EncodedCommand: it stops allocating once it has grown to the longest command encoded. One that
// grew past 64 KiB (a large value) is given back on the next call rather than kept for good.
inline std::string& encode_buffer() {
    thread_local std::string buffer;
    if (buffer.capacity() > 64 * 1024) buffer = std::string();
    buffer.clear();
    return buffer;
}

// One queued command, or several sent as one unit (Manager::pipeline, transaction). A
// constructor, not an aggregate: g++ 12 miscompiles aggregate temporaries in a co_await operand
// (see README).
class ManagerRequest {
public:
    ManagerRequest(EncodedCommand encoded, oneshot::Sender<ManagerOutcome> reply, std::size_t replies) noexcept
        : encoded(std::move(encoded)), reply(std::move(reply)), replies(replies) {}
    EncodedCommand encoded;  // the command(s), RESP-encoded by the caller
    oneshot::Sender<ManagerOutcome> reply;
    std::size_t replies;  // 1: the reply itself is the answer; more: they are answered as one array
};

// What the manager tells every handle: whether the connection failed, and with which error.
//
// Protocol: only the manager writes, once: it stores `failure_`, then sets `failed_` with a
// release store, before it closes the channel. A handle that loads `failed_` true (acquire, pairs
// with that store) may read `failure_`, which never changes again. A handle that loads false
// sends its command; if the manager failed meanwhile, the closed channel or the error answer
// tells it, so nothing depends on seeing the flag early.
//
// A reconnecting manager never fails for good; it only moves between connected and reconnecting,
// a relaxed flag that is a report, not a synchronisation.
class ManagerState {
public:
    explicit ManagerState(bool resp3) noexcept : resp3_(resp3) {}
    // Whether the connection speaks RESP3 (push-based Pub/Sub); a reconnect keeps the protocol.
    bool resp3() const noexcept { return resp3_; }
    void fail(std::exception_ptr error) noexcept {
        failure_ = std::move(error);
        failed_.store(true, std::memory_order_release);  // publishes failure_ (see above)
    }
    std::exception_ptr failure() const noexcept {
        // acquire: pairs with the release store in fail(), so failure_ is complete.
        return failed_.load(std::memory_order_acquire) ? failure_ : nullptr;
    }
    void set_reconnecting(bool reconnecting) noexcept { reconnecting_.store(reconnecting, std::memory_order_relaxed); }
    ManagerStatus status() const noexcept {
        if (failed_.load(std::memory_order_relaxed)) return ManagerStatus::failed;
        return reconnecting_.load(std::memory_order_relaxed) ? ManagerStatus::reconnecting : ManagerStatus::connected;
    }

private:
    std::exception_ptr failure_;
    std::atomic<bool> failed_{false};
    std::atomic<bool> reconnecting_{false};
    const bool resp3_;
};

// Where a reconnecting manager connects again.
struct ManagerReconnect {
    ConnectionInfo info;
    ClientOptions client;
};

// The manager task's body (see the top of this header and weft::redis::Manager).
Task<void> run_manager(Client client, mpsc::Receiver<ManagerRequest> commands, std::shared_ptr<ManagerState> state,
                       ManagerOptions options, std::optional<ManagerReconnect> reconnect);

// MULTI's +OK, a QUEUED per command, EXEC's array: EXEC's replies, or the error that aborted it.
std::vector<Value> exec_replies(Value&& all);

// The error a call gets when the manager is gone: its failure, or "stopped" if it did not fail.
[[noreturn]] void throw_manager_gone(const ManagerState& state);

}  // namespace detail

struct SpawnedManager;
class Manager;

namespace detail {
// The cluster client's way in (cluster.cpp): sends an already encoded command, or several as one
// unit, as Manager's own calls do.
struct ManagerAccess;
// spawn_manager and connect_manager: checks the options, makes the channel, spawns the task.
SpawnedManager start_manager(Client client, std::size_t capacity, ManagerOptions options,
                             std::optional<ManagerReconnect> reconnect);
}  // namespace detail

/// A handle on the manager actor: one task owns one Redis connection; any number of tasks talk
/// to Redis through cheap copies of this handle, and their commands are pipelined onto that one
/// connection. Every call sends one command to the manager task and suspends until its reply (or
/// the connection's failure) comes back.
///
///     Client client = co_await Client::connect("127.0.0.1", 6379);
///     auto [redis, manager_task] = weft::redis::spawn_manager(std::move(client), 128);
///     weft::spawn([](Manager redis) -> Task<void> {        // a copy per task
///         co_await redis.set("foo", "bar");
///         std::optional<std::string> v = co_await redis.get("foo");
///     }(redis));
///     ...                                                   // drop every handle:
///     co_await manager_task;                                // the manager ends once they are gone
///
/// Failure: if the connection fails (an I/O error, a protocol error, the server closing it), the
/// error goes to every command in flight and to every command still queued; the channel is closed,
/// and from then on every call fails at once with the same error (is_failed()): no caller ever
/// hangs. The manager task then ends normally. A server error reply is not a failure: it goes to
/// its caller only.
///
/// Cancellation: a caller that gives up (its task aborted, its timeout expired) costs the manager
/// nothing but reading the reply: the command is still sent (it may already be on the wire), its
/// reply is read in order and dropped, and the callers after it get their own replies. So the
/// calls are cancellation-safe for the connection and the other callers, not for the command's
/// effect. A call abandoned while it waits for room in the channel has sent nothing.
///
/// Errors from the calls are the Client's (redis/client.hpp): ServerError from the typed helpers
/// (command() returns error replies as a Value), IoError or ProtocolError when the connection
/// failed; besides, weft::TimeoutError when a handle's timeout (with_timeout) expired, and IoError
/// with std::errc::operation_canceled when the manager task is gone without having failed (it was
/// aborted, or the runtime shut down). A call's arguments are encoded (copied) by the call
/// itself: they need not outlive it.
///
/// Threads: await the calls inside tasks of a weft runtime. Copy one handle per task; copying is
/// two atomic increments. A handle may be shared by reference between tasks too (the calls are
/// const: a `const Manager&` will do) as long as it outlives their awaits.
///
/// What the connection accepts (line and bulk limits, RESP3 and its push messages) is the
/// Client's, set by ClientOptions and ConnectionInfo when it was connected. `command` refuses, from
/// the call, the commands that do not answer with exactly one reply (SUBSCRIBE, MONITOR, CLIENT
/// REPLY OFF...; see Client::command): on a shared connection they would hand every later reply
/// to the wrong caller.
class Manager {
public:
    /// Any command; yields its reply, an error reply included (as Client::command does).
    /// @throws IoError, ProtocolError or TimeoutError when awaited (see the class).
    template <CommandArg... Args>
        requires(sizeof...(Args) > 0)
    Task<Value> command(const Args&... args) const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, args...);
        detail::refuse_unpaired_command(encoded);
        return call(detail::EncodedCommand(encoded), detail::AsValue{});
    }
    /// The batch's commands back to back, with no other caller's command between them (one
    /// write, one unit in the channel); yields their replies in order, error replies included as
    /// values. Not atomic on the server: other connections' commands may run between them (use
    /// transaction()). An empty batch yields no replies at once.
    /// @throws IoError, ProtocolError or TimeoutError when awaited (see the class).
    Task<std::vector<Value>> pipeline(const Batch& batch) const {
        if (batch.empty()) return no_replies();
        return call(detail::EncodedCommand(batch.encoded()), detail::AsArrayElements{}, batch.size());
    }
    /// MULTI, the batch's commands, EXEC, as one unit: they run atomically on the server. Yields
    /// EXEC's replies (a command that failed while running gives its error reply as a value, as
    /// Redis does).
    /// @throws ServerError if Redis refused to queue a command (the transaction was discarded:
    /// the first refusal, e.g. "ERR wrong number of arguments"), UnexpectedReplyError if EXEC
    /// was aborted (a WATCHed key changed); otherwise as command(const Args&...).
    Task<std::vector<Value>> transaction(const Batch& batch) const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, "MULTI");
        encoded += batch.encoded();
        encode_command(encoded, "EXEC");
        return call(detail::EncodedCommand(encoded), &detail::exec_replies, batch.size() + 2);
    }
    /// RESP3 Pub/Sub on the shared connection: SUBSCRIBE to `channels`. On RESP3 these commands
    /// have no reply: their confirmations and then the messages arrive as push messages, which go
    /// to the ClientOptions::on_push the connection was made with (forward them to a weft
    /// channel), never to a caller. Completes once the command was written and every reply
    /// before it read. psubscribe, ssubscribe and the unsubscribes work the same way; an
    /// unsubscribe with no channels drops them all.
    /// @throws std::logic_error from the call on a RESP2 connection (there a subscription takes
    /// the whole connection: use a Subscriber); std::invalid_argument from the call for no
    /// channels to subscribe to; otherwise as command(const Args&...).
    Task<void> subscribe(const std::vector<std::string>& channels) const {
        return push_subscription("SUBSCRIBE", channels, true);
    }
    /// As subscribe(), for glob-style patterns (PSUBSCRIBE).
    Task<void> psubscribe(const std::vector<std::string>& patterns) const {
        return push_subscription("PSUBSCRIBE", patterns, true);
    }
    /// As subscribe(), for shard channels (SSUBSCRIBE).
    Task<void> ssubscribe(const std::vector<std::string>& channels) const {
        return push_subscription("SSUBSCRIBE", channels, true);
    }
    /// UNSUBSCRIBE the channels, or all of them for an empty list; see subscribe().
    Task<void> unsubscribe(const std::vector<std::string>& channels = {}) const {
        return push_subscription("UNSUBSCRIBE", channels, false);
    }
    /// PUNSUBSCRIBE the patterns, or all of them for an empty list; see subscribe().
    Task<void> punsubscribe(const std::vector<std::string>& patterns = {}) const {
        return push_subscription("PUNSUBSCRIBE", patterns, false);
    }
    /// SUNSUBSCRIBE the shard channels, or all of them for an empty list; see subscribe().
    Task<void> sunsubscribe(const std::vector<std::string>& channels = {}) const {
        return push_subscription("SUNSUBSCRIBE", channels, false);
    }

    /// Any command given as a range of arguments, its name first.
    /// @throws std::invalid_argument from the call for an empty range; otherwise as command(const Args&...).
    template <std::ranges::forward_range R>
        requires CommandArg<std::ranges::range_value_t<R>> && (!CommandArg<R>)
    Task<Value> command(const R& args) const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, args);
        detail::refuse_unpaired_command(encoded);
        return call(detail::EncodedCommand(encoded), detail::AsValue{});
    }
    /// As Client::get: the value, or std::nullopt if the key does not exist.
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    Task<std::optional<std::string>> get(std::string_view key) const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, "GET", key);
        return call(detail::EncodedCommand(encoded), detail::AsOptionalString{});
    }
    /// As Client::set.
    /// @throws std::invalid_argument from the call for an expiry that is not positive; ServerError
    /// for an error reply; otherwise as command(const Args&...).
    Task<void> set(std::string_view key, std::string_view value,
                   std::optional<std::chrono::milliseconds> expiry = std::nullopt) const {
        std::string& encoded = detail::encode_buffer();
        detail::encode_set(encoded, key, value, expiry);
        return call(detail::EncodedCommand(encoded), detail::AsOk{});
    }
    /// As Client::del: how many of the keys existed.
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    template <CommandArg... Keys>
        requires(sizeof...(Keys) > 0)
    Task<std::int64_t> del(const Keys&... keys) const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, "DEL", keys...);
        return call(detail::EncodedCommand(encoded), detail::AsInteger{});
    }
    /// As Client::incr: the value after the increment.
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    Task<std::int64_t> incr(std::string_view key) const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, "INCR", key);
        return call(detail::EncodedCommand(encoded), detail::AsInteger{});
    }
    /// As Client::ping: "PONG".
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    Task<std::string> ping() const {
        std::string& encoded = detail::encode_buffer();
        encode_command(encoded, "PING");
        return call(detail::EncodedCommand(encoded), detail::AsString{});
    }

    /// A copy of this handle whose calls give up after `limit`, counted from the call: waiting
    /// for room in the channel and waiting for the reply both count. A call that gives up throws
    /// weft::TimeoutError; its command may still run on the server (it may already have been
    /// sent), and the manager drops its reply when it arrives.
    /// @throws std::invalid_argument if `limit` is not positive.
    Manager with_timeout(Clock::duration limit) const {
        if (limit <= Clock::duration::zero()) throw std::invalid_argument("weft::redis: a timeout must be positive");
        Manager copy(*this);
        copy.timeout_ = limit;
        return copy;
    }
    /// A copy of this handle without a timeout.
    Manager without_timeout() const {
        Manager copy(*this);
        copy.timeout_.reset();
        return copy;
    }
    /// This handle's timeout, if it has one.
    std::optional<Clock::duration> timeout() const noexcept { return timeout_; }

    /// True once the connection failed for good: every call now throws failure(). From any thread.
    bool is_failed() const noexcept { return state_->failure() != nullptr; }
    /// Connected, reconnecting (ManagerOptions::reconnect), or failed for good. From any thread.
    ManagerStatus status() const noexcept { return state_->status(); }
    /// The error that failed the connection, or null. From any thread.
    std::exception_ptr failure() const noexcept { return state_->failure(); }

private:
    friend struct detail::ManagerAccess;
    friend SpawnedManager detail::start_manager(Client client, std::size_t capacity, ManagerOptions options,
                                                std::optional<detail::ManagerReconnect> reconnect);
    Manager(mpsc::Sender<detail::ManagerRequest> tx, std::shared_ptr<detail::ManagerState> state) noexcept
        : tx_(std::move(tx)), state_(std::move(state)) {}

    template <class Convert>
    Task<std::invoke_result_t<Convert&, Value&&>> call(detail::EncodedCommand encoded, Convert convert,
                                                        std::size_t replies = 1) const;
    static Task<std::vector<Value>> no_replies() { co_return std::vector<Value>(); }
    // A request without a reply (see subscribe()); checks, encodes, and queues it.
    Task<void> push_subscription(std::string_view name, const std::vector<std::string>& channels,
                                 bool needs_channels) const {
        if (!state_->resp3())
            throw std::logic_error("weft::redis: Manager pub/sub needs a RESP3 connection (?protocol=resp3); on RESP2 a "
                                   "subscription takes the whole connection: use a Subscriber");
        if (needs_channels && channels.empty()) throw std::invalid_argument("weft::redis: subscribing to no channels");
        std::string& encoded = detail::encode_buffer();
        std::vector<std::string_view> args{name};
        args.insert(args.end(), channels.begin(), channels.end());
        encode_command(encoded, args);
        return call(detail::EncodedCommand(encoded), detail::Ignore{}, 0);
    }

    mpsc::Sender<detail::ManagerRequest> tx_;
    std::shared_ptr<detail::ManagerState> state_;
    std::optional<Clock::duration> timeout_;
};

/// What spawn_manager returns: the first handle, and the manager task. The task ends once every
/// handle is gone and every queued command was answered (or once the connection failed and every
/// queued command got the error); awaiting it never throws but for JoinError (aborted).
struct SpawnedManager {
    Manager manager;        ///< The first handle; copy it for each task.
    JoinHandle<void> task;  ///< The manager task.
};

/// Spawns the manager task on the current runtime; it takes ownership of `client`, which must
/// not have a call in flight. `capacity`: how many commands may wait in the channel before callers
/// suspend. Call from inside a task of a runtime (or a spawn_blocking function).
/// @throws std::invalid_argument if `capacity` or `options.max_batch` is 0.
/// @throws std::logic_error on a thread that belongs to no runtime; RuntimeShutdownError once the
/// runtime is shutting down.
SpawnedManager spawn_manager(Client client, std::size_t capacity, ManagerOptions options = {});

/// Connects (as Client::connect) and spawns the manager on it; with ManagerOptions::reconnect,
/// the manager connects to `info` again, the same way, after a failure.
/// @throws as Client::connect and spawn_manager, when awaited.
Task<SpawnedManager> connect_manager(ConnectionInfo info, std::size_t capacity, ManagerOptions options = {},
                                     ClientOptions client = {});
/// As connect_manager(ConnectionInfo...), to a `redis://` or `unix://` URL (redis/url.hpp).
Task<SpawnedManager> connect_manager(std::string_view url, std::size_t capacity, ManagerOptions options = {},
                                     ClientOptions client = {});

template <class Convert>
Task<std::invoke_result_t<Convert&, Value&&>> Manager::call(detail::EncodedCommand encoded, Convert convert,
                                                             std::size_t replies) const {
    if (std::exception_ptr failed = state_->failure()) std::rethrow_exception(failed);  // fail fast
    auto [reply_tx, reply_rx] = oneshot::channel<detail::ManagerOutcome>();
    detail::ManagerRequest request(std::move(encoded), std::move(reply_tx), replies);
    std::optional<detail::ManagerOutcome> outcome;
    bool sender_dropped = false;
    if (!timeout_) {
        SendResult<detail::ManagerRequest> sent = co_await tx_.send(std::move(request));
        if (!sent) detail::throw_manager_gone(*state_);
        try {
            outcome.emplace(co_await reply_rx);
        } catch (const oneshot::RecvError&) {
            sender_dropped = true;  // the manager's frame was destroyed with our command in it
        }
    } else {
        const Clock::time_point deadline = Clock::now() + *timeout_;
        TimeoutResult<SendResult<detail::ManagerRequest>> sent =
            co_await weft::timeout_at(deadline, tx_.send(std::move(request)));
        if (sent.timed_out()) throw TimeoutError();
        if (!*sent) detail::throw_manager_gone(*state_);
        std::optional<TimeoutResult<detail::ManagerOutcome>> got;
        try {
            got.emplace(co_await weft::timeout_at(deadline, reply_rx));
        } catch (const oneshot::RecvError&) {
            sender_dropped = true;
        }
        if (got && got->timed_out()) throw TimeoutError();
        if (got) outcome.emplace(std::move(**got));
    }
    if (sender_dropped || !outcome) detail::throw_manager_gone(*state_);
    if (outcome->error) std::rethrow_exception(outcome->error);
    co_return convert(std::move(outcome->value));
}

}  // namespace weft::redis
