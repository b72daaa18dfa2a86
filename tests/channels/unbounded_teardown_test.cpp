// mpsc::unbounded_channel teardown under memory exhaustion: dropping the receiver, close(), and
// waking UnboundedSender::closed() waiters allocate nothing, so they can neither throw (a receiver's
// destructor is noexcept: the process would end) nor strand a waiter.
//
// The hook: this executable replaces the global operator new. On a thread inside a NoAllocations
// scope every allocation is refused (std::bad_alloc) and counted. moodycamel's queue allocates with
// std::malloc, which the hook does not see; the teardown paths only dequeue, which never allocates
// (concurrentqueue.h: try_dequeue takes no allocation path). The sanitizers' runtimes define
// operator new themselves, so under ASan and TSan the hook is left out: the tests then check the
// wakes and the destruction only (the release build checks the allocations).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <weft/channels/unbounded.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/yield.hpp>

#include "support/runtimes.hpp"
#include "support/test_event.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_ALLOCATION_HOOK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_TEST_ALLOCATION_HOOK 0
#endif
#endif
#ifndef WEFT_TEST_ALLOCATION_HOOK
#define WEFT_TEST_ALLOCATION_HOOK 1
#endif

namespace {

thread_local bool refuse_allocations = false;
std::atomic<long> refused{0};

[[maybe_unused]] void* allocate(std::size_t size, std::size_t align) {
    if (refuse_allocations) {
        refused.fetch_add(1);
        throw std::bad_alloc();
    }
    if (size == 0) size = 1;
    void* p = align <= alignof(std::max_align_t) ? std::malloc(size)
                                                 : std::aligned_alloc(align, (size + align - 1) / align * align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

// Refuses every allocation on this thread while it lives.
struct NoAllocations {
    NoAllocations() { refuse_allocations = true; }
    ~NoAllocations() { refuse_allocations = false; }
    NoAllocations(const NoAllocations&) = delete;
    NoAllocations& operator=(const NoAllocations&) = delete;
};

}  // namespace

#if WEFT_TEST_ALLOCATION_HOOK
void* operator new(std::size_t size) { return allocate(size, alignof(std::max_align_t)); }
void* operator new(std::size_t size, std::align_val_t align) { return allocate(size, static_cast<std::size_t>(align)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

namespace {

using weft::JoinHandle;
using weft::Task;
using weft::mpsc::UnboundedReceiver;
using weft::mpsc::UnboundedSender;

class UnboundedTeardownTest : public weft::test::AllRuntimes {};

// More waiters than WakeBatch keeps inline, so its overflow path runs too.
constexpr int kWaiters = 40;

Task<void> wait_closed(UnboundedSender<std::string> tx, std::shared_ptr<std::atomic<int>> woken) {
    co_await tx.closed();
    woken->fetch_add(1);
}

TEST(UnboundedTeardown, TheHookRefusesAllocations) {
    if (!WEFT_TEST_ALLOCATION_HOOK) GTEST_SKIP() << "no allocation hook under a sanitizer";
    NoAllocations none;
    EXPECT_THROW((void)std::make_unique<std::string>("x"), std::bad_alloc);
    refused.store(0);
}

TEST_P(UnboundedTeardownTest, CloseAllocatesNothingAndWakesEveryClosedWaiter) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        auto [tx, rx] = weft::mpsc::unbounded_channel<std::string>();
        auto woken = std::make_shared<std::atomic<int>>(0);
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < kWaiters; ++i) waiters.push_back(weft::spawn(wait_closed(tx, woken)));
        for (int i = 0; i < 20; ++i) co_await weft::yield_now();
        refused.store(0);
        {
            NoAllocations none;
            rx.close();
            rx.close();
        }
        EXPECT_EQ(refused.load(), 0);
        for (JoinHandle<void>& w : waiters) co_await w;
        EXPECT_EQ(woken->load(), kWaiters);
    }());
}

TEST_P(UnboundedTeardownTest, DroppingTheReceiverAllocatesNothingDestroysWhatIsBufferedAndWakesWaiters) {
    auto rt = make_runtime();
    rt->block_on([]() -> Task<void> {
        const long before = weft::test::Tracked::live.load();
        auto [tx, rx] = weft::mpsc::unbounded_channel<std::string>();
        auto [boxed_tx, boxed_rx] = weft::mpsc::unbounded_channel<weft::test::Tracked>();  // boxed values
        for (int i = 0; i < 1000; ++i) {
            EXPECT_TRUE(tx.send(std::string(100, 'x')));
            EXPECT_TRUE(boxed_tx.send(weft::test::Tracked{}));
        }
        EXPECT_TRUE(boxed_rx.try_recv());  // one dequeued and taken; the front path runs too
        auto woken = std::make_shared<std::atomic<int>>(0);
        std::vector<JoinHandle<void>> waiters;
        for (int i = 0; i < kWaiters; ++i) waiters.push_back(weft::spawn(wait_closed(tx, woken)));
        for (int i = 0; i < 20; ++i) co_await weft::yield_now();
        refused.store(0);
        {
            NoAllocations none;
            { auto gone = std::move(rx); }
            { auto gone = std::move(boxed_rx); }
        }
        EXPECT_EQ(refused.load(), 0);
        EXPECT_EQ(weft::test::Tracked::live.load(), before);
        for (JoinHandle<void>& w : waiters) co_await w;
        EXPECT_EQ(woken->load(), kWaiters);
        EXPECT_TRUE(tx.send(std::string("late")).is_closed());
    }());
}

// A value whose move may throw is boxed (unbounded.hpp): when the box cannot be allocated the send
// throws std::bad_alloc before moving from the value, so the caller still has it.
struct MayThrowOnMove {
    std::string text;
    MayThrowOnMove() = default;
    explicit MayThrowOnMove(std::string t) : text(std::move(t)) {}
    MayThrowOnMove(MayThrowOnMove&& other) : text(std::move(other.text)) {}  // not noexcept
    MayThrowOnMove& operator=(MayThrowOnMove&& other) {
        text = std::move(other.text);
        return *this;
    }
};

TEST(UnboundedTeardown, ASendThatCannotAllocateThrowsAndKeepsTheValue) {
    if (!WEFT_TEST_ALLOCATION_HOOK) GTEST_SKIP() << "no allocation hook under a sanitizer";
    auto [tx, rx] = weft::mpsc::unbounded_channel<MayThrowOnMove>();
    MayThrowOnMove value(std::string(100, 'v'));
    {
        NoAllocations none;
        EXPECT_THROW((void)tx.send(std::move(value)), std::bad_alloc);
    }
    refused.store(0);
    EXPECT_EQ(value.text, std::string(100, 'v'));
    EXPECT_TRUE(rx.try_recv().is_empty());
    ASSERT_TRUE(tx.send(std::move(value)));
    EXPECT_EQ(rx.try_recv()->text, std::string(100, 'v'));
}

WEFT_INSTANTIATE_ALL_RUNTIMES(UnboundedTeardownTest);

}  // namespace
