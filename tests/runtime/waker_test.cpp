// Waker: wakes from foreign threads racing with suspension are neither lost nor doubled.
#include <gtest/gtest.h>

#include <atomic>
#include <coroutine>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/runtime/runtime.hpp>

#include "support/runtimes.hpp"

namespace {

using weft::Task;

// A counter other threads bump; a task waits for it to pass a value. The waker is replaced on
// every wait, and the bumping threads wake whatever waker is registered.
class Generation {
public:
    void bump() {
        value_.fetch_add(1, std::memory_order_release);
        std::lock_guard lock(mutex_);
        waker_.wake_by_ref();
    }
    std::uint64_t load() const { return value_.load(std::memory_order_acquire); }

    class Awaiter final : public weft::detail::Pollable {
    public:
        Awaiter(Generation& g, std::uint64_t past) : g_(g), past_(past) {}
        bool await_ready() const { return g_.load() > past_; }
        bool await_suspend(std::coroutine_handle<>) {
            {
                std::lock_guard lock(g_.mutex_);
                g_.waker_ = weft::detail::current_task_waker();
            }
            if (g_.load() > past_) return false;  // re-check after registering
            weft::detail::set_pending_poll(this);
            return true;
        }
        bool poll_ready() noexcept override { return g_.load() > past_; }
        std::uint64_t await_resume() const { return g_.load(); }

    private:
        Generation& g_;
        std::uint64_t past_;
    };
    Awaiter wait_past(std::uint64_t past) { return Awaiter(*this, past); }

private:
    std::atomic<std::uint64_t> value_{0};
    std::mutex mutex_;
    weft::Waker waker_;
};

class WakerTest : public weft::test::AllRuntimes {};

TEST_P(WakerTest, ForeignWakesRacingWithSuspensionAreNeitherLostNorDoubled) {
    auto rt = make_runtime();
    Generation gen;
    const std::uint64_t total = weft::test::scaled(200'000, 20);
    constexpr int kThreads = 3;
    std::atomic<int> in_flight{0};
    std::atomic<bool> overlapped{false};

    auto waiter = rt->spawn([](Generation& gen, std::uint64_t total, std::atomic<int>& in_flight,
                               std::atomic<bool>& overlapped) -> Task<std::uint64_t> {
        std::uint64_t seen = 0;
        std::uint64_t resumptions = 0;
        while (seen < total) {
            if (in_flight.fetch_add(1) != 0) overlapped.store(true);
            seen = co_await gen.wait_past(seen);
            ++resumptions;
            in_flight.fetch_sub(1);
        }
        co_return resumptions;
    }(gen, total, in_flight, overlapped));

    std::vector<std::thread> bumpers;
    for (int t = 0; t < kThreads; ++t)
        bumpers.emplace_back([&] {
            for (std::uint64_t i = 0; i < total / kThreads; ++i) gen.bump();
        });
    for (auto& t : bumpers) t.join();
    for (std::uint64_t i = gen.load(); i < total; ++i) gen.bump();

    const std::uint64_t resumptions = rt->block_on([](weft::JoinHandle<std::uint64_t>& h) -> Task<std::uint64_t> {
        co_return co_await h;
    }(waiter));
    EXPECT_FALSE(overlapped.load());       // never resumed twice at once
    EXPECT_GE(gen.load(), total);
    EXPECT_GE(resumptions, 1u);            // and the last wake was not lost: the task finished
    EXPECT_LE(resumptions, gen.load());    // at most one resumption per generation
}

TEST_P(WakerTest, WakeAfterTheTaskFinishedIsHarmless) {
    weft::Waker kept;
    {
        auto rt = make_runtime();
        rt->block_on([](weft::Waker& kept) -> Task<void> {
            co_await weft::spawn([](weft::Waker& kept) -> Task<void> {
                kept = weft::detail::current_task_waker();
                co_return;
            }(kept));
        }(kept));
        kept.wake_by_ref();
        kept.wake_by_ref();
    }
    kept.wake_by_ref();  // after the runtime too
    weft::Waker copy = kept;
    copy.wake();
    EXPECT_FALSE(copy);
    EXPECT_TRUE(kept);
}

WEFT_INSTANTIATE_ALL_RUNTIMES(WakerTest);

}  // namespace
