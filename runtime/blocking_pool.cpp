#include "detail/blocking_pool.hpp"

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"

#include <algorithm>
#include <utility>

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
        std::thread thread;
        try {
            threads_.reserve(threads_.size() + 1);  // so that keeping the handle cannot throw
            // The Scheduler stays alive while this thread runs (see shutdown).
            thread = std::thread([this, keep_alive = scheduler_.weak_from_this().lock()]() mutable {
                thread_main();
                keep_alive.reset();  // may free the Scheduler, and this pool with it: the last use
            });
        } catch (...) {
            // No new thread. With none live, nothing would ever run the job: hand the error back
            // rather than leave a spawn_blocking that never completes.
            if (live_threads_ == 0) {
                jobs_.pop_back();
                throw;
            }
            return true;  // a busy thread takes it when it finishes
        }
        ++live_threads_;
        threads_.push_back(std::move(thread));  // before thread_main can look for it: we hold the lock
    }  // else: every thread is busy; the job waits its turn
    return true;
}

void BlockingPool::thread_main() {
    // Code run here may spawn onto its runtime.
    tls_context.scheduler = &scheduler_;
    scheduler_.thread_started();
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
    exited_.notify_all();
    // After shutdown took the handles, shutdown joins this thread. Otherwise this thread exits on
    // its own: it parks its handle for whoever comes next and joins the one parked before it.
    std::thread previous;
    const auto self = std::find_if(threads_.begin(), threads_.end(),
                                   [id = std::this_thread::get_id()](const std::thread& t) { return t.get_id() == id; });
    if (self != threads_.end()) {
        previous = std::exchange(last_exiting_, std::move(*self));
        if (self != threads_.end() - 1) *self = std::move(threads_.back());
        threads_.pop_back();
    }
    lock.unlock();
    if (previous.joinable()) previous.join();
    scheduler_.thread_stopping();
    tls_context.scheduler = nullptr;
}

void BlockingPool::shutdown(std::optional<std::chrono::nanoseconds> timeout) {
    std::deque<std::function<void()>> dropped;
    std::vector<std::thread> threads;
    std::thread last_exiting;
    bool all_exited = true;
    {
        std::unique_lock lock(mutex_);
        shutdown_ = true;
        dropped.swap(jobs_);
        cv_.notify_all();
        // Threads that leave meanwhile hand their handles on through last_exiting_ as usual.
        if (timeout) all_exited = exited_.wait_for(lock, *timeout, [this] { return live_threads_ == 0; });
        threads.swap(threads_);
        last_exiting = std::move(last_exiting_);
    }
    dropped.clear();
    for (auto& t : threads) {
        // Still in a call after the timeout: left behind. It finds itself in no list when it
        // exits, so it touches only the pool's lock and count, kept alive by its reference.
        if (all_exited) t.join();
        else t.detach();
    }
    if (last_exiting.joinable()) last_exiting.join();  // it has joined any before it
}

std::size_t BlockingPool::num_threads() const {
    std::lock_guard lock(mutex_);
    return live_threads_;
}

}  // namespace weft::detail
