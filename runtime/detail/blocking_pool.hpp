// The pool of threads that run spawn_blocking calls.
//
// Not a fast path: a mutex-guarded FIFO of jobs. Threads start on demand up to a maximum and exit
// after sitting idle for the keep-alive time. An exiting thread cannot join itself, so it leaves
// its handle in `last_exiting_` and joins the one left there before it: at most one finished
// thread's stack is held, however many bursts a long-lived runtime sees (Tokio does the same).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace weft::detail {

class Scheduler;

class BlockingPool {
public:
    BlockingPool(Scheduler& scheduler, std::size_t max_threads, std::chrono::milliseconds keep_alive);
    ~BlockingPool();

    // Returns false after shutdown (the job is not run). Throws std::system_error, with the job
    // not queued, if no thread could be started and none is there to run it.
    bool submit(std::function<void()> job);

    // Refuses new jobs, drops queued ones, waits for running ones, joins every thread.
    void shutdown();

    std::size_t num_threads() const;

private:
    void thread_main();

    Scheduler& scheduler_;
    const std::size_t max_threads_;
    const std::chrono::milliseconds keep_alive_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;  // live threads (at most max_threads_), joined at shutdown
    std::thread last_exiting_;  // the latest thread to exit idle; joined by the next, or at shutdown
    std::size_t live_threads_ = 0;
    std::size_t idle_threads_ = 0;
    bool shutdown_ = false;
};

}  // namespace weft::detail
