#include "subscriber.hpp"

#include "detail/backoff.hpp"

#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/time.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <variant>

namespace weft::redis {

namespace detail {

namespace {

// The six subscription commands, in the order of Subscriber::request's `kind`: the command, the
// word its confirmations start with, which set it changes, and whether it adds to that set.
struct SubscriptionCommand {
    const char* name;
    const char* confirmation;
    int set;
    bool adds;
};
constexpr SubscriptionCommand kCommands[] = {
    {"SUBSCRIBE", "subscribe", 0, true},       {"PSUBSCRIBE", "psubscribe", 1, true},
    {"SSUBSCRIBE", "ssubscribe", 2, true},     {"UNSUBSCRIBE", "unsubscribe", 0, false},
    {"PUNSUBSCRIBE", "punsubscribe", 1, false}, {"SUNSUBSCRIBE", "sunsubscribe", 2, false},
};
constexpr int kSets = 3;

}  // namespace

// What the task tells the handle, published as ManagerState does (release store of `failed`).
struct SubscriberState {
    std::atomic<std::uint64_t> reconnects{0};
    std::atomic<bool> connected{true};
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
};

// One request from the handle: a subscription command and where to say it was confirmed. A
// constructor, not an aggregate: g++ 12 miscompiles aggregate temporaries in a co_await operand.
struct SubscriberControl {
    SubscriberControl(int kind, std::vector<std::string> names, oneshot::Sender<std::exception_ptr> done) noexcept
        : kind(kind), names(std::move(names)), done(std::move(done)) {}
    int kind;
    std::vector<std::string> names;
    oneshot::Sender<std::exception_ptr> done;
};

// The task that owns the connection (see Subscriber); a friend of Client, whose socket and
// parser it reads directly so a read can race the handle's requests in one select.
class SubscriberLoop {
public:
    SubscriberLoop(Client client, ConnectionInfo info, SubscriberOptions options,
                   mpsc::Receiver<SubscriberControl> control, mpsc::Sender<Message> messages,
                   std::shared_ptr<SubscriberState> state)
        : client_(std::move(client)),
          info_(std::move(info)),
          options_(std::move(options)),
          control_(std::move(control)),
          messages_(std::move(messages)),
          state_(std::move(state)),
          backoff_(options_.min_backoff, options_.max_backoff) {}

    Task<void> run() {
        for (;;) {
            std::exception_ptr broken;
            bool handle_gone = false;
            try {
                handle_gone = co_await serve();
            } catch (...) {
                broken = std::current_exception();
            }
            if (handle_gone) co_return;
            state_->connected.store(false, std::memory_order_relaxed);
            if (!options_.reconnect) {
                state_->failure = broken;
                state_->failed.store(true, std::memory_order_release);  // publishes failure
                for (Pending& p : pending_) answer(p, broken);
                co_return;  // the channels close with this frame
            }
            co_await reconnect();
        }
    }

private:
    // Replies still owed to a request, and who waits for them (several after a reconnect).
    struct Pending {
        std::size_t replies_left;
        std::vector<oneshot::Sender<std::exception_ptr>> done;
    };

    // Reads messages and takes requests until the connection fails (throws) or the handle is
    // gone (returns true).
    Task<bool> serve() {
        for (;;) {
            auto ready = co_await weft::select(control_.recv(), client_.read_some());
            if (ready.index() == 0) {
                std::optional<SubscriberControl> request = std::move(std::get<0>(ready));
                if (!request) co_return true;
                co_await send_request(std::move(*request));
                continue;
            }
            client_.received(std::get<1>(ready));  // throws at end of stream
            while (std::optional<Value> reply = client_.next_reply()) {
                std::optional<Message> message = dispatch(std::move(*reply));
                if (!message) continue;
                // Most messages find room: handed over without a frame or a suspension.
                TrySendResult<Message> tried = messages_.try_send(std::move(*message));
                if (tried.is_full()) co_await deliver(tried.take_value());
            }
        }
    }

    Task<void> send_request(SubscriberControl request) {
        const SubscriptionCommand& command = kCommands[request.kind];
        std::set<std::string>& names = sets_[command.set];
        // An UNSUBSCRIBE of everything is confirmed once per name held (once if none).
        const std::size_t replies = request.names.empty() ? std::max<std::size_t>(1, names.size()) : request.names.size();
        for (const std::string& name : request.names) {
            if (command.adds) names.insert(name);
            else names.erase(name);
        }
        if (!command.adds && request.names.empty()) names.clear();
        std::vector<std::string> args{command.name};
        args.insert(args.end(), request.names.begin(), request.names.end());
        out_.clear();
        encode_command(out_, args);
        pending_.push_back(Pending{replies, {}});
        pending_.back().done.push_back(std::move(request.done));
        co_await client_.write_commands(out_);
    }

