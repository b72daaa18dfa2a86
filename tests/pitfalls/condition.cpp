// Pitfall: co_await inside the condition of an if, while or switch.
//   condition <form>   each form is one small coroutine, awaited 1000 times:
//     if-exit         if (co_await count() == 0) co_return false; co_return true;
//     if-not-recv     if (!co_await rx.recv()) co_return false; co_return true;   (a channel receive)
//     while-exit      while (co_await count() == 0) co_return false; co_return true;
//     switch-exit     switch (co_await count()) { case 0: co_return false; default: break; } ...
//     if-in-loop      for (...) if (co_await count() == 0) ++zeros;
//     while-bare      while (co_await more(i)) ++i;
//     if-decl         if (auto n = co_await count()) co_return n == 1; co_return false;
//     if-init         if (auto n = co_await count(); n == 0) co_return false; co_return true;
//     while-decl      while (auto v = co_await rx.recv()) sum += *v;
//     statement       auto n = co_await count(); if (n == 0) co_return false; co_return true;
// Exit 0: every call returned the right value; 3: a wrong value.
#include <weft/channels/mpsc.hpp>
#include <weft/runtime/runtime.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace {

constexpr int kRounds = 1000;

weft::Task<std::size_t> count() {
    co_await weft::yield_now();  // suspends: the caller is resumed later
    co_return 1;
}

weft::Task<bool> more(int i) {
    co_await weft::yield_now();
    co_return i < kRounds;
}

weft::Task<bool> if_exit() {
    if (co_await count() == 0) co_return false;
    co_return true;
}

weft::Task<bool> if_not_recv(weft::mpsc::Receiver<int>& rx) {
    if (!co_await rx.recv()) co_return false;
    co_return true;
}

weft::Task<bool> while_exit() {
    while (co_await count() == 0) co_return false;
    co_return true;
}

weft::Task<bool> switch_exit() {
    switch (co_await count()) {
        case 0: co_return false;
        default: break;
    }
    co_return true;
}

weft::Task<bool> if_in_loop() {
    int zeros = 0;
    for (int i = 0; i < 3; ++i) {
        if (co_await count() == 0) ++zeros;
    }
    co_return zeros == 0;
}

weft::Task<bool> while_bare() {
    int i = 0;
    while (co_await more(i)) i += 100;
    co_return i == kRounds;
}

weft::Task<bool> if_decl() {
    if (auto n = co_await count()) co_return n == 1;
    co_return false;
}

weft::Task<bool> if_init() {
    if (auto n = co_await count(); n == 0) co_return false;
    co_return true;
}

weft::Task<bool> while_decl(weft::mpsc::Receiver<int>& rx) {
    int got = 0;
    while (auto v = co_await rx.recv()) {
        if (++got == 10) co_return true;
    }
    co_return false;
}

weft::Task<bool> statement() {
    const auto n = co_await count();
    if (n == 0) co_return false;
    co_return true;
}

weft::Task<void> produce(weft::mpsc::Sender<int> tx) {
    for (int i = 0; i < 10 * kRounds; ++i) {
        auto sent = co_await tx.send(i);
        if (!sent) co_return;
    }
}

weft::Task<int> repeat(std::function<weft::Task<bool>(weft::mpsc::Receiver<int>&)> form) {
    auto [tx, rx] = weft::mpsc::channel<int>(16);
    auto p = weft::spawn(produce(std::move(tx)));
    int rc = 0;
    for (int i = 0; i < kRounds; ++i) {
        const bool ok = co_await form(rx);
        if (!ok) rc = 3;
    }
    { auto closing = std::move(rx); }  // the producer stops once its send fails
    co_await p;
    co_return rc;
}

}  // namespace

int main(int argc, char** argv) {
    using Rx = weft::mpsc::Receiver<int>;
    const std::map<std::string, std::function<weft::Task<bool>(Rx&)>> forms = {
        {"if-exit", [](Rx&) { return if_exit(); }},
        {"if-not-recv", if_not_recv},
        {"while-exit", [](Rx&) { return while_exit(); }},
        {"switch-exit", [](Rx&) { return switch_exit(); }},
        {"if-in-loop", [](Rx&) { return if_in_loop(); }},
        {"while-bare", [](Rx&) { return while_bare(); }},
        {"if-decl", [](Rx&) { return if_decl(); }},
        {"if-init", [](Rx&) { return if_init(); }},
        {"while-decl", while_decl},
        {"statement", [](Rx&) { return statement(); }},
    };
    const auto it = forms.find(argc > 1 ? argv[1] : "");
    if (it == forms.end()) {
        std::fprintf(stderr, "usage: condition FORM (see the top of condition.cpp)\n");
        return 2;
    }
    weft::Runtime rt;
    return rt.block_on(repeat(it->second));
}
