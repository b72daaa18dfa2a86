// The pool of threads that run spawn_blocking calls.
//
// Not a fast path: a mutex-guarded FIFO of jobs. Threads start on demand up to a maximum and exit
// after sitting idle for the keep-alive time. An exiting thread cannot join itself, so it leaves
// its handle in `last_exiting_` and joins the one left there before it: at most one finished
// thread's stack is held, however many bursts a long-lived runtime sees (Tokio does the same).
//
// shutdown with a timeout (Runtime::shutdown_timeout) waits that long for the running calls, then
// detaches the threads still running one, as Tokio leaves them behind. Each thread holds a
// reference to the Scheduler (this pool's owner), so one left behind finishes its call and exits
// into a pool that is still there; the last such thread may free the Scheduler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
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

    // Refuses new jobs, drops queued ones, waits for running ones (at most `timeout`, then detaches
    // the threads still running one), joins every other thread.
    void shutdown(std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

    std::size_t num_threads() const;

private:
    void thread_main();

    Scheduler& scheduler_;
    const std::size_t max_threads_;
    const std::chrono::milliseconds keep_alive_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable exited_;  // a thread left thread_main's loop (shutdown waits on it)
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;  // live threads (at most max_threads_), joined at shutdown
    std::thread last_exiting_;  // the latest thread to exit idle; joined by the next, or at shutdown
    std::size_t live_threads_ = 0;
    std::size_t idle_threads_ = 0;
    bool shutdown_ = false;
};

}  // namespace weft::detail
