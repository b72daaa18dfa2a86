#include "cluster.hpp"

#include <weft/channels/mutex.hpp>
#include <weft/channels/once_cell.hpp>
#include <weft/runtime/errors.hpp>
#include <weft/runtime/join_handle.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "cluster_slot.hpp"
#include "detail/backoff.hpp"
#include "errors.hpp"

namespace weft::redis {

namespace detail {

// Manager's calls on bytes encoded elsewhere (see the friend declaration in manager.hpp).
struct ManagerAccess {
    static Task<Value> send(const Manager& manager, std::string_view encoded, std::size_t replies) {
        if (replies == 1) return manager.call(EncodedCommand(encoded), AsValue{});
        return manager.call(EncodedCommand(encoded), AsValue{}, replies);
    }
};

namespace {

// The bulk string that starts at `at` (its '$'), and where the next one starts; nullopt if there
// is none.
std::optional<std::pair<std::string_view, std::size_t>> bulk_at(std::string_view encoded, std::size_t at) {
    if (at >= encoded.size() || encoded[at] != '$') return std::nullopt;
    const std::size_t header_end = encoded.find('\r', at + 1);
    if (header_end == std::string_view::npos) return std::nullopt;
    std::size_t length = 0;
    std::from_chars(encoded.data() + at + 1, encoded.data() + header_end, length);
    const std::size_t start = header_end + 2;
    if (start + length > encoded.size()) return std::nullopt;
    return std::make_pair(encoded.substr(start, length), start + length + 2);
}

// The bulk strings of one command as encode_command wrote it (an array of bulk strings).
std::vector<std::string_view> split_command(std::string_view encoded) {
    std::vector<std::string_view> args;
    const std::size_t first = encoded.find('\n');
    if (first == std::string_view::npos) return args;
    for (auto bulk = bulk_at(encoded, first + 1); bulk; bulk = bulk_at(encoded, bulk->second)) args.push_back(bulk->first);
    return args;
}

std::string upper(std::string_view word) {
    std::string out(word);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// Where a command keeps its keys (the cluster's view of COMMAND's key specs, for the commands
// that are not "the first argument").
enum class Keys : std::uint8_t {
    none,          // no key: any master
    first,         // argument 1
    first_two,     // arguments 1 and 2 (RPOPLPUSH src dst)
    all,           // every argument (DEL k...)
    all_but_last,  // every argument but a trailing timeout (BLPOP k... timeout)
    every_other,   // arguments 1, 3, 5... (MSET k v k v)
    numkeys_at_1,  // argument 1 is how many keys follow (ZUNION numkeys k...)
    numkeys_at_2,  // argument 2 is how many keys follow (EVAL script numkeys k... arg...)
    dest_numkeys,  // argument 1 is a key, argument 2 how many keys follow (ZUNIONSTORE dst n k...)
    second,        // argument 2, after a subcommand (OBJECT ENCODING k)
    streams,       // after STREAMS, the first half of what follows (XREAD ... STREAMS k... id...)
};

Keys keys_of(std::string_view name) {
    static const std::map<std::string, Keys, std::less<>> table = {
        {"PING", Keys::none}, {"ECHO", Keys::none}, {"INFO", Keys::none}, {"TIME", Keys::none},
        {"DBSIZE", Keys::none}, {"CLUSTER", Keys::none}, {"COMMAND", Keys::none}, {"CONFIG", Keys::none},
        {"CLIENT", Keys::none}, {"FLUSHALL", Keys::none}, {"FLUSHDB", Keys::none}, {"SCRIPT", Keys::none},
        {"FUNCTION", Keys::none}, {"RANDOMKEY", Keys::none}, {"KEYS", Keys::none}, {"SCAN", Keys::none},
        {"LASTSAVE", Keys::none}, {"PUBLISH", Keys::none}, {"PUBSUB", Keys::none}, {"SLOWLOG", Keys::none},
        {"LATENCY", Keys::none}, {"ACL", Keys::none}, {"ROLE", Keys::none}, {"LOLWUT", Keys::none},
        {"WAIT", Keys::none}, {"MULTI", Keys::none}, {"EXEC", Keys::none}, {"DISCARD", Keys::none},
        {"UNWATCH", Keys::none}, {"READONLY", Keys::none}, {"READWRITE", Keys::none},
        {"DEL", Keys::all}, {"UNLINK", Keys::all}, {"EXISTS", Keys::all}, {"MGET", Keys::all},
        {"TOUCH", Keys::all}, {"WATCH", Keys::all}, {"SDIFF", Keys::all}, {"SINTER", Keys::all},
        {"SUNION", Keys::all}, {"SDIFFSTORE", Keys::all}, {"SINTERSTORE", Keys::all},
        {"SUNIONSTORE", Keys::all}, {"PFCOUNT", Keys::all}, {"PFMERGE", Keys::all}, {"RENAME", Keys::all},
        {"RENAMENX", Keys::all},
        {"BLPOP", Keys::all_but_last}, {"BRPOP", Keys::all_but_last}, {"BZPOPMIN", Keys::all_but_last},
        {"BZPOPMAX", Keys::all_but_last},
        {"RPOPLPUSH", Keys::first_two}, {"BRPOPLPUSH", Keys::first_two}, {"LMOVE", Keys::first_two},
        {"BLMOVE", Keys::first_two}, {"SMOVE", Keys::first_two}, {"COPY", Keys::first_two},
        {"LCS", Keys::first_two}, {"ZRANGESTORE", Keys::first_two}, {"GEOSEARCHSTORE", Keys::first_two},
        {"MSET", Keys::every_other}, {"MSETNX", Keys::every_other},
        {"ZUNION", Keys::numkeys_at_1}, {"ZINTER", Keys::numkeys_at_1}, {"ZDIFF", Keys::numkeys_at_1},
        {"ZINTERCARD", Keys::numkeys_at_1}, {"SINTERCARD", Keys::numkeys_at_1}, {"LMPOP", Keys::numkeys_at_1},
        {"ZMPOP", Keys::numkeys_at_1},
        {"EVAL", Keys::numkeys_at_2}, {"EVALSHA", Keys::numkeys_at_2}, {"EVAL_RO", Keys::numkeys_at_2},
        {"EVALSHA_RO", Keys::numkeys_at_2}, {"FCALL", Keys::numkeys_at_2}, {"FCALL_RO", Keys::numkeys_at_2},
        {"BLMPOP", Keys::numkeys_at_2}, {"BZMPOP", Keys::numkeys_at_2},
        {"ZUNIONSTORE", Keys::dest_numkeys}, {"ZINTERSTORE", Keys::dest_numkeys},
        {"ZDIFFSTORE", Keys::dest_numkeys},
        {"OBJECT", Keys::second}, {"MEMORY", Keys::second}, {"XINFO", Keys::second},
        {"XREAD", Keys::streams}, {"XREADGROUP", Keys::streams},
    };
    // Upper-cased on the stack: this runs for every command routed. No command name is longer.
    char buf[32];
    if (name.size() > sizeof buf) return Keys::first;
    for (std::size_t i = 0; i < name.size(); ++i) buf[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
    const auto found = table.find(std::string_view(buf, name.size()));
    return found == table.end() ? Keys::first : found->second;
}

// The keys of a command whose argument `at` counts the keys right after it.
std::vector<std::string_view> counted_keys(const std::vector<std::string_view>& args, std::size_t at,
                                           std::size_t first_key) {
    if (at >= args.size()) return {};
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(args[at].data(), args[at].data() + args[at].size(), n);
    if (ec != std::errc() || end != args[at].data() + args[at].size())
        return {};  // not a number: the server will say so, from any master
    const std::size_t last = std::min(args.size(), first_key + n);
    return {args.begin() + static_cast<std::ptrdiff_t>(std::min(first_key, last)),
            args.begin() + static_cast<std::ptrdiff_t>(last)};
}

std::vector<std::string_view> command_keys(const std::vector<std::string_view>& args) {
    std::vector<std::string_view> keys;
    if (args.size() < 2) return keys;
    switch (keys_of(args[0])) {
        case Keys::none: break;
        case Keys::first: keys.push_back(args[1]); break;
        case Keys::first_two:
            keys.push_back(args[1]);
            if (args.size() > 2) keys.push_back(args[2]);
            break;
        case Keys::all: keys.assign(args.begin() + 1, args.end()); break;
        case Keys::all_but_last: keys.assign(args.begin() + 1, args.end() - (args.size() > 2 ? 1 : 0)); break;
        case Keys::every_other:
            for (std::size_t i = 1; i < args.size(); i += 2) keys.push_back(args[i]);
            break;
        case Keys::numkeys_at_1: keys = counted_keys(args, 1, 2); break;
        case Keys::numkeys_at_2: keys = counted_keys(args, 2, 3); break;
        case Keys::dest_numkeys:
            keys = counted_keys(args, 2, 3);
            keys.push_back(args[1]);
            break;
        case Keys::second:
            if (args.size() > 2) keys.push_back(args[2]);
            break;
        case Keys::streams:
            for (std::size_t i = 1; i < args.size(); ++i) {
                if (upper(args[i]) == "STREAMS") {
                    const std::size_t rest = args.size() - i - 1;
                    for (std::size_t k = 0; k < rest / 2; ++k) keys.push_back(args[i + 1 + k]);
                    break;
                }
            }
            break;
    }
    return keys;
}

}  // namespace

std::optional<std::uint16_t> command_slot(std::string_view encoded) {
    // Most commands (GET, SET, INCR, HSET...) keep their key first: no split for them.
    if (const std::size_t first = encoded.find('\n'); first != std::string_view::npos) {
        if (const auto name = bulk_at(encoded, first + 1); name && keys_of(name->first) == Keys::first) {
            const auto key = bulk_at(encoded, name->second);
            if (!key) return std::nullopt;
            return key_slot(key->first);
        }
    }
    const std::vector<std::string_view> args = split_command(encoded);
    const std::vector<std::string_view> keys = command_keys(args);
    if (keys.empty()) return std::nullopt;
    const std::uint16_t slot = key_slot(keys.front());
    for (const std::string_view k : keys) {
        if (key_slot(k) != slot) {
            throw std::invalid_argument("weft::redis: CROSSSLOT: the keys of " + upper(args[0]) + " hash to different slots ('" +
                                        std::string(keys.front()) + "' to " + std::to_string(slot) + ", '" +
                                        std::string(k) + "' to " + std::to_string(key_slot(k)) +
                                        "); a cluster runs a multi-key command only within one slot: use a hash tag, {tag}");
        }
    }
    return slot;
}

namespace {

std::string address_of(std::string_view host, std::uint16_t port) {
    // An IPv6 address is bracketed so the port stays apart.
    const bool v6 = host.find(':') != std::string_view::npos;
    std::string out;
    if (v6) out += '[';
    out += host;
    if (v6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
}

// "host:port" or "[v6]:port"; nullopt if it is neither.
std::optional<std::pair<std::string, std::uint16_t>> split_address(std::string_view text) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return std::nullopt;
    return std::make_pair(std::string(host), static_cast<std::uint16_t>(port));
}

// A master: where it is, and its manager once connected.
struct ClusterNode {
    explicit ClusterNode(ConnectionInfo where) : info(std::move(where)), address(address_of(info.host, info.port)) {}
    ConnectionInfo info;
    std::string address;
    // Replaced (under ClusterState's mutex) once its manager failed, so the next call connects again.
    std::shared_ptr<OnceCell<Manager>> manager = std::make_shared<OnceCell<Manager>>();
};

// One slot range of a map reply, and its master's address.
struct SlotRange {
    std::uint16_t first, last;
    std::string host;
    std::uint16_t port;
};

// A reply's fields, whether RESP3 sent a map or RESP2 a flat array of name, value.
std::vector<std::pair<std::string_view, const Value*>> fields(const Value& v) {
    std::vector<std::pair<std::string_view, const Value*>> out;
    if (v.kind() == Kind::map) {
        for (const auto& [name, value] : v.as_map()) out.emplace_back(name.as_string(), &value);
        return out;
    }
    const Value::Array& flat = v.as_array();
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) out.emplace_back(flat[i].as_string(), &flat[i + 1]);
    return out;
}

std::uint16_t as_slot(const Value& v) {
    const std::int64_t n = v.as_integer();
    if (n < 0 || n >= kClusterSlots) throw UnexpectedReplyError("weft::redis: a slot out of range: " + v.to_string());
    return static_cast<std::uint16_t>(n);
}

// CLUSTER SHARDS (Redis 7): each shard's slot ranges and its nodes; the master is the one whose
// role is "master". A node that announces no endpoint ("?" or empty) is where we asked.
std::vector<SlotRange> parse_shards(const Value& reply, const std::string& asked_host) {
    std::vector<SlotRange> ranges;
    for (const Value& shard : reply.as_array()) {
        std::vector<std::uint16_t> bounds;
        std::optional<std::pair<std::string, std::uint16_t>> master;
        for (const auto& [name, value] : fields(shard)) {
            if (name == "slots") {
                for (const Value& b : value->as_array()) bounds.push_back(as_slot(b));
            } else if (name == "nodes") {
                for (const Value& node : value->as_array()) {
                    std::string host, role;
                    std::int64_t port = 0;
                    for (const auto& [key, field] : fields(node)) {
                        if (key == "endpoint" || (key == "ip" && host.empty())) {
                            const std::string& text = field->as_string();
                            if (!text.empty() && text != "?") host = text;
                        } else if (key == "port") {
                            port = field->as_integer();
                        } else if (key == "role") {
                            role = field->as_string();
                        }
                    }
                    if (role == "master" && port > 0 && port <= 65535)
                        master.emplace(host.empty() ? asked_host : host, static_cast<std::uint16_t>(port));
                }
            }
        }
        if (!master) continue;  // a shard without a master: its slots stay unowned
        for (std::size_t i = 0; i + 1 < bounds.size(); i += 2)
            ranges.push_back(SlotRange{bounds[i], bounds[i + 1], master->first, master->second});
    }
    return ranges;
}

// CLUSTER SLOTS (before Redis 7): [first, last, [host, port, id...], replicas...] per range.
std::vector<SlotRange> parse_slots(const Value& reply, const std::string& asked_host) {
    std::vector<SlotRange> ranges;
    for (const Value& range : reply.as_array()) {
        const Value::Array& r = range.as_array();
        if (r.size() < 3) continue;
        const Value::Array& master = r[2].as_array();
        if (master.size() < 2) continue;
        std::string host = master[0].is_nil() ? std::string() : master[0].as_string();
        if (host.empty() || host == "?") host = asked_host;
        const std::int64_t port = master[1].as_integer();
        if (port <= 0 || port > 65535) continue;
        ranges.push_back(SlotRange{as_slot(r[0]), as_slot(r[1]), std::move(host), static_cast<std::uint16_t>(port)});
    }
    return ranges;
}

// Reads the map from one node: CLUSTER SHARDS, or CLUSTER SLOTS if the server does not know it.
Task<std::vector<SlotRange>> read_map(ConnectionInfo info, ClientOptions options) {
    Task<Client> connecting = Client::connect(info, options);
    Client client = co_await connecting;
    Value shards = co_await client.command("CLUSTER", "SHARDS");
    if (!shards.is_error()) co_return parse_shards(shards, info.host);
    Value slots = co_await client.command("CLUSTER", "SLOTS");
    slots.throw_if_error();
    co_return parse_slots(slots, info.host);
}

Task<Manager> connect_node(ConnectionInfo info, ClusterOptions options) {
    Task<SpawnedManager> connecting = connect_manager(std::move(info), options.capacity, options.manager, options.client);
    TimeoutResult<SpawnedManager> spawned = co_await weft::timeout(options.connect_timeout, std::move(connecting));
    if (spawned.timed_out()) throw TimeoutError();
    co_return std::move(spawned->manager);  // the task detaches: it ends once the handles are gone
}

// What a redirection reply says: MOVED or ASK, the slot, and where.
struct Redirect {
    bool ask = false;
    std::string address;
};

std::optional<Redirect> redirect_of(std::string_view error, const std::string& replied_host) {
    const bool moved = error.starts_with("MOVED ");
    const bool ask = error.starts_with("ASK ");
    if (!moved && !ask) return std::nullopt;
    const std::size_t space = error.rfind(' ');
    std::string target(error.substr(space + 1));
    if (target.starts_with(':')) target = replied_host + target;  // the node knows no endpoint for itself
    auto where = split_address(target);
    if (!where) return std::nullopt;
    return Redirect{ask, address_of(where->first, where->second)};
}

}  // namespace

// The state every copy of a ClusterClient shares.
//
// The map (slot -> node) and the nodes are guarded by `mutex_`, held only to copy a pointer out or
// to install a new map: never across an await. Refreshes are serialised by `refresh_lock_`, and
// deduplicated by `epoch_`: a caller that saw epoch E refreshes only if no refresh finished since
// (the epoch is still E), so many callers that meet the same MOVED cost one CLUSTER SHARDS.
class ClusterState : public std::enable_shared_from_this<ClusterState> {
public:
    ClusterState(std::vector<ConnectionInfo> seeds, ClusterOptions options)
        : seeds_(std::move(seeds)), options_(std::move(options)), owners_(kClusterSlots) {}

