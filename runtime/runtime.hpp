// Runtime: the scheduler's owner, and the entry points to it.
#pragma once

#include "detail/language_check.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/scheduler.hpp"
#include "detail/spawn.hpp"
#include "errors.hpp"
#include "join_handle.hpp"
#include "metrics.hpp"
#include "task.hpp"
#include "yield.hpp"

namespace weft {

enum class Flavor {
    multi_thread,    // N worker threads with work stealing
    current_thread,  // no worker threads: block_on's caller runs every task
};

struct RuntimeOptions {
    Flavor flavor = Flavor::multi_thread;
    // Worker threads for multi_thread; 0 means one per core. Ignored for current_thread.
    std::size_t worker_threads = 0;
    // Upper bound on spawn_blocking threads; more calls queue.
    std::size_t max_blocking_threads = 64;
    // How long an idle blocking thread waits for more work before it exits.
    std::chrono::milliseconds blocking_keep_alive{10'000};
    // The task just woken by a running task runs next on the same worker (the message-passing
    // fast path). Disable to measure without it.
    bool enable_lifo_slot = true;
    // Receives exceptions nobody will observe: a detached task (or one whose JoinHandle was
    // dropped unread) that ended by throwing. Default: print to stderr. Called on a worker thread.
    std::function<void(std::exception_ptr)> on_unhandled_exception{};
};

// Owns worker threads, their run queues, the blocking pool, and every spawned task.
//
// Destroying a Runtime shuts it down (see shutdown()). A Runtime must not be destroyed from one of
// its own worker threads, nor while other threads still wake its tasks.
class Runtime {
public:
    explicit Runtime(RuntimeOptions options = {});
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Runs `task` to completion and returns its value (or rethrows its exception). Call from an
    // ordinary thread: calling it on a worker of any runtime throws std::logic_error. On a
    // current_thread runtime the calling thread runs every task until `task` completes. Throws
    // RuntimeShutdownError after shutdown.
    template <class T>
    T block_on(Task<T> task) {
        check_can_block();
        JoinHandle<T> handle = detail::spawn_on(*scheduler_, std::move(task));
        if (flavor_ == Flavor::current_thread) {
            drive_until_complete([&] { return handle.is_finished(); });
        }
        return handle.blocking_join();
    }

    // Starts `task` on this runtime. From any thread. Throws RuntimeShutdownError after shutdown.
    template <class T>
    JoinHandle<T> spawn(Task<T> task) {
        return detail::spawn_on(*scheduler_, std::move(task));
    }

    // Runs `fn()` on a separate pool of threads that may block (file I/O, a blocking library call).
    // Returns a JoinHandle for its result or exception.
    template <class F>
    auto spawn_blocking(F&& fn) {
        return spawn(detail::run_blocking(*scheduler_, std::decay_t<F>(std::forward<F>(fn))));
    }

    // Stops the workers after their current poll, destroys every unfinished task's frame (running
    // the destructors of what it holds; joiners get JoinError), waits for running blocking calls,
    // and joins every thread. Idempotent. Throws std::logic_error if called from a worker thread of
    // this runtime.
    void shutdown();

    bool is_shut_down() const noexcept;
    std::size_t num_workers() const noexcept;
    Flavor flavor() const noexcept { return flavor_; }
    RuntimeMetrics metrics() const;

private:
    void check_can_block() const;
    void drive_until_complete(const std::function<bool()>& done);

    Flavor flavor_;
    std::unique_ptr<detail::Scheduler, void (*)(detail::Scheduler*)> scheduler_;
};

// Starts `task` on the current runtime (from inside a task, or from block_on's thread).
// Throws std::logic_error on a thread that belongs to no runtime.
template <class T>
JoinHandle<T> spawn(Task<T> task) {
    detail::Scheduler* scheduler = detail::current_scheduler();
    if (!scheduler) throw std::logic_error("weft::spawn called outside a runtime; use Runtime::spawn");
    return detail::spawn_on(*scheduler, std::move(task));
}

// Runs `fn()` on the current runtime's blocking pool; see Runtime::spawn_blocking.
template <class F>
auto spawn_blocking(F&& fn) {
    detail::Scheduler* scheduler = detail::current_scheduler();
    if (!scheduler) throw std::logic_error("weft::spawn_blocking called outside a runtime");
    return detail::spawn_on(*scheduler, detail::run_blocking(*scheduler, std::decay_t<F>(std::forward<F>(fn))));
}

}  // namespace weft