    // A reply: a message to deliver, or a confirmation or error answered here.
    std::optional<Message> dispatch(Value reply) {
        if (reply.is_error()) {  // a request refused (SSUBSCRIBE on a server without it...)
            if (pending_.empty()) reply.throw_if_error();
            answer(pending_.front(), std::make_exception_ptr(ServerError(reply.error_text())));
            pending_.pop_front();
            return std::nullopt;
        }
        if (reply.kind() != Kind::array || reply.as_array().empty())
            throw UnexpectedReplyError("weft::redis: a subscriber got " + reply.to_string());
        Value::Array parts = std::move(reply).as_array();
        const std::string& word = parts[0].as_string();
        if ((word == "message" || word == "smessage") && parts.size() == 3) {
            Message m;
            m.channel = std::move(parts[1]).as_string();
            m.payload = std::move(parts[2]).as_string();
            m.sharded = word == "smessage";
            return m;
        }
        if (word == "pmessage" && parts.size() == 4) {
            Message m;
            m.pattern = std::move(parts[1]).as_string();
            m.channel = std::move(parts[2]).as_string();
            m.payload = std::move(parts[3]).as_string();
            return m;
        }
        if (is_confirmation(word)) {
            if (pending_.empty()) return std::nullopt;  // nothing waits for it
            if (--pending_.front().replies_left == 0) {
                answer(pending_.front(), nullptr);
                pending_.pop_front();
            }
        } else if (word != "pong") {
            throw UnexpectedReplyError("weft::redis: a subscriber got " + Value::array(std::move(parts)).to_string());
        }
        return std::nullopt;
    }

    // A message that found the channel full.
    Task<void> deliver(Message m) {
        // Waits while the channel is full: the socket is not read meanwhile (bounded memory).
        // A receiver that is gone drops the message.
        SendResult<Message> sent = co_await messages_.send(std::move(m));
        (void)sent;
    }

    static bool is_confirmation(const std::string& word) {
        return std::any_of(std::begin(kCommands), std::end(kCommands),
                           [&](const SubscriptionCommand& c) { return word == c.confirmation; });
    }

    static void answer(Pending& p, const std::exception_ptr& error) {
        for (oneshot::Sender<std::exception_ptr>& done : p.done) (void)done.send(std::exception_ptr(error));
        p.done.clear();
    }

    // Connects again (with backoff), subscribes to every set in one write, and leaves the
    // requests that were waiting to be answered by those confirmations.
    Task<void> reconnect() {
        std::vector<oneshot::Sender<std::exception_ptr>> waiting;
        for (Pending& p : pending_)
            for (auto& done : p.done) waiting.push_back(std::move(done));
        pending_.clear();
        backoff_.reset();
        for (;;) {
            co_await weft::sleep(backoff_.next());
            bool connected = false;
            try {
                Task<Client> connecting = Client::connect(info_, options_.client);
                client_ = co_await connecting;
                out_.clear();
                for (int set = 0; set < kSets; ++set) {
                    if (sets_[set].empty()) continue;
                    std::vector<std::string> args{kCommands[set].name};
                    args.insert(args.end(), sets_[set].begin(), sets_[set].end());
                    encode_command(out_, args);
                    pending_.push_back(Pending{sets_[set].size(), {}});
                }
                co_await client_.write_commands(out_);
                connected = true;
            } catch (...) {
                pending_.clear();  // the next attempt writes them again
            }
            if (connected) break;
        }
        state_->reconnects.fetch_add(1, std::memory_order_relaxed);
        state_->connected.store(true, std::memory_order_relaxed);
        if (pending_.empty()) {
            for (auto& done : waiting) (void)done.send(std::exception_ptr());
        } else {
            for (auto& done : waiting) pending_.back().done.push_back(std::move(done));
        }
    }

