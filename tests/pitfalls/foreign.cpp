// Was a pitfall (a hang): awaiting an awaitable that is not weft's (from another library) inside a
// weft Task. Task's promise now adapts it (runtime/detail/foreign_awaiter.hpp): every form is ok.
//   foreign <form>   forms:
//     thread-resume   an awaiter that hands the coroutine handle to another thread, which calls
//                     h.resume() a millisecond later (how most callback-based libraries do it)
//     then-weft       the same, then a weft operation (a sleep) in the same task
//     oneshot-bridge  the workaround: the other thread sends on a weft::oneshot::Sender, the task
//                     awaits the receiver
// Exit 0: the task finished with the right value.
#include <weft/channels/oneshot.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

// A foreign awaiter: it knows nothing of weft and resumes the handle it was given.
struct ResumeOnThread {
    int value;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
        std::thread([h] {
            std::this_thread::sleep_for(1ms);
            h.resume();
        }).detach();
    }
    int await_resume() const noexcept { return value; }
};

weft::Task<int> child(bool then_weft) {
    const int v = co_await ResumeOnThread{42};
    if (then_weft) co_await weft::sleep(1ms);
    co_return v;
}

weft::Task<int> run(std::string form) {
    if (form == "thread-resume" || form == "then-weft") {
        const int v = co_await child(form == "then-weft");
        co_return v == 42 ? 0 : 3;
    }
    if (form == "oneshot-bridge") {
        auto [tx, rx] = weft::oneshot::channel<int>();
        std::thread([tx = std::move(tx)]() mutable {
            std::this_thread::sleep_for(1ms);
            (void)tx.send(42);
        }).detach();
        const int v = co_await rx;
        co_return v == 42 ? 0 : 3;
    }
    std::fprintf(stderr, "usage: foreign thread-resume|then-weft|oneshot-bridge\n");
    co_return 2;
}

}  // namespace

int main(int argc, char** argv) {
    weft::Runtime rt;
    return rt.block_on(run(argc > 1 ? argv[1] : ""));
}
