#include "detail/blocking_pool.hpp"

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

BlockingPool::BlockingPool(Scheduler& scheduler, std::size_t max_threads, std::chrono::milliseconds keep_alive)
    : scheduler_(scheduler), max_threads_(max_threads == 0 ? 1 : max_threads), keep_alive_(keep_alive) {}

BlockingPool::~BlockingPool() { shutdown(); }

bool BlockingPool::submit(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    if (shutdown_) return false;
    jobs_.push_back(std::move(job));
    if (idle_threads_ >= jobs_.size()) {
        cv_.notify_one();
    } else if (live_threads_ < max_threads_) {
        ++live_threads_;
        threads_.emplace_back([this] { thread_main(); });
    }  // else: every thread is busy; the job waits its turn
    return true;
}

void BlockingPool::thread_main() {
    // Code run here may spawn onto its runtime.
    tls_context.scheduler = &scheduler_;
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!jobs_.empty()) {
            std::function<void()> job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            job = nullptr;  // release what it captured outside the lock
            lock.lock();
            continue;
        }
        if (shutdown_) break;
        ++idle_threads_;
        const bool woke = cv_.wait_for(lock, keep_alive_, [this] { return !jobs_.empty() || shutdown_; });
        --idle_threads_;
        if (!woke) break;  // idle for the keep-alive time
    }
    --live_threads_;
    tls_context.scheduler = nullptr;
}

void BlockingPool::shutdown() {
    std::deque<std::function<void()>> dropped;
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        shutdown_ = true;
        dropped.swap(jobs_);
        threads.swap(threads_);
    }
    cv_.notify_all();
    dropped.clear();
    for (auto& t : threads) t.join();
}

std::size_t BlockingPool::num_threads() const {
    std::lock_guard lock(mutex_);
    return live_threads_;
}

}  // namespace weft::detail
