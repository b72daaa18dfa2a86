// Pitfall: a brace-initialised aggregate temporary, or a lambda with captures, written directly in
// a co_await operand.
//   aggregate <form>   forms:
//     aggregate      co_await tx.send(Command{1, key, std::move(reply)});            (the trap)
//     bound          Command cmd{...}; co_await tx.send(std::move(cmd));
//     constructor    co_await tx.send(CommandCtor{...});  (the same type with a constructor)
//     lambda         co_await weft::spawn_blocking([key] { return key.size(); });  (the trap)
//     lambda-bound   auto f = [key] {...}; co_await weft::spawn_blocking(f);
// Exit 0: every reply arrived. A RecvError is exit 3 ("wrong"); a crash or hang is the bug showing.
#include <weft/channels/mpsc.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Command {  // an aggregate
    int kind;
    std::string key;
    weft::oneshot::Sender<long> reply;
};

struct CommandCtor {  // the same, with a constructor
    CommandCtor(int kind, std::string key, weft::oneshot::Sender<long> reply)
        : kind(kind), key(std::move(key)), reply(std::move(reply)) {}
    int kind;
    std::string key;
    weft::oneshot::Sender<long> reply;
};

template <class C>
weft::Task<void> manager(weft::mpsc::Receiver<C> rx) {
    for (;;) {
        auto cmd = co_await rx.recv();
        if (!cmd) break;
        (void)cmd->reply.send(static_cast<long>(cmd->key.size()) + cmd->kind);
    }
}

const std::string kKey(40, 'k');  // long enough to live on the heap

weft::Task<int> aggregate_form(weft::mpsc::Sender<Command> tx) {
    for (int i = 0; i < 1000; ++i) {
        auto [reply_tx, reply_rx] = weft::oneshot::channel<long>();
        auto sent = co_await tx.send(Command{1, kKey, std::move(reply_tx)});  // the trap
        if (!sent) co_return 3;
        try {
            const long got = co_await reply_rx;
            if (got != 41) co_return 3;
        } catch (const weft::oneshot::RecvError&) {
            co_return 3;
        }
    }
    co_return 0;
}

weft::Task<int> bound_form(weft::mpsc::Sender<Command> tx) {
    for (int i = 0; i < 1000; ++i) {
        auto [reply_tx, reply_rx] = weft::oneshot::channel<long>();
        Command cmd{1, kKey, std::move(reply_tx)};
        auto sent = co_await tx.send(std::move(cmd));
        if (!sent) co_return 3;
        try {
            const long got = co_await reply_rx;
            if (got != 41) co_return 3;
        } catch (const weft::oneshot::RecvError&) {
            co_return 3;
        }
    }
    co_return 0;
}

weft::Task<int> constructor_form(weft::mpsc::Sender<CommandCtor> tx) {
    for (int i = 0; i < 1000; ++i) {
        auto [reply_tx, reply_rx] = weft::oneshot::channel<long>();
        auto sent = co_await tx.send(CommandCtor{1, kKey, std::move(reply_tx)});
        if (!sent) co_return 3;
        try {
            const long got = co_await reply_rx;
            if (got != 41) co_return 3;
        } catch (const weft::oneshot::RecvError&) {
            co_return 3;
        }
    }
    co_return 0;
}

weft::Task<int> lambda_form(bool bound) {
    std::size_t total = 0;
    for (int i = 0; i < 1000; ++i) {
        if (bound) {
            auto f = [key = kKey] { return key.size(); };
            total += co_await weft::spawn_blocking(f);
        } else {
            total += co_await weft::spawn_blocking([key = kKey] { return key.size(); });  // the trap
        }
    }
    co_return total == 1000 * kKey.size() ? 0 : 3;
}

template <class C, class F>
weft::Task<int> run(F client) {
    auto [tx, rx] = weft::mpsc::channel<C>(8);
    auto m = weft::spawn(manager<C>(std::move(rx)));
    const int rc = co_await client(std::move(tx));
    co_await m;
    co_return rc;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string form = argc > 1 ? argv[1] : "";
    weft::Runtime rt;
    if (form == "aggregate") return rt.block_on(run<Command>(aggregate_form));
    if (form == "bound") return rt.block_on(run<Command>(bound_form));
    if (form == "constructor") return rt.block_on(run<CommandCtor>(constructor_form));
    if (form == "lambda") return rt.block_on(lambda_form(false));
    if (form == "lambda-bound") return rt.block_on(lambda_form(true));
    std::fprintf(stderr, "usage: aggregate aggregate|bound|constructor|lambda|lambda-bound\n");
    return 2;
}
