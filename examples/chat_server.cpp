// A chat server on a broadcast channel: a client sends its name as its first line (and is
// welcomed), then every line it sends reaches every other client as "name: line"; joining and
// leaving are announced (a last line cut short by the client leaving is relayed as it is).
// Each connection races the client's next line against the next broadcast in one select.
// SIGINT or SIGTERM stops it.
//
//   build/release/examples/chat_server [port]     then `nc 127.0.0.1 PORT` in a few terminals
#include <weft/channels/broadcast.hpp>
#include <weft/channels/cancellation_token.hpp>
#include <weft/channels/task_tracker.hpp>
#include <weft/runtime/net/buffered.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/signal.hpp>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using weft::Task;

// A line said by one client (`from` tells it not to hear itself).
struct Said {
    std::uint64_t from;
    std::string text;
};

Task<void> chat(weft::net::TcpStream stream, std::uint64_t id, weft::broadcast::Sender<Said> room,
                weft::CancellationToken stop) {
    weft::net::BufReader in(stream);
    std::string name;
    const bool named = co_await in.read_line(name);
    if (!named || name.empty()) co_return;
    auto heard = room.subscribe();
    (void)room.send(Said{id, name + " joined"});
    const std::string welcome = "welcome " + name + "\n";  // from here on this client hears the room
    co_await stream.write_all(welcome);
    std::string line;
    for (;;) {
        auto next = co_await weft::select(stop.cancelled(), in.read_line(line), heard.recv());
        if (next.index() == 0) break;                      // the server is stopping
        if (next.index() == 1) {
            if (!std::get<1>(next)) break;                 // the client left
            (void)room.send(Said{id, name + ": " + line});
            continue;
        }
        auto& said = std::get<2>(next);
        if (!said || (*said).from == id) continue;         // lagged, or our own line
        std::string out = (*said).text + "\n";
        co_await stream.write_all(out);
    }
    (void)room.send(Said{id, name + " left"});
}

Task<void> serve(std::uint16_t port) {
    weft::net::TcpListener listener = weft::net::TcpListener::bind("127.0.0.1", port);
    std::printf("listening on %s\n", listener.local_addr().to_string().c_str());
    std::fflush(stdout);
    auto interrupt = weft::signal::unix::signal(SIGINT);
    auto terminate = weft::signal::unix::signal(SIGTERM);
    auto [room, first] = weft::broadcast::channel<Said>(256);
    { auto unused = std::move(first); }  // each client subscribes its own receiver
    weft::CancellationToken stop;
    weft::TaskTracker clients;
    for (std::uint64_t id = 0;; ++id) {
        auto next = co_await weft::select(interrupt.recv(), terminate.recv(), listener.accept());
        if (next.index() != 2) break;
        clients.spawn(chat(std::move(std::get<2>(next).stream), id, room, stop)).detach();
    }
    stop.cancel();
    clients.close();
    co_await clients.wait();
    std::printf("stopped\n");
}

int main(int argc, char** argv) {
    const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    weft::Runtime runtime;
    runtime.block_on(serve(port));
}
