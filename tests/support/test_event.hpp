// A test-only awaitable: tasks `co_await event.wait()` until some thread calls `event.set()`.
// Built only on the public waker machinery, the way a user's own leaf awaitable would be.
#pragma once

#include <atomic>
#include <coroutine>
#include <mutex>
#include <vector>

#include <weft/runtime/detail/context.hpp>
#include <weft/runtime/detail/scheduler.hpp>
#include <weft/runtime/waker.hpp>

namespace weft::test {

class Event {
public:
    void set() {
        std::vector<Waker> to_wake;
        {
            std::lock_guard lock(mutex_);
            set_.store(true, std::memory_order_release);
            to_wake.swap(wakers_);
        }
        for (Waker& w : to_wake) w.wake();
    }
    bool is_set() const { return set_.load(std::memory_order_acquire); }

    class Awaiter final : public detail::Pollable {
    public:
        explicit Awaiter(Event& e) : event_(e) {}
        bool await_ready() const { return event_.is_set(); }
        bool await_suspend(std::coroutine_handle<>) {
            std::lock_guard lock(event_.mutex_);
            if (event_.is_set()) return false;
            event_.wakers_.push_back(detail::current_task_waker());
            detail::set_pending_poll(this);
            return true;
        }
        bool poll_ready() noexcept override { return event_.is_set(); }
        void await_resume() const noexcept {}

    private:
        Event& event_;
    };
    Awaiter wait() { return Awaiter(*this); }

private:
    std::mutex mutex_;
    std::atomic<bool> set_{false};
    std::vector<Waker> wakers_;
};

// Counts live instances, to check that frames and values are destroyed exactly once.
struct Tracked {
    static inline std::atomic<long> live{0};
    Tracked() { live.fetch_add(1); }
    Tracked(const Tracked&) { live.fetch_add(1); }
    Tracked& operator=(const Tracked&) = default;
    ~Tracked() { live.fetch_sub(1); }
};

}  // namespace weft::test
