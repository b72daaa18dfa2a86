// A key-value server with a line protocol (`SET key value`, `GET key`, `DEL key`), its state
// owned by one manager task: connection tasks send it commands over a bounded mpsc channel, each
// with a oneshot on which the manager answers (the actor pattern). SIGINT or SIGTERM stops it.
//
//   build/release/examples/kv_server [port]       then e.g. `nc 127.0.0.1 PORT`: SET a 1 / GET a
#include <weft/channels/cancellation_token.hpp>
#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/channels/task_tracker.hpp>
#include <weft/runtime/net/buffered.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/signal.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <unordered_map>

using weft::Task;

// A constructor, not an aggregate: g++ 12 miscompiles aggregate temporaries in co_await (README).
struct Command {
    Command(std::string verb, std::string key, std::string value, weft::oneshot::Sender<std::string> reply)
        : verb(std::move(verb)), key(std::move(key)), value(std::move(value)), reply(std::move(reply)) {}
    std::string verb, key, value;
    weft::oneshot::Sender<std::string> reply;
};

Task<void> store(weft::mpsc::Receiver<Command> commands) {
    std::unordered_map<std::string, std::string> data;
    while (auto c = co_await commands.recv()) {
        std::string answer = "OK";
        if (c->verb == "GET") {
            auto it = data.find(c->key);
            answer = it == data.end() ? "(nil)" : it->second;
        } else if (c->verb == "SET") {
            data[c->key] = std::move(c->value);
        } else {  // DEL
            answer = data.erase(c->key) ? "1" : "0";
        }
        (void)c->reply.send(std::move(answer));
    }
}

Task<void> client(weft::net::TcpStream stream, weft::mpsc::Sender<Command> to_store, weft::CancellationToken stop) {
    weft::net::BufReader in(stream);
    std::string line;
    for (;;) {
        auto next = co_await weft::select(stop.cancelled(), in.read_line(line));
        if (next.index() == 0 || !std::get<1>(next)) co_return;  // shutting down, or the client left
        std::istringstream words(line);
        std::string verb, key, value;
        words >> verb >> key;
        std::getline(words >> std::ws, value);
        const bool valid = !key.empty() && (verb == "GET" || verb == "DEL" || (verb == "SET" && !value.empty()));
        std::string answer = "ERR usage: SET key value | GET key | DEL key";
        if (valid) {
            auto [reply_tx, reply_rx] = weft::oneshot::channel<std::string>();
            Command command(verb, key, value, std::move(reply_tx));
            auto sent = co_await to_store.send(std::move(command));
            if (!sent) co_return;
            answer = co_await reply_rx;
        }
        answer += '\n';
        co_await stream.write_all(answer);
    }
}

Task<void> serve(std::uint16_t port) {
    weft::net::TcpListener listener = weft::net::TcpListener::bind("127.0.0.1", port);
    std::printf("listening on %s\n", listener.local_addr().to_string().c_str());
    std::fflush(stdout);
    auto interrupt = weft::signal::unix::signal(SIGINT);
    auto terminate = weft::signal::unix::signal(SIGTERM);
    auto [to_store, commands] = weft::mpsc::channel<Command>(128);
    auto manager = weft::spawn(store(std::move(commands)));
    weft::CancellationToken stop;
    weft::TaskTracker connections;
    for (;;) {
        auto next = co_await weft::select(interrupt.recv(), terminate.recv(), listener.accept());
        if (next.index() != 2) break;
        connections.spawn(client(std::move(std::get<2>(next).stream), to_store, stop)).detach();
    }
    stop.cancel();
    connections.close();
    co_await connections.wait();
    { auto last = std::move(to_store); }  // the manager ends once every sender is gone
    co_await manager;
    std::printf("stopped\n");
}

int main(int argc, char** argv) {
    const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    weft::Runtime runtime;
    runtime.block_on(serve(port));
}