    Client client_;
    ConnectionInfo info_;
    SubscriberOptions options_;
    mpsc::Receiver<SubscriberControl> control_;
    mpsc::Sender<Message> messages_;
    std::shared_ptr<SubscriberState> state_;
    std::set<std::string> sets_[kSets];  // channels, patterns, shard channels: what a reconnect restores
    std::deque<Pending> pending_;
    std::string out_;
    Backoff backoff_;
};

namespace {
Task<void> run_subscriber(SubscriberLoop loop) {
    Task<void> running = loop.run();
    co_await running;
}
}  // namespace

}  // namespace detail

Task<Subscriber> Subscriber::connect(std::string_view url, SubscriberOptions options) {
    // Parsed inside the task, as Client::connect does, so a bad URL is thrown where it is awaited.
    return [](std::string url, SubscriberOptions options) -> Task<Subscriber> {
        Task<Subscriber> connecting = connect(parse_url(url), std::move(options));
        Subscriber s = co_await connecting;
        co_return s;
    }(std::string(url), std::move(options));
}

Task<Subscriber> Subscriber::connect(ConnectionInfo info, SubscriberOptions options) {
    if (options.capacity == 0) throw std::invalid_argument("weft::redis: SubscriberOptions::capacity must be at least 1");
    info.protocol = RespVersion::resp2;  // a RESP2 subscriber connection carries only Pub/Sub
    Task<Client> connecting = Client::connect(info, options.client);
    Client client = co_await connecting;
    co_return start(std::move(client), std::move(info), std::move(options));
}

Subscriber Subscriber::start(Client client, ConnectionInfo info, SubscriberOptions options) {
    auto [control_tx, control_rx] = mpsc::channel<detail::SubscriberControl>(64);
    auto [messages_tx, messages_rx] = mpsc::channel<Message>(options.capacity);
    auto state = std::make_shared<detail::SubscriberState>();
    JoinHandle<void> task = spawn(detail::run_subscriber(detail::SubscriberLoop(
        std::move(client), std::move(info), std::move(options), std::move(control_rx), std::move(messages_tx), state)));
    return Subscriber(std::move(control_tx), std::move(state), std::move(messages_rx), std::move(task));
}

Subscriber::Subscriber(mpsc::Sender<detail::SubscriberControl> control, std::shared_ptr<detail::SubscriberState> state,
                       mpsc::Receiver<Message> messages, JoinHandle<void> task) noexcept
    : control_(std::move(control)), state_(std::move(state)), messages_(std::move(messages)), task_(std::move(task)) {}

Subscriber::Subscriber(Subscriber&& other) noexcept
    : control_(std::exchange(other.control_, std::nullopt)),
      state_(std::move(other.state_)),
      messages_(std::exchange(other.messages_, std::nullopt)),
      task_(std::exchange(other.task_, std::nullopt)) {}

Subscriber& Subscriber::operator=(Subscriber&& other) noexcept {
    if (this != &other) {
        if (task_) task_->abort();
        control_ = std::exchange(other.control_, std::nullopt);
        state_ = std::move(other.state_);
        messages_ = std::exchange(other.messages_, std::nullopt);
        task_ = std::exchange(other.task_, std::nullopt);
    }
    return *this;
}

Subscriber::~Subscriber() {
    // Aborted rather than told: it may be waiting for room in a message channel nobody reads.
    if (task_) task_->abort();
}

Task<void> Subscriber::subscribe(std::vector<std::string> channels) { return request(0, std::move(channels)); }
Task<void> Subscriber::psubscribe(std::vector<std::string> patterns) { return request(1, std::move(patterns)); }
Task<void> Subscriber::ssubscribe(std::vector<std::string> channels) { return request(2, std::move(channels)); }
Task<void> Subscriber::unsubscribe(std::vector<std::string> channels) { return request(3, std::move(channels)); }
Task<void> Subscriber::punsubscribe(std::vector<std::string> patterns) { return request(4, std::move(patterns)); }
Task<void> Subscriber::sunsubscribe(std::vector<std::string> channels) { return request(5, std::move(channels)); }

Task<void> Subscriber::request(int kind, std::vector<std::string> names) {
    if (!control_) throw std::logic_error("weft::redis::Subscriber: used after it was moved from");
    if (kind < 3 && names.empty()) throw std::invalid_argument("weft::redis: subscribing to an empty list");
    const auto gone = [this]() -> IoError {
        if (std::exception_ptr failed = failure()) std::rethrow_exception(failed);
        return IoError(std::make_error_code(std::errc::operation_canceled),
                       "weft::redis: the subscriber's task stopped before answering");
    };
    auto [done_tx, done_rx] = oneshot::channel<std::exception_ptr>();
    detail::SubscriberControl control(kind, std::move(names), std::move(done_tx));
    SendResult<detail::SubscriberControl> sent = co_await control_->send(std::move(control));
    if (!sent) throw gone();
    std::exception_ptr error;
    bool dropped = false;
    try {
        error = co_await done_rx;
    } catch (const oneshot::RecvError&) {
        dropped = true;
    }
    if (dropped) throw gone();
    if (error) std::rethrow_exception(error);
}

mpsc::Receiver<Message> Subscriber::take_messages() {
    if (!messages_) throw std::logic_error("weft::redis::Subscriber: take_messages() was already called");
    mpsc::Receiver<Message> rx = std::move(*messages_);
    messages_.reset();
    return rx;
}

std::uint64_t Subscriber::reconnects() const noexcept {
    return state_ ? state_->reconnects.load(std::memory_order_relaxed) : 0;
}
bool Subscriber::is_connected() const noexcept { return state_ && state_->connected.load(std::memory_order_relaxed); }
std::exception_ptr Subscriber::failure() const noexcept {
    // acquire: pairs with run()'s release store, so failure is complete.
    return state_ && state_->failed.load(std::memory_order_acquire) ? state_->failure : nullptr;
}

}  // namespace weft::redis