    const ClusterOptions& options() const noexcept { return options_; }
    std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

    // Reads the map again unless someone did since `seen`. Throws the last node's error if no
    // node answered.
    Task<void> refresh(std::uint64_t seen) {
        auto guard = co_await refresh_lock_.lock();
        if (epoch() != seen) co_return;
        std::exception_ptr last_error;
        for (const ConnectionInfo& where : candidates()) {
            std::optional<std::vector<SlotRange>> ranges;
            try {
                Task<std::vector<SlotRange>> reading = read_map(where, options_.client);
                TimeoutResult<std::vector<SlotRange>> read =
                    co_await weft::timeout(options_.connect_timeout, std::move(reading));
                if (read.timed_out()) throw TimeoutError();
                ranges.emplace(std::move(*read));
            } catch (...) {
                last_error = std::current_exception();
            }
            if (ranges && !ranges->empty()) {
                install(*ranges);
                epoch_.fetch_add(1, std::memory_order_release);  // pairs with epoch()'s acquire
                co_return;
            }
        }
        if (last_error) std::rethrow_exception(last_error);
        throw UnexpectedReplyError("weft::redis: no cluster node gave a slot map");
    }

    // A refresh that nobody waits for (after a connection error).
    void refresh_in_background(std::uint64_t seen) {
        try {
            JoinHandle<void> refreshing = spawn([](std::shared_ptr<ClusterState> self, std::uint64_t seen) -> Task<void> {
                try {
                    co_await self->refresh(seen);
                } catch (...) {
                    // the next MOVED or connection error tries again
                }
            }(shared_from_this(), seen));
            refreshing.detach();  // nobody waits for it
        } catch (...) {
            // the runtime is shutting down: nothing to refresh for
        }
    }

