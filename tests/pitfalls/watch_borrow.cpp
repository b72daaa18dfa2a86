// Pitfall: holding a watch::Receiver::borrow() guard (a shared lock on the value) across a co_await.
//   watch_borrow <form>   forms (on a current_thread runtime, where every task shares one thread):
//     borrow-across   auto ref = rx.borrow(); co_await ...; use(*ref);    (the trap: the sender spins
//                     for the lock on the only thread, so the reader never runs again)
//     copy-out        int v = *rx.borrow(); co_await ...; use(v);         (the workaround)
// Exit 0: both tasks finished.
#include <weft/channels/watch.hpp>
#include <weft/runtime/runtime.hpp>

#include <cstdio>
#include <string>

namespace {

weft::Task<void> writer(weft::watch::Sender<int> tx) {
    (void)tx.send(1);  // takes the value's exclusive lock
    co_return;
}

weft::Task<int> run(std::string form) {
    auto [tx, rx] = weft::watch::channel<int>(0);
    auto w = weft::spawn(writer(std::move(tx)));
    int seen = -1;
    if (form == "borrow-across") {
        auto ref = rx.borrow();
        co_await weft::yield_now();  // the writer runs here
        seen = *ref;
    } else if (form == "copy-out") {
        const int v = *rx.borrow();
        co_await weft::yield_now();
        seen = v;
    } else {
        std::fprintf(stderr, "usage: watch_borrow borrow-across|copy-out\n");
        co_return 2;
    }
    co_await w;
    co_return seen == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    weft::Runtime rt(weft::RuntimeOptions{.flavor = weft::Flavor::current_thread});
    return rt.block_on(run(argc > 1 ? argv[1] : ""));
}
