// Pitfall: a conditional expression (?:) with a co_await in a branch, or choosing between two task
// temporaries, in a co_await operand or initialiser.
//   conditional <form>   forms:
//     permit        AcquireResult r = c ? sem.try_acquire() : co_await sem.acquire();   (the trap)
//     tasks         int v = co_await (c ? child(1) : child(2));                          (the trap)
//     tasks-bound   Task<int> t = c ? child(1) : child(2); int v = co_await t;
//     if-else       the same choices written with if/else
// Exit 0: every permit came back exactly once and every value is right; 3: a count or value is wrong.
#include <weft/channels/semaphore.hpp>
#include <weft/runtime/runtime.hpp>

#include <cstdio>
#include <string>

namespace {

weft::Task<int> child(int x) {
    co_await weft::yield_now();
    co_return x;
}

weft::Task<int> permit_form(weft::Semaphore& sem) {
    for (int i = 0; i < 1000; ++i) {
        {
            const bool c = i % 2 == 0;
            weft::AcquireResult r = c ? sem.try_acquire() : co_await sem.acquire();  // the trap
            if (!r) co_return 3;
        }
        if (sem.available_permits() != 4) co_return 3;
    }
    co_return 0;
}

weft::Task<int> permit_if_else(weft::Semaphore& sem) {
    for (int i = 0; i < 1000; ++i) {
        {
            std::optional<weft::AcquireResult> r;
            if (i % 2 == 0) {
                r.emplace(sem.try_acquire());
            } else {
                r.emplace(co_await sem.acquire());
            }
            if (!*r) co_return 3;
        }
        if (sem.available_permits() != 4) co_return 3;
    }
    co_return 0;
}

weft::Task<int> tasks_form() {
    long sum = 0;
    for (int i = 0; i < 1000; ++i) {
        const bool c = i % 2 == 0;
        const int v = co_await (c ? child(1) : child(2));  // the trap
        sum += v;
    }
    co_return sum == 1500 ? 0 : 3;
}

weft::Task<int> tasks_bound() {
    long sum = 0;
    for (int i = 0; i < 1000; ++i) {
        const bool c = i % 2 == 0;
        weft::Task<int> t = c ? child(1) : child(2);
        const int v = co_await t;
        sum += v;
    }
    co_return sum == 1500 ? 0 : 3;
}

weft::Task<int> tasks_if_else() {
    long sum = 0;
    for (int i = 0; i < 1000; ++i) {
        int v = 0;
        if (i % 2 == 0) {
            v = co_await child(1);
        } else {
            v = co_await child(2);
        }
        sum += v;
    }
    co_return sum == 1500 ? 0 : 3;
}

weft::Task<int> if_else(weft::Semaphore& sem) {
    const int a = co_await permit_if_else(sem);
    if (a != 0) co_return a;
    const int b = co_await tasks_if_else();
    co_return b;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string form = argc > 1 ? argv[1] : "";
    weft::Runtime rt;
    weft::Semaphore sem(4);
    if (form == "permit") return rt.block_on(permit_form(sem));
    if (form == "tasks") return rt.block_on(tasks_form());
    if (form == "tasks-bound") return rt.block_on(tasks_bound());
    if (form == "if-else") return rt.block_on(if_else(sem));
    std::fprintf(stderr, "usage: conditional permit|tasks|tasks-bound|if-else\n");
    return 2;
}
