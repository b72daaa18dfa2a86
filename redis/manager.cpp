#include "manager.hpp"

#include <weft/runtime/select.hpp>
#include <weft/runtime/yield.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <variant>
#include <system_error>
#include <vector>

#include "detail/backoff.hpp"
#include "detail/duplex_io.hpp"

namespace weft::redis {

namespace detail {

namespace {

void answer_with_error(std::vector<ManagerRequest>& requests, std::size_t from, const std::exception_ptr& error) {
    for (std::size_t i = from; i < requests.size(); ++i) (void)requests[i].reply.send(ManagerOutcome(error));
}

// The requests taken from the channel whose replies are still due, oldest first, and the bytes
// of theirs not yet written. The writer appends (push) and writes (unwritten, wrote); the reader
// answers the oldest as replies arrive (take). A request of several commands (a pipeline or a
// transaction) is answered with one array once all its replies arrived; a request without a
// reply (a RESP3 SUBSCRIBE) once it was written and every reply before it read.
class InFlight {
public:
    explicit InFlight(std::size_t limit) : limit_(limit) {}

    bool empty() const noexcept { return front_ == sent_.size(); }
    std::size_t size() const noexcept { return sent_.size() - front_; }
    // How many more requests may be taken in before the writer must wait for replies.
    std::size_t room() const noexcept { return limit_ > size() ? limit_ - size() : 0; }

    // Appends `request`'s bytes to those still to write, and takes it in.
    void push(ManagerRequest&& request) {
        if (written_ > 0) {  // drop what went already, so the buffer holds only what is due
            out_.erase(0, written_);
            written_ = 0;
        }
        out_ += request.encoded.view();
        queued_bytes_ += request.encoded.view().size();
        sent_.emplace_back(std::move(request), queued_bytes_);
    }
    bool has_unwritten() const noexcept { return written_ < out_.size(); }
    // The bytes still to write; valid until the next push or wrote.
    std::string_view unwritten() const noexcept { return std::string_view(out_).substr(written_); }
    void wrote(std::size_t n) {
        written_ += n;
        written_bytes_ += n;
        if (written_ == out_.size()) {
            out_.clear();
            written_ = 0;
        }
        settle_unreplied();
    }

    // Answers the oldest request with `reply` (or collects it, for a request of several). A
    // caller that gave up has dropped its receiver: send() then hands the reply back, which we
    // drop; that is all a cancelled call costs here.
    // @throws ProtocolError for a reply no request waits for.
    void take(Value&& reply) {
        settle_unreplied();
        if (empty())
            throw ProtocolError("weft::redis: the server sent a reply no command waits for: " + reply.to_string());
        ManagerRequest& r = sent_[front_].request;
        if (r.replies == 1) {
            (void)r.reply.send(ManagerOutcome(std::move(reply)));
            pop();
        } else {
            collected_.push_back(std::move(reply));
            if (collected_.size() == r.replies) {
                (void)r.reply.send(ManagerOutcome(Value::array(std::move(collected_))));
                collected_ = Value::Array();
                pop();
            }
        }
        settle_unreplied();
    }
    // Requests answered so far (take and the settled ones): tells the loop how many callers woke.
    std::uint64_t answered() const noexcept { return answered_; }

    // Every request gets `error`; the bytes not written are dropped (the connection is gone).
    void fail_all(const std::exception_ptr& error) {
        for (std::size_t i = front_; i < sent_.size(); ++i) (void)sent_[i].request.reply.send(ManagerOutcome(error));
        sent_.clear();
        front_ = 0;
        collected_.clear();
        out_.clear();
        written_ = 0;
        queued_bytes_ = written_bytes_ = 0;
    }

private:
    struct Sent {
        Sent(ManagerRequest&& r, std::uint64_t end_at) noexcept : request(std::move(r)), end(end_at) {}
        ManagerRequest request;
        std::uint64_t end;  // the stream offset just past its bytes: written once written_bytes_ reaches it
    };

