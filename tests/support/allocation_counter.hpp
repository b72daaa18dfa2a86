// Counts the allocations this thread makes while an AllocationCounter is alive, for tests that
// check a path allocates nothing (closing a semaphore, notify_waiters):
//
//   weft::test::AllocationCounter counting;
//   sem.close();
//   EXPECT_EQ(counting.allocations(), 0u);
//
// Include it from exactly one source file of a test executable: in plain builds it replaces the
// global operator new (and its delete). Sanitizer builds cannot replace it (clang links its
// runtime's operator new whole-archive), so there it counts in the sanitizer's malloc hook, which
// sees every allocation, operator new's included. Thread-local, so a count is the calling
// thread's own and other threads' allocations (another worker's) do not disturb it.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_ALLOCATION_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_ALLOCATION_HOOKS 1
#endif
#endif

namespace weft::test::detail {
inline thread_local bool t_counting = false;
inline thread_local std::size_t t_allocations = 0;

inline void count_allocation() noexcept {
    if (t_counting) ++t_allocations;
}
}  // namespace weft::test::detail

#ifdef WEFT_TEST_ALLOCATION_HOOKS
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace weft::test::detail {
inline void on_malloc(const volatile void*, std::size_t) { count_allocation(); }
inline void on_free(const volatile void*) {}
inline const int kAllocationHooksInstalled = __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free);
}  // namespace weft::test::detail
#else
void* operator new(std::size_t size) {
    weft::test::detail::count_allocation();
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
// g++ sees the free() of memory from operator new once these are inlined: here they are the pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace weft::test {

// Counts this thread's allocations from construction to destruction. Not nestable.
class AllocationCounter {
public:
    AllocationCounter() noexcept {
        detail::t_allocations = 0;
        detail::t_counting = true;
    }
    ~AllocationCounter() { detail::t_counting = false; }
    AllocationCounter(const AllocationCounter&) = delete;
    AllocationCounter& operator=(const AllocationCounter&) = delete;

    // Allocations so far (stops counting: read it once the code under test has run).
    std::size_t allocations() const noexcept {
        detail::t_counting = false;
        return detail::t_allocations;
    }
};

}  // namespace weft::test
