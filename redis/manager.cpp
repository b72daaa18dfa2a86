#include "manager.hpp"

#include <weft/runtime/select.hpp>
#include <weft/runtime/yield.hpp>

#include <stdexcept>
#include <system_error>
#include <vector>

#include "detail/backoff.hpp"

namespace weft::redis {

namespace detail {

namespace {

void answer_with_error(std::vector<ManagerRequest>& requests, std::size_t from, const std::exception_ptr& error) {
    for (std::size_t i = from; i < requests.size(); ++i) (void)requests[i].reply.send(ManagerOutcome(error));
}

// Sends a batch of requests over `client` and answers each as its replies arrive. A request of
// several commands (a pipeline or transaction) gets its replies as one array, once all arrived.
// Returns how many requests were answered; throws what broke the connection.
class BatchRunner {
public:
    explicit BatchRunner(std::vector<ManagerRequest>& batch) noexcept : batch_(batch) {}

    Task<void> run(Client& client, ManagerOptions::Mode mode, std::string& out) {
        answered_ = 0;
        collected_.clear();
        const auto answer = [this](Value&& reply) { take(std::move(reply)); };
        if (mode == ManagerOptions::Mode::pipelined) {
            out.clear();
            std::size_t replies = 0;
            for (const ManagerRequest& r : batch_) {
                out += r.encoded.view();
                replies += r.replies;
            }
            co_await client.write_commands(out);
            co_await client.read_replies(replies, answer);
            settle_unreplied();
        } else {
            for (const ManagerRequest& r : batch_) {
                co_await client.write_commands(r.encoded.view());
                co_await client.read_replies(r.replies, answer);
                settle_unreplied();
            }
        }
    }
    std::size_t answered() const noexcept { return answered_; }

private:
    // A caller that gave up has dropped its receiver: send() then hands the reply back, which we
    // drop. That is all a cancelled call costs here.
    void take(Value&& reply) {
        settle_unreplied();
        ManagerRequest& r = batch_[answered_];
        if (r.replies == 1) {
            (void)r.reply.send(ManagerOutcome(std::move(reply)));
            ++answered_;
            return;
        }
        collected_.push_back(std::move(reply));
        if (collected_.size() == r.replies) {
            (void)r.reply.send(ManagerOutcome(Value::array(std::move(collected_))));
            collected_ = Value::Array();
            ++answered_;
        }
    }
    // A request with no reply (a RESP3 SUBSCRIBE: its confirmations are pushes) is done once the
    // replies before it were read: answer it then, in order.
    void settle_unreplied() {
        while (answered_ < batch_.size() && batch_[answered_].replies == 0) {
            (void)batch_[answered_].reply.send(ManagerOutcome(Value()));
            ++answered_;
        }
    }

    std::vector<ManagerRequest>& batch_;
    std::size_t answered_ = 0;
    Value::Array collected_;
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
    std::vector<ManagerRequest> batch;
    batch.reserve(options.max_batch);
    std::vector<ManagerRequest> held;  // taken from the channel while reconnecting
    std::string out;  // the batch's commands, back to back: one write
    std::exception_ptr failure;
    BatchRunner runner(batch);
    for (;;) {
        while (!failure) {
            batch.clear();
            std::size_t n = 0;
            if (!held.empty()) {
                batch.swap(held);
                n = batch.size();
            } else {
                try {
                    n = co_await next_batch(client, commands, batch, options.max_batch, state->resp3());
                } catch (...) {
                    failure = std::current_exception();  // no command in flight: nobody to answer
                }
                if (failure) break;
                if (n == 0) co_return;  // every handle is gone and every command was answered
            }
            try {
                co_await runner.run(client, options.mode, out);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                answer_with_error(batch, runner.answered(), failure);
            } else if (n > 1) {
                // The callers just answered are queued on this worker: let them run and send
                // their next commands before draining the channel, so the next batch is whole
                // rather than the first few (one write, one round trip for all of them).
                co_await yield_now();
            }
        }
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
