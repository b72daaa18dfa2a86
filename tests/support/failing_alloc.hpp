// Allocation accounting for "this never allocates" tests. Include it in ONE translation unit of a
// test executable (it replaces the global operator new there).
//
//   { weft::test::NoAllocations guard; drop_the_receiver(); EXPECT_EQ(guard.count(), 0u); }
//
// While a NoAllocations lives, every allocation on this thread is counted, and in plain builds it
// also fails (operator new throws std::bad_alloc): code that allocates on a noexcept path then
// terminates the test instead of passing. Sanitizer builds cannot replace operator new (clang links
// its runtime's whole-archive), so there the sanitizer's malloc hook only counts.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_ALLOC_SANITIZER_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_ALLOC_SANITIZER_HOOKS 1
#endif
#endif

namespace weft::test {

namespace alloc_detail {
inline thread_local bool t_tracking = false;
inline thread_local std::size_t t_count = 0;
// Counts one allocation; true if it must fail.
inline bool on_allocation() noexcept {
    if (!t_tracking) return false;
    ++t_count;
    return true;
}
}  // namespace alloc_detail

// True where a counted allocation also fails (plain builds).
#ifdef WEFT_TEST_ALLOC_SANITIZER_HOOKS
inline constexpr bool kAllocationsFail = false;
#else
inline constexpr bool kAllocationsFail = true;
#endif

class NoAllocations {
public:
    NoAllocations() noexcept {
        alloc_detail::t_count = 0;
        alloc_detail::t_tracking = true;
    }
    NoAllocations(const NoAllocations&) = delete;
    NoAllocations& operator=(const NoAllocations&) = delete;
    ~NoAllocations() { alloc_detail::t_tracking = false; }
    // Allocations this thread made (or attempted) since the guard was made.
    std::size_t count() const noexcept { return alloc_detail::t_count; }
};

}  // namespace weft::test

#ifdef WEFT_TEST_ALLOC_SANITIZER_HOOKS
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace weft::test::alloc_detail {
inline void malloc_hook(const volatile void*, std::size_t) { (void)on_allocation(); }
inline void free_hook(const volatile void*) {}
inline const int kHooksInstalled = __sanitizer_install_malloc_and_free_hooks(&malloc_hook, &free_hook);
}  // namespace weft::test::alloc_detail
#else
void* operator new(std::size_t size) {
    if (weft::test::alloc_detail::on_allocation()) throw std::bad_alloc();
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align) {
    if (weft::test::alloc_detail::on_allocation()) throw std::bad_alloc();
    const std::size_t a = static_cast<std::size_t>(align);
    if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
// g++ sees the free() of memory from operator new once these are inlined: here they are the pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
