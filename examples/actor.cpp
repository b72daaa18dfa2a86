// The actor pattern from Tokio's tutorial, without Redis: a manager task owns some state (a map of
// counters); client tasks send it commands over a bounded mpsc channel, each command carrying a
// oneshot sender on which the manager answers.
//
//   build/release/examples/actor [clients] [requests-per-client]
#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

// A command the manager understands. It has a constructor on purpose: g++ 12 miscompiles a
// brace-initialised aggregate temporary written directly inside `co_await` (see README).
struct Command {
    enum class Kind { increment, get };
    Command(Kind kind, std::string key, weft::oneshot::Sender<long> reply)
        : kind(kind), key(std::move(key)), reply(std::move(reply)) {}
    Kind kind;
    std::string key;
    weft::oneshot::Sender<long> reply;
};

weft::Task<void> manager(weft::mpsc::Receiver<Command> commands) {
    std::map<std::string, long> counters;  // owned by this task alone: no lock
    while (auto cmd = co_await commands.recv()) {
        long& value = counters[cmd->key];
        if (cmd->kind == Command::Kind::increment) ++value;
        // The caller may have given up (its receiver dropped): then the reply just comes back.
        (void)cmd->reply.send(value);
    }
}

weft::Task<long> client(weft::mpsc::Sender<Command> manager, int id, int requests) {
    long last = 0;
    for (int i = 0; i < requests; ++i) {
        auto [reply_tx, reply_rx] = weft::oneshot::channel<long>();
        const auto kind = i % 2 == 0 ? Command::Kind::increment : Command::Kind::get;
        auto sent = co_await manager.send(Command(kind, "key:" + std::to_string((id + i) % 16), std::move(reply_tx)));
        if (!sent) throw std::runtime_error("the manager is gone");
        last = co_await reply_rx;
    }
    co_return last;
}

weft::Task<long> run(int clients, int requests) {
    auto [tx, rx] = weft::mpsc::channel<Command>(32);
    auto manager_task = weft::spawn(manager(std::move(rx)));
    std::vector<weft::JoinHandle<long>> handles;
    for (int c = 0; c < clients; ++c) handles.push_back(weft::spawn(client(tx, c, requests)));
    { auto last_sender = std::move(tx); }  // drop ours: the manager stops once the clients' are gone
    long total = 0;
    for (auto& h : handles) total += co_await h;
    co_await manager_task;
    co_return total;
}

}  // namespace

int main(int argc, char** argv) {
    const int clients = argc > 1 ? std::atoi(argv[1]) : 64;
    const int requests = argc > 2 ? std::atoi(argv[2]) : 10'000;
    if (clients <= 0 || requests <= 0) {
        std::fprintf(stderr, "usage: %s [clients > 0] [requests-per-client > 0]\n", argv[0]);
        return 2;
    }
    weft::Runtime runtime;
    const auto start = std::chrono::steady_clock::now();
    runtime.block_on(run(clients, requests));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double total = double(clients) * requests;
    std::printf("%d clients x %d requests through one manager task: %.0f requests in %.3f s (%.2f M requests/s)\n",
                clients, requests, total, seconds, total / seconds / 1e6);
    const weft::RuntimeMetrics m = runtime.metrics();
    std::printf("runtime: %lu workers, %lu tasks spawned, %lu polls, %lu steals, %lu parks\n",
                (unsigned long)m.workers, (unsigned long)m.tasks_spawned, (unsigned long)m.polls,
                (unsigned long)m.steal_operations, (unsigned long)m.parks);
}
