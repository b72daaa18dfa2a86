// Pitfall: a coroutine lambda's captures live in the lambda object, not in the coroutine frame.
//   lambda <form>   forms:
//     spawn-capture   weft::spawn([g = Guard{}]() -> Task<int> { co_await ...; use(g); }())   (the trap)
//     stored-capture  Task<int> t = [g = Guard{}]() -> Task<int> {...}(); co_await t;          (the trap)
//     await-capture   co_await [g = Guard{}]() -> Task<int> {...}();   (the lambda lives to the end of the
//                     full expression, which spans the await)
//     spawn-param     weft::spawn([](Guard g) -> Task<int> {...}(Guard{}))    (the workaround)
// Exit 0: the body saw its values alive; 3: a capture was already destroyed when the body resumed.
#include <weft/runtime/runtime.hpp>

#include <atomic>
#include <cstdio>
#include <string>

namespace {

std::atomic<long> live{0};

struct Guard {
    Guard() noexcept { ++live; }
    Guard(const Guard&) noexcept { ++live; }
    Guard(Guard&&) noexcept { ++live; }
    ~Guard() { --live; }
};

// Whether the guard the body uses still exists (no other Guard is alive in these programs).
int check() { return live.load() > 0 ? 0 : 3; }

weft::Task<int> run(std::string form) {
    if (form == "spawn-capture") {
        auto h = weft::spawn([g = Guard{}]() -> weft::Task<int> {
            co_await weft::yield_now();
            (void)g;
            co_return check();
        }());
        co_return co_await h;
    }
    if (form == "stored-capture") {
        weft::Task<int> t = [g = Guard{}]() -> weft::Task<int> {
            co_await weft::yield_now();
            (void)g;
            co_return check();
        }();
        const int rc = co_await t;
        co_return rc;
    }
    if (form == "await-capture") {
        const int rc = co_await [g = Guard{}]() -> weft::Task<int> {
            co_await weft::yield_now();
            (void)g;
            co_return check();
        }();
        co_return rc;
    }
    if (form == "spawn-param") {
        auto h = weft::spawn([](Guard g) -> weft::Task<int> {
            co_await weft::yield_now();
            (void)g;
            co_return check();
        }(Guard{}));
        co_return co_await h;
    }
    std::fprintf(stderr, "usage: lambda spawn-capture|stored-capture|await-capture|spawn-param\n");
    co_return 2;
}

}  // namespace

int main(int argc, char** argv) {
    weft::Runtime rt;
    return rt.block_on(run(argc > 1 ? argv[1] : ""));
}
