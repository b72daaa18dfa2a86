// A leaf awaitable of your own (runtime/leaf_awaitable.hpp): tasks wait on a Latch that a plain
// thread (standing in for another library's callback) counts down. The tasks resume on weft's
// workers, woken through their Wakers; a timeout and a select accept the leaf like weft's own.
#include <weft/runtime/leaf_awaitable.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

// Opens once count_down() was called `count` times, from any thread.
class Latch {
public:
    explicit Latch(int count) : left_(count) {}

    void count_down() {
        std::vector<weft::Waker> to_wake;
        {
            std::lock_guard lock(mutex_);
            if (left_ == 0 || --left_ > 0) return;
            open_.store(true, std::memory_order_release);  // pairs with is_open()
            to_wake.swap(waiters_);
        }
        for (weft::Waker& w : to_wake) w.wake();  // outside the lock: a wake may run a task at once
    }
    bool is_open() const { return open_.load(std::memory_order_acquire); }

    // What wait() returns: the leaf.
    class WEFT_MUST_AWAIT Awaiter final : public weft::Pollable {
    public:
        explicit Awaiter(Latch& latch) : latch_(latch) {}
        Awaiter(const Awaiter&) = delete;
        // Withdraw the waker: a timeout or an abort may drop us while we wait.
        ~Awaiter() {
            if (!registered_) return;
            std::lock_guard lock(latch_.mutex_);
            std::erase_if(latch_.waiters_, [&](const weft::Waker& w) { return w.will_wake(waker_); });
        }

        bool await_ready() const { return latch_.is_open(); }
        bool await_suspend(std::coroutine_handle<>) {  // the handle is never resumed by us
            std::lock_guard lock(latch_.mutex_);
            if (latch_.is_open()) return false;  // opened meanwhile: do not suspend
            waker_ = weft::current_waker();
            latch_.waiters_.push_back(waker_);
            registered_ = true;
            weft::set_pending_poll(*this);
            return true;
        }
        // A wake may be spurious: resume only once the latch is open.
        bool poll_ready() noexcept override { return latch_.is_open(); }
        void await_resume() const noexcept {}

    private:
        Latch& latch_;
        weft::Waker waker_;
        bool registered_ = false;
    };
    Awaiter wait() { return Awaiter(*this); }

private:
    std::mutex mutex_;
    int left_;
    std::atomic<bool> open_{false};
    std::vector<weft::Waker> waiters_;
};

weft::Task<int> waiter(Latch& latch, int id) {
    co_await latch.wait();
    co_return id;
}

weft::Task<int> run(Latch& latch, Latch& never) {
    // A leaf with a timeout: the latch that never opens gives up, and its waker is withdrawn.
    auto gave_up = co_await weft::timeout(10ms, never.wait());
    std::printf("never: %s\n", gave_up.timed_out() ? "timed out" : "opened");

    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < 3; ++i) handles.push_back(weft::spawn(waiter(latch, i)));
    std::thread counter([&latch] {
        for (int i = 0; i < 2; ++i) {
            std::this_thread::sleep_for(1ms);
            latch.count_down();
        }
    });
    int sum = 0;
    for (auto& h : handles) sum += co_await h;
    counter.join();
    std::printf("latch: open, %d tasks resumed\n", static_cast<int>(handles.size()));
    co_return sum;
}

int main() {
    weft::Runtime rt;
    Latch latch(2);
    Latch never(1);
    const int sum = rt.block_on(run(latch, never));
    std::printf("sum of ids: %d\n", sum);
    return sum == 3 ? 0 : 1;
}
