// An echo server: each connection's bytes are written back. SIGINT or SIGTERM stops accepting;
// the open connections are told to stop (a CancellationToken) and waited for (a TaskTracker).
//
//   build/release/examples/echo_server [port]     (default 0: any free port; it prints which)
#include <weft/channels/cancellation_token.hpp>
#include <weft/channels/task_tracker.hpp>
#include <weft/runtime/net/tcp_listener.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/signal.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <vector>

using weft::Task;

Task<void> echo(weft::net::TcpStream stream, weft::CancellationToken stop) {
    std::vector<char> buf(16 * 1024);
    for (;;) {
        auto got = co_await weft::select(stop.cancelled(), stream.read(std::span<char>(buf)));
        if (got.index() == 0) co_return;  // shutting down
        const std::size_t n = std::get<1>(got);
        if (n == 0) co_return;  // the client closed its side
        co_await stream.write_all(std::string_view(buf.data(), n));
    }
}

Task<void> serve(std::uint16_t port) {
    weft::net::TcpListener listener = weft::net::TcpListener::bind("127.0.0.1", port);
    std::printf("listening on %s\n", listener.local_addr().to_string().c_str());
    std::fflush(stdout);
    auto interrupt = weft::signal::unix::signal(SIGINT);
    auto terminate = weft::signal::unix::signal(SIGTERM);
    weft::CancellationToken stop;
    weft::TaskTracker connections;
    for (;;) {
        auto next = co_await weft::select(interrupt.recv(), terminate.recv(), listener.accept());
        if (next.index() != 2) break;  // a signal
        connections.spawn(echo(std::move(std::get<2>(next).stream), stop)).detach();
    }
    stop.cancel();
    connections.close();
    co_await connections.wait();
    std::printf("stopped\n");
}

int main(int argc, char** argv) {
    const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    weft::Runtime runtime;
    runtime.block_on(serve(port));
}
