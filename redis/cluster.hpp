// weft::redis::ClusterClient: one handle on a Redis Cluster. It keeps the cluster's slot map, runs
// one pipelining manager (redis/manager.hpp) per master, and sends each command to the master that
// owns its key's hash slot (redis/cluster_slot.hpp), following MOVED and ASK redirections.
//
//   std::vector<std::string> seeds{"127.0.0.1:7000", "127.0.0.1:7001"};   // bound first (g++ 12)
//   ClusterClient redis = co_await ClusterClient::connect(seeds);
//   co_await redis.set("{user1}.name", "ada");
//   Value both = co_await redis.command("MGET", "{user1}.name", "{user1}.mail");   // one slot
//
// How a call is routed, retried and failed is documented on the class.
#pragma once

#include <weft/runtime/detail/language_check.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/runtime/task.hpp>
#include "client.hpp"
#include "detail/replies.hpp"
#include "manager.hpp"
#include "resp_encoder.hpp"
#include "url.hpp"
#include "value.hpp"

namespace weft::redis {

/// How a ClusterClient connects, routes and retries.
struct ClusterOptions {
    /// Each master's manager: its channel capacity (commands queued before callers suspend).
    std::size_t capacity = 1024;
    /// Each master's manager. reconnect is off by default: a master's failure reaches its callers
    /// at once, and the next call for its slots connects again (see ClusterClient).
    ManagerOptions manager{};
    /// Each connection's limits and push handler.
    ClientOptions client{};
    /// Longest wait to connect to one node (a master's manager, or a node asked for the map).
    std::chrono::milliseconds connect_timeout{5'000};
    /// Most MOVED/ASK redirections one call follows; past them it yields the last error reply.
    std::size_t max_redirects = 16;
    /// Most times one call is sent while the cluster answers TRYAGAIN or CLUSTERDOWN; past them it
    /// yields that error reply.
    std::size_t max_attempts = 5;
    /// First wait before sending again after TRYAGAIN/CLUSTERDOWN; doubled after each, up to
    /// max_backoff, each jittered down to half (as the manager's reconnect backoff).
    std::chrono::milliseconds min_backoff{10};
    /// Longest wait between two attempts.
    std::chrono::milliseconds max_backoff{500};
};

namespace detail {

class ClusterState;

// The hash slot a command must go to, or nullopt for a command without keys (it may go to any
// master). `encoded` is one command as encode_command wrote it. Which arguments are keys comes
// from a small table (cluster.cpp): the first argument for most commands; every argument for DEL,
// EXISTS, MGET...; every other one for MSET; EVAL's numkeys...
// @throws std::invalid_argument (CROSSSLOT) if its keys hash to different slots.
std::optional<std::uint16_t> command_slot(std::string_view encoded);

}  // namespace detail

/// A handle on a Redis Cluster: a map of its 16384 hash slots to their masters, and one
/// pipelining manager per master. Copies are cheap (one atomic increment) and share everything;
/// the calls are const and may be awaited from many tasks at once, on any worker.
///
/// Routing: each call finds its command's key (a small table of where commands keep their keys,
/// see detail::command_slot), computes its slot, and sends the command through the manager of the
/// master the map names. A command with several keys (DEL, MGET, MSET, EVAL with numkeys...) must
/// have them all in one slot (use hash tags: `{user1}.a`, `{user1}.b`); if not, the call throws
/// std::invalid_argument before anything is sent. A command without keys (PING, INFO, DBSIZE...)
/// goes to one master: it is not broadcast.
///
/// Redirections: a `MOVED slot host:port` reply (the slot has a new owner) makes the client read
/// the whole map again (CLUSTER SHARDS, or CLUSTER SLOTS on servers before Redis 7; one refresh
/// for all the callers that saw the same old map) and send the command again to the new owner,
/// connecting to it if it is new. An `ASK slot host:port` reply (the slot is being migrated and
/// this key is already on the target) sends `ASKING` and the command to the target as one unit
/// (Manager::pipeline's guarantee: nothing in between), without changing the map. Both mean the
/// command did not run, so sending it again cannot run it twice. After max_redirects the call
/// yields the last redirection as an error reply.
///
/// Retries: TRYAGAIN (a multi-key command during a migration) and CLUSTERDOWN are sent again after
/// a backoff, at most max_attempts times in all; then the call yields the error reply.
///
/// Failures: a connection error (IoError, ProtocolError) means the command may have run; it is
/// never sent again: the caller gets the error, and the client reads the map again in the
/// background (a replica may have been promoted). The failed master's manager is dropped; the next
/// call for its slots connects again, and gets IoError at once if the node is down (connecting is
/// bounded by connect_timeout). Calls for the other masters' slots are not affected.
///
/// Errors from the calls: as Manager's (command() yields error replies as values, the typed
/// helpers throw them as ServerError), plus std::invalid_argument from the call for a cross-slot
/// command, and weft::TimeoutError if connecting to a node took longer than connect_timeout.
/// Await the calls inside tasks of the runtime the client was connected on.
class ClusterClient {
public:
    /// Reads the slot map from the first seed that answers (CLUSTER SHARDS, else CLUSTER SLOTS),
    /// and keeps the seeds' login (user, password, protocol, client name) for every node. Each
    /// master's manager connects on its first call.
    /// @throws std::invalid_argument for no seeds, or a seed with a database other than 0;
    /// IoError or ServerError from the last seed tried if none gave a map; when awaited.
    static Task<ClusterClient> connect(std::vector<ConnectionInfo> seeds, ClusterOptions options = {});
    /// As connect(std::vector<ConnectionInfo>...), the seeds given as `host:port` or `redis://`
    /// URLs (redis/url.hpp).
    /// @throws std::invalid_argument for a seed that is neither, when awaited; otherwise as above.
    static Task<ClusterClient> connect(std::vector<std::string> seeds, ClusterOptions options = {});