    // Where a call goes, found under one lock without suspending: the common case needs nothing else.
    struct Target {
        std::shared_ptr<ClusterNode> node;  // null: no map yet, or no master at all
        std::optional<Manager> manager;     // the node's manager if connected and not failed, else see manager_of
    };

    // The node that owns `slot` (or any master, for a keyless command or an unowned slot).
    Target target_for(std::optional<std::uint16_t> slot) {
        const std::lock_guard lock(mutex_);
        std::shared_ptr<ClusterNode> node;
        if (slot) node = owners_[*slot];
        if (!node && !masters_.empty()) node = masters_[next_any_++ % masters_.size()];
        if (!node) return {};
        std::optional<Manager> manager;
        if (const Manager* ready = node->manager->get(); ready && !ready->is_failed()) manager.emplace(*ready);
        return Target{std::move(node), std::move(manager)};
    }

    // The node at `address` (from a redirection), known or new; new ones join `nodes_` but not the map.
    std::shared_ptr<ClusterNode> node_at(const std::string& address) {
        const std::lock_guard lock(mutex_);
        if (auto found = nodes_.find(address); found != nodes_.end()) return found->second;
        auto where = split_address(address);
        if (!where) throw std::invalid_argument("weft::redis: a bad node address: " + address);
        auto node = std::make_shared<ClusterNode>(login_for(where->first, where->second));
        nodes_.emplace(address, node);
        return node;
    }

