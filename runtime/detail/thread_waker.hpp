// Lets a plain thread (not a worker) wait for a Waker-based event: block_on and blocking_ calls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "../waker.hpp"
#include "parker.hpp"

namespace weft::detail {

class ThreadNotifier {
public:
    static ThreadNotifier* create() { return new ThreadNotifier(); }

    // A Waker that unparks the thread waiting on this notifier.
    Waker waker() noexcept {
        refs_.fetch_add(1, std::memory_order_relaxed);
        return Waker(&kVtable, this);
    }
    void park() { parker_.park(); }
    void park_until(std::chrono::steady_clock::time_point deadline) { parker_.park_until(&deadline); }
    void release() noexcept { drop(this); }

private:
    ThreadNotifier() = default;

    static void clone(void* p) noexcept { static_cast<ThreadNotifier*>(p)->refs_.fetch_add(1, std::memory_order_relaxed); }
    static void wake_by_ref(void* p) noexcept { static_cast<ThreadNotifier*>(p)->parker_.unpark(); }
    static void drop(void* p) noexcept {
        auto* self = static_cast<ThreadNotifier*>(p);
        // acq_rel: the last owner must see every other owner's use before deleting.
        if (self->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete self;
    }
    static void wake(void* p) noexcept {
        wake_by_ref(p);
        drop(p);
    }
    static constexpr Waker::Vtable kVtable{&clone, &wake, &wake_by_ref, &drop};

    std::atomic<std::uint32_t> refs_{1};  // the creator's
    Parker parker_;
};

// Owns one reference to a ThreadNotifier for the length of a blocking wait.
class ScopedThreadNotifier {
public:
    ScopedThreadNotifier() : notifier_(ThreadNotifier::create()) {}
    ~ScopedThreadNotifier() { notifier_->release(); }
    ScopedThreadNotifier(const ScopedThreadNotifier&) = delete;
    ScopedThreadNotifier& operator=(const ScopedThreadNotifier&) = delete;
    ThreadNotifier* operator->() const noexcept { return notifier_; }

private:
    ThreadNotifier* notifier_;
};

}  // namespace weft::detail
