// Linking weft leaves the program's malloc alone: frames come from operator new, whatever
// allocator the program chose (runtime/detail/frame_memory.hpp says why; the README's "Memory").
#include <weft/runtime/detail/frame_memory.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/task.hpp>

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#ifndef __has_feature
#define __has_feature(x) 0
#endif

namespace {

// The file name of the shared object that defines `symbol`.
std::string library_defining(void* symbol) {
    Dl_info info{};
    if (symbol == nullptr || ::dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return "?";
    return info.dli_fname;
}

TEST(FrameMemory, TheProgramsMallocStaysTheCLibrarys) {
    weft::Runtime rt(weft::RuntimeOptions{.worker_threads = 1});
    int got = rt.block_on([]() -> weft::Task<int> { co_return 7; }());
    EXPECT_EQ(got, 7);

    void* malloc_symbol = ::dlsym(RTLD_DEFAULT, "malloc");
    void* free_symbol = ::dlsym(RTLD_DEFAULT, "free");
    std::string malloc_from = library_defining(malloc_symbol);
    std::string free_from = library_defining(free_symbol);
    EXPECT_EQ(malloc_from.find("mimalloc"), std::string::npos) << malloc_from;
    EXPECT_EQ(free_from.find("mimalloc"), std::string::npos) << free_from;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer)
    EXPECT_NE(malloc_from.find("libc.so"), std::string::npos) << malloc_from;  // sanitizers own malloc
#endif
}

TEST(FrameMemory, FrameMemoryIsWritableAndReturned) {
    for (std::size_t size : {std::size_t{16}, std::size_t{4096}, std::size_t{1} << 20}) {
        void* p = weft::detail::allocate_frame_memory(size);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__, 0u);
        std::memset(p, 0xab, size);
        weft::detail::free_frame_memory(p);
    }
}

}  // namespace