    // The node's manager: connects on first use, and again once the last one failed.
    Task<Manager> manager_of(std::shared_ptr<ClusterNode> node) {
        for (int tries = 0;; ++tries) {
            std::shared_ptr<OnceCell<Manager>> cell;
            {
                const std::lock_guard lock(mutex_);
                cell = node->manager;
            }
            auto getting = cell->get_or_init([&] { return connect_node(node->info, options_); });
            const Manager manager = co_await std::move(getting);
            if (!manager.is_failed() || tries > 0) co_return manager;
            const std::lock_guard lock(mutex_);
            if (node->manager == cell) node->manager = std::make_shared<OnceCell<Manager>>();
        }
    }

    std::vector<std::string> masters() const {
        const std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const auto& m : masters_) out.push_back(m->address);
        return out;
    }
    std::string master_of(std::uint16_t slot) const {
        const std::lock_guard lock(mutex_);
        const auto& owner = owners_.at(slot);
        return owner ? owner->address : std::string();
    }

private:
    // A node's ConnectionInfo: the first seed's login, the node's address (TCP, as the map gives
    // it, even if the seed was a Unix socket).
    ConnectionInfo login_for(std::string host, std::uint16_t port) const {
        ConnectionInfo info = seeds_.front();
        info.host = std::move(host);
        info.port = port;
        info.socket_path.reset();
        return info;
    }