    /// Any command, routed by its key; yields its reply, an error reply included (as
    /// Manager::command does).
    /// @throws std::invalid_argument from the call for keys in several slots, or a command
    /// without exactly one reply (SUBSCRIBE...); IoError, ProtocolError or TimeoutError when
    /// awaited (see the class).
    template <CommandArg... Args>
        requires(sizeof...(Args) > 0)
    Task<Value> command(const Args&... args) const {
        std::string encoded;
        encode_command(encoded, args...);
        return routed(std::move(encoded), detail::AsValue{});
    }
    /// Any command given as a range of arguments, its name first.
    /// @throws std::invalid_argument from the call for an empty range; otherwise as above.
    template <std::ranges::forward_range R>
        requires CommandArg<std::ranges::range_value_t<R>> && (!CommandArg<R>)
    Task<Value> command(const R& args) const {
        std::string encoded;
        encode_command(encoded, args);
        return routed(std::move(encoded), detail::AsValue{});
    }
    /// GET: the value, or std::nullopt if the key does not exist.
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    Task<std::optional<std::string>> get(std::string_view key) const {
        std::string encoded;
        encode_command(encoded, "GET", key);
        return routed(std::move(encoded), detail::AsOptionalString{});
    }
    /// SET, with an optional expiry (PX).
    /// @throws std::invalid_argument from the call for an expiry that is not positive; ServerError
    /// for an error reply; otherwise as command(const Args&...).
    Task<void> set(std::string_view key, std::string_view value,
                   std::optional<std::chrono::milliseconds> expiry = std::nullopt) const {
        std::string encoded;
        detail::encode_set(encoded, key, value, expiry);
        return routed(std::move(encoded), detail::AsOk{});
    }
    /// DEL: how many of the keys existed. The keys must share a slot.
    /// @throws std::invalid_argument from the call for keys in several slots; ServerError for an
    /// error reply; otherwise as command(const Args&...).
    template <CommandArg... Keys>
        requires(sizeof...(Keys) > 0)
    Task<std::int64_t> del(const Keys&... keys) const {
        std::string encoded;
        encode_command(encoded, "DEL", keys...);
        return routed(std::move(encoded), detail::AsInteger{});
    }
    /// INCR: the value after the increment.
    /// @throws ServerError for an error reply; otherwise as command(const Args&...).
    Task<std::int64_t> incr(std::string_view key) const {
        std::string encoded;
        encode_command(encoded, "INCR", key);
        return routed(std::move(encoded), detail::AsInteger{});
    }

    /// The masters in the current map, as `host:port`. From any thread.
    std::vector<std::string> masters() const;
    /// The master that owns `slot` in the current map, as `host:port`. From any thread.
    std::string master_of(std::uint16_t slot) const;

private:
    explicit ClusterClient(std::shared_ptr<detail::ClusterState> state) noexcept : state_(std::move(state)) {}

    // Checks and routes one encoded command (see the class); throws from the call what is refused.
    template <class Convert>
    Task<std::invoke_result_t<Convert&, Value&&>> routed(std::string encoded, Convert convert) const {
        detail::refuse_unpaired_command(encoded);
        const std::optional<std::uint16_t> slot = detail::command_slot(encoded);
        return convert_reply(route(state_, std::move(encoded), slot), std::move(convert));
    }
    template <class Convert>
    static Task<std::invoke_result_t<Convert&, Value&&>> convert_reply(Task<Value> reply, Convert convert) {
        Value v = co_await std::move(reply);
        co_return convert(std::move(v));
    }
    // Sends, follows redirections, retries (cluster.cpp). Holds the state, not `this`: the task
    // may outlive the handle it was called on.
    static Task<Value> route(std::shared_ptr<detail::ClusterState> state, std::string encoded,
                             std::optional<std::uint16_t> slot);

    std::shared_ptr<detail::ClusterState> state_;
};

}  // namespace weft::redis