    // A request without a reply is done once written and once the replies before it were read
    // (it is at the front): answer it then, in order.
    void settle_unreplied() {
        while (!empty() && sent_[front_].request.replies == 0 && sent_[front_].end <= written_bytes_) {
            (void)sent_[front_].request.reply.send(ManagerOutcome(Value()));
            pop();
        }
    }
    // Answered requests stay in the vector until half of it is answered, then go in one erase:
    // a few moves per request and no allocation in steady state (a deque allocates per block).
    void pop() {
        ++answered_;
        if (++front_ == sent_.size()) {
            sent_.clear();
            front_ = 0;
        } else if (front_ >= 32 && front_ * 2 >= sent_.size()) {
            sent_.erase(sent_.begin(), sent_.begin() + static_cast<std::ptrdiff_t>(front_));
            front_ = 0;
        }
    }

    const std::size_t limit_;
    std::vector<Sent> sent_;
    std::size_t front_ = 0;       // sent_[front_] is the next reply's
    Value::Array collected_;      // the replies so far of a request of several
    std::string out_;             // bytes of the requests, from written_ on still to write
    std::size_t written_ = 0;
    std::uint64_t queued_bytes_ = 0;   // bytes pushed since the connection began
    std::uint64_t written_bytes_ = 0;  // bytes written since the connection began
    std::uint64_t answered_ = 0;
};

// Waits for the next commands. On RESP3 it reads the connection meanwhile, so push messages
// (Pub/Sub, invalidations) reach on_push while no command is in flight, not only when the next
// reply is read. Throws what breaks the connection.
Task<std::size_t> next_batch(Client& client, mpsc::Receiver<ManagerRequest>& commands,
                             std::vector<ManagerRequest>& batch, std::size_t max_batch, bool resp3) {
    if (!resp3) co_return co_await commands.recv_many(batch, max_batch);
    for (;;) {
        auto ready = co_await weft::select(commands.recv_many(batch, max_batch), client.read_some());
        if (ready.index() == 0) co_return std::get<0>(ready);
        client.take_received(std::get<1>(ready));
    }
}

// Waits out the backoff and connects again, holding the requests that arrive meanwhile (up to
// max_batch; more wait in the channel). Returns the new client, or nullopt once every handle is
// gone (the held requests then get `failure`).
Task<std::optional<Client>> reconnect_client(const ManagerReconnect& where, const ManagerOptions& options,
                                             mpsc::Receiver<ManagerRequest>& commands,
                                             std::vector<ManagerRequest>& held, const std::exception_ptr& failure) {
    Backoff backoff(options.min_backoff, options.max_backoff);
    for (;;) {
        const Clock::time_point attempt_at = Clock::now() + backoff.next();
        bool handles_gone = false;
        while (!handles_gone && Clock::now() < attempt_at) {
            if (held.size() >= options.max_batch) {
                co_await weft::sleep_until(attempt_at);
                break;
            }
            auto woke = co_await weft::select(commands.recv(), weft::sleep_until(attempt_at));
            if (woke.index() == 1) break;
            std::optional<ManagerRequest> request = std::move(std::get<0>(woke));
            if (request) held.push_back(std::move(*request));
            else handles_gone = true;
        }
        if (handles_gone) {
            answer_with_error(held, 0, failure);
            co_return std::nullopt;
        }
        std::optional<Client> client;
        try {
            Task<Client> attempt = Client::connect(where.info, where.client);
            TimeoutResult<Client> connected = co_await weft::timeout(options.connect_timeout, std::move(attempt));
            if (!connected.timed_out()) client.emplace(std::move(*connected));
        } catch (...) {
            // refused, reset, AUTH failed...: try again after the next wait
        }
        if (client) co_return client;
    }
}

// How many requests may be in flight at once (ManagerOptions::max_in_flight).
std::size_t in_flight_limit(const ManagerOptions& options) {
    if (options.mode == ManagerOptions::Mode::sequential) return 1;
    if (options.max_in_flight != 0) return options.max_in_flight;
    constexpr std::size_t kBatchesInFlight = 4;
    return options.max_batch > SIZE_MAX / kBatchesInFlight ? SIZE_MAX : options.max_batch * kBatchesInFlight;
}

// Serves one connection, full duplex, until every handle is gone and every request was answered
// (it returns), or until the connection fails (it throws; the requests in flight are left in
// `in_flight` for the caller to answer). With nothing in flight it waits for commands (reading
// the connection meanwhile on RESP3, for pushes); otherwise it races, in one select, writing
// what is due, reading replies and taking more commands while the window has room.
Task<void> serve(Client& client, mpsc::Receiver<ManagerRequest>& commands, std::vector<ManagerRequest>& held,
                 const ManagerOptions& options, bool resp3, InFlight& in_flight) {
    DuplexIo io(client);
    std::vector<ManagerRequest> batch;
    batch.reserve(options.max_batch);
    const auto answer = [&in_flight](Value&& reply) { in_flight.take(std::move(reply)); };
    bool channel_open = true;
    for (;;) {
        if (!held.empty() && in_flight.room() > 0) {  // taken while reconnecting: they go first
            const std::size_t n = std::min(held.size(), in_flight.room());
            for (std::size_t i = 0; i < n; ++i) in_flight.push(std::move(held[i]));
            held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(n));
            continue;
        }
        const std::size_t limit = std::min(options.max_batch, in_flight.room());
        batch.clear();
        if (in_flight.empty()) {
            if (!channel_open) co_return;
            const std::size_t n = co_await next_batch(client, commands, batch, limit, resp3);
            if (n == 0) co_return;
            for (ManagerRequest& r : batch) in_flight.push(std::move(r));
            // Usually the socket has room: the batch goes out now, without a select.
            in_flight.wrote(io.try_write(in_flight.unwritten()));
            continue;
        }
        const bool can_take = channel_open && limit > 0;
        std::optional<std::variant<std::size_t, std::size_t, std::size_t>> ready;
        if (!can_take && !in_flight.has_unwritten()) {
            // Only replies to wait for (sequential mode, or the window full): no select.
            std::size_t n = 0;
            try {
                n = co_await io.read();
            } catch (...) {
                io.fail(std::current_exception());
            }
            ready.emplace(std::in_place_index<1>, n);
        } else {
            try {
                // Biased: writing first keeps the server busy; reading before taking more answers
                // callers (who then send their next commands) before the window fills.
                ready.emplace(co_await weft::select(
                    weft::branch_if(in_flight.has_unwritten(), io.write(in_flight.unwritten())), io.read(),
                    weft::branch_if(can_take, commands.recv_many(batch, limit))));
            } catch (...) {
                io.fail(std::current_exception());
            }
        }
        switch (ready->index()) {
            case 0: in_flight.wrote(std::get<0>(*ready)); break;
            case 1: {
                const std::uint64_t before = in_flight.answered();
                io.take_replies(std::get<1>(*ready), answer);
                // The callers just answered are queued on this worker: let them run and send their
                // next commands before taking more, so the next write carries all of them rather
                // than the first one (the other replies are still being read meanwhile).
                if (in_flight.answered() - before > 1) co_await yield_now();
                break;
            }
            default: {
                if (std::get<2>(*ready) == 0) channel_open = false;
                for (ManagerRequest& r : batch) in_flight.push(std::move(r));
                break;
            }
        }
    }
}

}  // namespace

void throw_manager_gone(const ManagerState& state) {
    if (std::exception_ptr failed = state.failure()) std::rethrow_exception(failed);
    throw IoError(std::make_error_code(std::errc::operation_canceled),
                  "weft::redis: the manager task stopped before answering");
}

std::vector<Value> exec_replies(Value&& all) {
    Value::Array replies = std::move(all).as_array();  // MULTI's +OK, QUEUED..., EXEC's reply
    for (std::size_t i = 1; i + 1 < replies.size(); ++i) {
        // A command Redis refused to queue: the transaction was discarded (EXECABORT); its own
        // error says why.
        replies[i].throw_if_error();
    }
    Value& exec = replies.back();
    exec.throw_if_error();
    if (exec.is_nil())
        throw UnexpectedReplyError("weft::redis: the transaction was aborted (a WATCHed key changed)");
    return std::move(exec).as_array();
}

Task<void> run_manager(Client client, mpsc::Receiver<ManagerRequest> commands, std::shared_ptr<ManagerState> state,
                       ManagerOptions options, std::optional<ManagerReconnect> reconnect) {
    InFlight in_flight(in_flight_limit(options));
    std::vector<ManagerRequest> held;  // taken from the channel while reconnecting
    std::exception_ptr failure;
    for (;;) {
        try {
            co_await serve(client, commands, held, options, state->resp3(), in_flight);
        } catch (...) {
            failure = std::current_exception();
        }
        if (!failure) co_return;  // every handle is gone and every command was answered
        in_flight.fail_all(failure);
        if (!reconnect) break;
        // The commands in flight got the error; the queued ones wait for the new connection.
        state->set_reconnecting(true);
        std::optional<Client> next = co_await reconnect_client(*reconnect, options, commands, held, failure);
        if (!next) co_return;
        client = std::move(*next);
        failure = nullptr;
        state->set_reconnecting(false);
    }
    // The connection failed for good. Published before the channel closes, so a call that finds
    // it closed finds the error. New sends fail from now on (callers waiting for room wake and
    // fail); everything already queued gets the error.
    state->fail(failure);
    commands.close();
    std::vector<ManagerRequest> batch;
    for (;;) {
        batch.clear();
        const std::size_t n = co_await commands.recv_many(batch, options.max_batch);
        if (n == 0) break;
        answer_with_error(batch, 0, failure);
    }
}

SpawnedManager start_manager(Client client, std::size_t capacity, ManagerOptions options,
                             std::optional<ManagerReconnect> reconnect) {
    if (options.max_batch == 0) throw std::invalid_argument("weft::redis: ManagerOptions::max_batch must be at least 1");
    if (options.reconnect && !reconnect)
        throw std::invalid_argument(
            "weft::redis: ManagerOptions::reconnect needs to know where to connect: use connect_manager");
    if (!options.reconnect) reconnect.reset();
    auto [tx, rx] = mpsc::channel<ManagerRequest>(capacity);
    auto state = std::make_shared<ManagerState>(client.protocol() == RespVersion::resp3);
    JoinHandle<void> task = spawn(run_manager(std::move(client), std::move(rx), state, options, std::move(reconnect)));
    return SpawnedManager{Manager(std::move(tx), std::move(state)), std::move(task)};
}

}  // namespace detail

SpawnedManager spawn_manager(Client client, std::size_t capacity, ManagerOptions options) {
    return detail::start_manager(std::move(client), capacity, options, std::nullopt);
}

Task<SpawnedManager> connect_manager(ConnectionInfo info, std::size_t capacity, ManagerOptions options,
                                     ClientOptions client_options) {
    Task<Client> connecting = Client::connect(info, client_options);
    Client client = co_await connecting;
    detail::ManagerReconnect where{std::move(info), std::move(client_options)};
    co_return detail::start_manager(std::move(client), capacity, options, std::move(where));
}

Task<SpawnedManager> connect_manager(std::string_view url, std::size_t capacity, ManagerOptions options,
                                     ClientOptions client_options) {
    // Parsed inside the task, so a bad URL is thrown where it is awaited.
    return [](std::string url, std::size_t capacity, ManagerOptions options,
              ClientOptions client_options) -> Task<SpawnedManager> {
        Task<SpawnedManager> connecting = connect_manager(parse_url(url), capacity, options, std::move(client_options));
        SpawnedManager spawned = co_await connecting;
        co_return spawned;
    }(std::string(url), capacity, options, std::move(client_options));
}

}  // namespace weft::redis
