#include "manager.hpp"

#include <weft/runtime/yield.hpp>

#include <stdexcept>
#include <system_error>
#include <vector>

namespace weft::redis {

namespace detail {

namespace {

void answer_with_error(std::vector<ManagerRequest>& requests, std::size_t from, const std::exception_ptr& error) {
    for (std::size_t i = from; i < requests.size(); ++i) (void)requests[i].reply.send(ManagerOutcome(error));
}

}  // namespace

void throw_manager_gone(const ManagerState& state) {
    if (std::exception_ptr failed = state.failure()) std::rethrow_exception(failed);
    throw IoError(std::make_error_code(std::errc::operation_canceled),
                  "weft::redis: the manager task stopped before answering");
}

Task<void> run_manager(Client client, mpsc::Receiver<ManagerRequest> commands, std::shared_ptr<ManagerState> state,
                       ManagerOptions options) {
    std::vector<ManagerRequest> batch;
    batch.reserve(options.max_batch);
    std::string out;  // the batch's commands, back to back: one write
    std::exception_ptr failure;
    while (!failure) {
        batch.clear();
        const std::size_t n = co_await commands.recv_many(batch, options.max_batch);
        if (n == 0) co_return;  // every handle is gone and every command was answered
        std::size_t answered = 0;
        // A caller that gave up has dropped its receiver: send() then hands the reply back,
        // which we drop. That is all a cancelled call costs here.
        const auto answer = [&](Value&& reply) { (void)batch[answered++].reply.send(ManagerOutcome(std::move(reply))); };
        try {
            if (options.mode == ManagerOptions::Mode::pipelined) {
                out.clear();
                for (const ManagerRequest& r : batch) out += r.encoded.view();
                co_await client.write_commands(out);
                co_await client.read_replies(n, answer);
            } else {
                for (const ManagerRequest& r : batch) {
                    co_await client.write_commands(r.encoded.view());
                    co_await client.read_replies(1, answer);
                }
            }
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            // Published before the channel closes, so a call that finds it closed finds the error.
            state->fail(failure);
            answer_with_error(batch, answered, failure);
        } else if (n > 1) {
            // The callers just answered are queued on this worker: let them run and send their
            // next commands before draining the channel, so the next batch is whole rather than
            // the first few (one write, one round trip for all of them).
            co_await yield_now();
        }
    }
    // The connection failed. New sends fail from now on (callers waiting for room wake and fail);
    // everything already queued gets the error.
    commands.close();
    for (;;) {
        batch.clear();
        const std::size_t n = co_await commands.recv_many(batch, options.max_batch);
        if (n == 0) break;
        answer_with_error(batch, 0, failure);
    }
}

}  // namespace detail

SpawnedManager spawn_manager(Client client, std::size_t capacity, ManagerOptions options) {
    if (options.max_batch == 0) throw std::invalid_argument("weft::redis: ManagerOptions::max_batch must be at least 1");
    auto [tx, rx] = mpsc::channel<detail::ManagerRequest>(capacity);
    auto state = std::make_shared<detail::ManagerState>();
    JoinHandle<void> task = spawn(detail::run_manager(std::move(client), std::move(rx), state, options));
    return SpawnedManager{Manager(std::move(tx), std::move(state)), std::move(task)};
}

}  // namespace weft::redis