    // Where to ask for the map: the masters we know, then the seeds.
    std::vector<ConnectionInfo> candidates() const {
        std::vector<ConnectionInfo> out;
        {
            const std::lock_guard lock(mutex_);
            for (const auto& m : masters_) out.push_back(m->info);
        }
        for (const ConnectionInfo& seed : seeds_) out.push_back(seed);
        return out;
    }

    void install(const std::vector<SlotRange>& ranges) {
        const std::lock_guard lock(mutex_);
        std::map<std::string, std::shared_ptr<ClusterNode>> nodes;
        std::vector<std::shared_ptr<ClusterNode>> owners(kClusterSlots);
        for (const SlotRange& r : ranges) {
            const std::string address = address_of(r.host, r.port);
            auto& node = nodes[address];
            if (!node) {
                auto known = nodes_.find(address);
                node = known != nodes_.end() ? known->second : std::make_shared<ClusterNode>(login_for(r.host, r.port));
            }
            for (std::uint32_t s = r.first; s <= r.last && s < kClusterSlots; ++s) owners[s] = node;
        }
        masters_.clear();
        for (const auto& [address, node] : nodes) masters_.push_back(node);
        owners_ = std::move(owners);
        nodes_ = std::move(nodes);  // nodes no longer masters are dropped: their managers end
    }

