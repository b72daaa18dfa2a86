// A program that uses an installed weft the way a user's would: tests/install/check.sh builds it
// with pkg-config, CMake and as a meson subproject. It checks real outcomes (every value arrives
// once, the oneshot answer comes back) and whose malloc the program ended up with.
//
//   consumer libc|mimalloc     the allocator malloc must come from
#include <weft/weft.hpp>

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

weft::Task<void> producer(weft::mpsc::Sender<int> tx, int first, int count) {
    for (int i = first; i < first + count; ++i) {
        auto sent = co_await tx.send(i);
        if (!sent) co_return;
    }
}

weft::Task<void> summer(weft::mpsc::Receiver<int> rx, weft::oneshot::Sender<std::vector<int>> reply) {
    std::vector<int> seen;
    for (;;) {
        auto v = co_await rx.recv();  // declaration form: see the README's Pitfalls
        if (!v) break;
        seen.push_back(*v);
    }
    (void)reply.send(std::move(seen));
}

weft::Task<std::vector<int>> run(int producers, int per_producer) {
    auto [tx, rx] = weft::mpsc::channel<int>(8);
    auto [reply_tx, reply_rx] = weft::oneshot::channel<std::vector<int>>();
    auto consumer = weft::spawn(summer(std::move(rx), std::move(reply_tx)));
    for (int p = 0; p < producers; ++p) weft::spawn(producer(tx, p * per_producer, per_producer)).detach();
    { auto ours = std::move(tx); }
    auto seen = co_await reply_rx;
    co_await consumer;
    co_return seen;
}

std::string library_of(const char* symbol) {
    Dl_info info{};
    void* address = ::dlsym(RTLD_DEFAULT, symbol);
    if (address == nullptr || ::dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "?";
    return info.dli_fname;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string want = argc > 1 ? argv[1] : "libc";
    constexpr int producers = 4, per_producer = 2500;
    weft::Runtime runtime;
    std::vector<int> seen = runtime.block_on(run(producers, per_producer));

    std::vector<int> count(producers * per_producer, 0);
    for (int v : seen) {
        if (v < 0 || v >= producers * per_producer) return std::printf("consumer: out of range %d\n", v), 1;
        ++count[v];
    }
    for (int i = 0; i < producers * per_producer; ++i) {
        if (count[i] != 1) return std::printf("consumer: value %d arrived %d times\n", i, count[i]), 1;
    }

    const std::string malloc_from = library_of("malloc");
    const bool from_mimalloc = malloc_from.find("mimalloc") != std::string::npos;
    if (from_mimalloc != (want == "mimalloc")) {
        std::printf("consumer: malloc comes from %s, expected %s\n", malloc_from.c_str(), want.c_str());
        return 1;
    }
    std::printf("consumer ok: %zu values, each once; malloc from %s\n", seen.size(), malloc_from.c_str());
    return 0;
}
