// The seed's complete example (Tokio's tutorial, "Channels"), line for line on weft: a manager
// task owns the one Redis connection; one task sends SET foo bar, another GET foo, each over the
// same mpsc channel with a oneshot responder, and prints what came back; then everything shuts
// down. (weft::redis::spawn_manager is this pattern, pipelined and with its failure handling.)
//
//   build/release/examples/redis_seed [port]      # a redis-server on 127.0.0.1 (default 6379)
//
// As in the seed, the two tasks race: GET may reach the server before SET, and then prints
// Ok(None). Exit code 0 when both got an answer, 1 when the connection failed.
#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/redis/client.hpp>
#include <weft/runtime/runtime.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <variant>

namespace {

// mini_redis::Result<T>: the value, or the error.
template <class T>
using Result = std::variant<T, std::exception_ptr>;

/// Provided by the requester and used by the manager task to send the command
/// response back to the requester.
template <class T>
using Responder = weft::oneshot::Sender<Result<T>>;

/// Multiple different commands are multiplexed over a single channel.
struct Get {
    std::string key;
    Responder<std::optional<std::string>> resp;
};
struct Set {
    std::string key;
    std::string val;
    Responder<std::monostate> resp;
};
// A class with a constructor, not an aggregate: g++ 12 miscompiles aggregate temporaries in a
// co_await operand (see README).
class Command {
public:
    explicit Command(std::variant<Get, Set> cmd) : cmd(std::move(cmd)) {}
    std::variant<Get, Set> cmd;
};

std::string show(const Result<std::optional<std::string>>& res) {
    if (const auto* error = std::get_if<std::exception_ptr>(&res)) {
        try {
            std::rethrow_exception(*error);
        } catch (const std::exception& e) {
            return std::string("Err(") + e.what() + ")";
        }
    }
    const auto& value = std::get<std::optional<std::string>>(res);
    return value ? "Ok(Some(\"" + *value + "\"))" : std::string("Ok(None)");
}

std::string show(const Result<std::monostate>& res) {
    if (const auto* error = std::get_if<std::exception_ptr>(&res)) {
        try {
            std::rethrow_exception(*error);
        } catch (const std::exception& e) {
            return std::string("Err(") + e.what() + ")";
        }
    }
    return "Ok(())";
}

std::uint16_t port = 6379;
bool failed = false;

weft::Task<void> run() {
    auto [tx, rx] = weft::mpsc::channel<Command>(32);
    // Clone a `tx` handle for the second f
    weft::mpsc::Sender<Command> tx2 = tx;

    weft::JoinHandle<void> manager = weft::spawn([](weft::mpsc::Receiver<Command> rx) -> weft::Task<void> {
        // Open a connection to the Redis address.
        weft::Task<weft::redis::Client> connecting = weft::redis::Client::connect("127.0.0.1", port);
        std::optional<weft::redis::Client> client;
        std::exception_ptr connect_error;
        try {
            client.emplace(co_await connecting);
        } catch (...) {
            connect_error = std::current_exception();  // the seed unwraps; we answer with it
            failed = true;
        }

        while (std::optional<Command> cmd = co_await rx.recv()) {
            if (auto* get = std::get_if<Get>(&cmd->cmd)) {
                Result<std::optional<std::string>> res = connect_error;
                if (client) {
                    try {
                        weft::Task<std::optional<std::string>> getting = client->get(get->key);
                        res = co_await getting;
                    } catch (...) {
                        res = std::current_exception();
                    }
                }
                // Ignore errors
                (void)get->resp.send(std::move(res));
            } else if (auto* set = std::get_if<Set>(&cmd->cmd)) {
                Result<std::monostate> res = connect_error;
                if (client) {
                    try {
                        weft::Task<void> setting = client->set(set->key, set->val);
                        co_await setting;
                        res = std::monostate{};
                    } catch (...) {
                        res = std::current_exception();
                    }
                }
                // Ignore errors
                (void)set->resp.send(std::move(res));
            }
        }
    }(std::move(rx)));

    // Spawn two tasks, one setting a value and other querying for key that was
    // set.
    weft::JoinHandle<void> t1 = weft::spawn([](weft::mpsc::Sender<Command> tx) -> weft::Task<void> {
        auto [resp_tx, resp_rx] = weft::oneshot::channel<Result<std::optional<std::string>>>();
        Command cmd(Get{"foo", std::move(resp_tx)});

        // Send the GET request
        auto sent = co_await tx.send(std::move(cmd));
        if (!sent) {
            std::fprintf(stderr, "connection task shutdown\n");
            co_return;
        }

        // Await the response
        Result<std::optional<std::string>> res = co_await resp_rx;
        std::printf("GOT (Get) = %s\n", show(res).c_str());
    }(std::move(tx)));

    weft::JoinHandle<void> t2 = weft::spawn([](weft::mpsc::Sender<Command> tx2) -> weft::Task<void> {
        auto [resp_tx, resp_rx] = weft::oneshot::channel<Result<std::monostate>>();
        Command cmd(Set{"foo", "bar", std::move(resp_tx)});

        // Send the SET request
        auto sent = co_await tx2.send(std::move(cmd));
        if (!sent) {
            std::fprintf(stderr, "connection task shutdown\n");
            co_return;
        }

        // Await the response
        Result<std::monostate> res = co_await resp_rx;
        std::printf("GOT (Set) = %s\n", show(res).c_str());
    }(std::move(tx2)));

    co_await t1;
    co_await t2;
    co_await manager;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) {
        const long p = std::strtol(argv[1], nullptr, 10);
        if (p <= 0 || p > 65535) {
            std::fprintf(stderr, "usage: %s [port of a redis-server on 127.0.0.1, default 6379]\n", argv[0]);
            return 2;
        }
        port = static_cast<std::uint16_t>(p);
    }
    weft::Runtime runtime;
    runtime.block_on(run());
    return failed ? 1 : 0;
}