    const std::vector<ConnectionInfo> seeds_;
    const ClusterOptions options_;
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<ClusterNode>> owners_;  // by slot; null: unowned
    std::vector<std::shared_ptr<ClusterNode>> masters_;
    std::map<std::string, std::shared_ptr<ClusterNode>> nodes_;  // by address
    std::size_t next_any_ = 0;  // round robin for keyless commands
    std::atomic<std::uint64_t> epoch_{0};
    Mutex<int> refresh_lock_{0};
};

}  // namespace detail

Task<ClusterClient> ClusterClient::connect(std::vector<ConnectionInfo> seeds, ClusterOptions options) {
    if (seeds.empty()) throw std::invalid_argument("weft::redis: ClusterClient::connect needs at least one seed");
    for (const ConnectionInfo& seed : seeds) {
        if (seed.database != 0)
            throw std::invalid_argument("weft::redis: a cluster has only database 0 (seed " + seed.host + ")");
    }
    auto state = std::make_shared<detail::ClusterState>(std::move(seeds), std::move(options));
    co_await state->refresh(0);
    co_return ClusterClient(std::move(state));
}

Task<ClusterClient> ClusterClient::connect(std::vector<std::string> seeds, ClusterOptions options) {
    std::vector<ConnectionInfo> infos;
    for (const std::string& seed : seeds) {
        if (seed.find("://") != std::string::npos) {
            infos.push_back(parse_url(seed));
            continue;
        }
        auto where = detail::split_address(seed);
        if (!where) throw std::invalid_argument("weft::redis: a cluster seed is host:port or a redis:// URL, not '" + seed + "'");
        ConnectionInfo info;
        info.host = std::move(where->first);
        info.port = where->second;
        infos.push_back(std::move(info));
    }
    Task<ClusterClient> connecting = connect(std::move(infos), std::move(options));
    ClusterClient client = co_await std::move(connecting);
    co_return client;
}

std::vector<std::string> ClusterClient::masters() const { return state_->masters(); }
std::string ClusterClient::master_of(std::uint16_t slot) const { return state_->master_of(slot); }

Task<Value> ClusterClient::route(std::shared_ptr<detail::ClusterState> state, std::string encoded,
                                 std::optional<std::uint16_t> slot) {
    const ClusterOptions& options = state->options();
    // Made on the first retry only: seeding it (std::random_device) costs more than a command.
    std::optional<detail::Backoff> backoff;
    std::size_t redirects = 0;
    std::size_t attempts = 0;
    std::optional<detail::Redirect> redirect;  // where the last MOVED or ASK sent us
    std::string asking;                         // ASKING + the command, built on the first ASK
    for (;;) {
        const std::uint64_t seen = state->epoch();
        detail::ClusterState::Target target;
        if (redirect) target.node = state->node_at(redirect->address);
        else target = state->target_for(slot);
        if (!target.node) {
            co_await state->refresh(seen);  // no map yet: ask again
            target = state->target_for(slot);
            if (!target.node) throw UnexpectedReplyError("weft::redis: no master owns this slot");
        }
        const std::shared_ptr<detail::ClusterNode>& node = target.node;
        const bool ask = redirect && redirect->ask;
        Value reply;
        try {
            if (!target.manager) {
                Task<Manager> finding = state->manager_of(node);
                target.manager.emplace(co_await std::move(finding));
            }
            const Manager& manager = *target.manager;
            if (ask) {
                if (asking.empty()) {
                    encode_command(asking, "ASKING");
                    asking += encoded;
                }
                Task<Value> sending = detail::ManagerAccess::send(manager, asking, 2);
                Value both = co_await std::move(sending);
                reply = std::move(std::move(both).as_array().back());
            } else {
                Task<Value> sending = detail::ManagerAccess::send(manager, encoded, 1);
                reply = co_await std::move(sending);
            }
        } catch (const Error&) {
            // The command may have run: not sent again. The map may be stale (a failover).
            state->refresh_in_background(seen);
            throw;
        } catch (const TimeoutError&) {
            state->refresh_in_background(seen);
            throw;
        }
        if (!reply.is_error()) co_return reply;
        const std::string& text = reply.error_text();
        if (std::optional<detail::Redirect> next = detail::redirect_of(text, node->info.host)) {
            if (++redirects > options.max_redirects) co_return reply;
            if (!next->ask) {
                Task<void> refreshing = state->refresh(seen);
                try {
                    co_await std::move(refreshing);
                } catch (...) {
                    // the MOVED reply still says where to go
                }
            }
            redirect = std::move(next);
            continue;
        }
        if (text.starts_with("TRYAGAIN") || text.starts_with("CLUSTERDOWN")) {
            if (++attempts >= options.max_attempts) co_return reply;
            if (!backoff) backoff.emplace(options.min_backoff, options.max_backoff);
            co_await weft::sleep(backoff->next());
            redirect.reset();  // the map decides again
            continue;
        }
        co_return reply;
    }
}

}  // namespace weft::redis
