// Runtime: the scheduler's owner, and the entry points to it.
#pragma once

#include "detail/language_check.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/scheduler.hpp"
#include "detail/spawn.hpp"
#include "errors.hpp"
#include "handle.hpp"
#include "join_handle.hpp"
#include "metrics.hpp"
#include "task.hpp"
#include "yield.hpp"

namespace weft {

/// How a Runtime runs its tasks.
enum class Flavor {
    multi_thread,    ///< N worker threads with work stealing.
    current_thread,  ///< No worker threads: block_on's caller runs every task, only while in block_on.
};

/// Settings for a Runtime, read once by its constructor.
struct RuntimeOptions {
    /// Multi-threaded (the default) or run on block_on's caller.
    Flavor flavor = Flavor::multi_thread;
    /// Worker threads for multi_thread; 0 means one per core; at most 4096. Ignored for current_thread.
    std::size_t worker_threads = 0;
    /// Upper bound on spawn_blocking threads (0 counts as 1); more calls queue.
    std::size_t max_blocking_threads = 64;
    /// How long an idle blocking thread waits for more work before it exits.
    std::chrono::milliseconds blocking_keep_alive{10'000};
    /// The task just woken by a running task runs next on the same worker (the message-passing
    /// fast path). Disable to measure without it.
    bool enable_lifo_slot = true;
    /// Receives exceptions nobody will observe: a detached task (or one whose JoinHandle was
    /// dropped unread) that ended by throwing. Default (empty): print to stderr. Called on
    /// whichever thread releases the task's result (usually a worker); an exception it throws is
    /// printed and ignored.
    std::function<void(std::exception_ptr)> on_unhandled_exception{};
    /// Called on every thread the runtime starts (each multi_thread worker and each blocking-pool
    /// thread) before it runs anything, and on_thread_stop as the last thing it does, as Tokio's
    /// Builder::on_thread_start/stop. Not called on block_on's caller (a current_thread runtime
    /// has no worker thread). Must not throw (the thread would call std::terminate). A blocking
    /// thread left behind by shutdown_timeout calls on_thread_stop when its call returns.
    std::function<void()> on_thread_start{};
    /// See on_thread_start.
    std::function<void()> on_thread_stop{};
    /// The name of those threads (pthread_setname_np; cut to Linux's 15 characters). Empty: they
    /// keep the name inherited from the thread that started them.
    std::string thread_name = "weft-worker";
    /// Starts with the clock paused, as if the first task called time::pause() (Tokio's
    /// Builder::start_paused; see test_clock.hpp). current_thread only.
    bool start_paused = false;
};

/// Owns worker threads, their run queues, the blocking pool, and every spawned task.
///
/// Destroying a Runtime shuts it down (see shutdown()); Handles to it stay safe to use and fail. A Runtime must not be destroyed from one of
/// its own worker threads (shutdown() throws there, so the destructor would terminate), nor while
/// other threads still wake its tasks.
class Runtime {
public:
    /// Builds the scheduler and, for multi_thread, starts the worker threads.
    /// @throws std::invalid_argument if `options.worker_threads` exceeds 4096, or for
    /// `start_paused` on a multi_thread runtime.
    /// @throws std::system_error if a worker thread cannot be started.
    explicit Runtime(RuntimeOptions options = {});
    /// Shuts the runtime down (see shutdown()) and frees it.
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    /// Runs `task` to completion and returns its value (or rethrows its exception). Call from an
    /// ordinary thread (a spawn_blocking function counts as one), never from a worker of any
    /// runtime. On a current_thread runtime the calling thread runs every task until `task`
    /// completes. Several threads may be in block_on on one current_thread runtime at once: one
    /// of them runs the tasks while the others wait, and when it leaves another takes over, so
    /// each returns once its own task completed (as Tokio's current_thread runtime does).
    ///
    /// Exception-safe: if block_on throws before it started `task` (an allocation failed), `task`
    /// is destroyed unrun; once started, block_on returns only after `task` completed.
    /// @throws std::logic_error on a runtime worker thread (inside a task); use co_await there.
    /// @throws RuntimeShutdownError after shutdown.
    /// @throws JoinError if the runtime shuts down (from another thread) before `task` finishes.
    /// @throws std::invalid_argument if `task` is empty.
    template <class T>
    T block_on(Task<T> task) {
        return handle_.block_on(std::move(task));
    }

    /// Starts `task` on this runtime and returns the handle to its result. From any thread. On a
    /// current_thread runtime the task runs only while some thread is in block_on.
    /// @throws RuntimeShutdownError once shutdown has begun.
    /// @throws std::invalid_argument if `task` is empty.
    template <class T>
    JoinHandle<T> spawn(Task<T> task) {
        return handle_.spawn(std::move(task));
    }

    /// Runs `fn()` on a separate pool of threads that may block (file I/O, a blocking library call).
    /// Returns a JoinHandle for its result or exception (RuntimeShutdownError if the pool was
    /// already shut down; std::system_error if no pool thread could be started to run it). From any thread. Aborting the handle does not stop a `fn` that started:
    /// it runs to the end and its result is dropped. Shutdown waits for running calls and drops
    /// queued ones.
    /// @throws RuntimeShutdownError once shutdown has begun.
    template <class F>
    auto spawn_blocking(F&& fn) {
        return handle_.spawn_blocking(std::forward<F>(fn));
    }

    /// Stops the workers after their current poll, destroys every unfinished task's frame (running
    /// the destructors of what it holds; joiners get JoinError), waits for running blocking calls,
    /// joins every thread, and shuts down sockets still open. Idempotent; from any thread but this
    /// runtime's workers.
    /// @throws std::logic_error if called from a worker thread (a task) of this runtime.
    void shutdown();

    /// Like shutdown(), but waits at most `timeout` for the running blocking calls: the threads of
    /// those still running then are left behind (detached) and exit when their call returns, as
    /// Tokio's shutdown_timeout does. Their results are dropped; they still hold the runtime's
    /// (shut down) state, which is freed by whichever of them, or of the Handles, ends last.
    /// Differs from Tokio: worker threads are always joined (they stop after their current poll).
    /// @throws std::logic_error if called from a worker thread (a task) of this runtime.
    void shutdown_timeout(std::chrono::nanoseconds timeout);
    /// shutdown_timeout(0): shuts down without waiting for any blocking call (Tokio's
    /// shutdown_background).
    void shutdown_background();

    /// A Handle to this runtime: spawn, block_on and enter it from elsewhere. It stays valid after
    /// the Runtime is destroyed, and then fails with RuntimeShutdownError (see Handle).
    Handle handle() const noexcept { return handle_; }

    /// True once shutdown has begun. From any thread.
    bool is_shut_down() const noexcept;
    /// The number of workers: RuntimeOptions::worker_threads resolved, or 1 for current_thread.
    std::size_t num_workers() const noexcept;
    /// The flavor this runtime was built with.
    Flavor flavor() const noexcept { return flavor_; }
    /// A snapshot of the runtime's counters, read without stopping it. From any thread.
    /// @throws std::bad_alloc if the per-worker list cannot be allocated.
    RuntimeMetrics metrics() const;

private:
    Flavor flavor_;
    Handle handle_;  // shares the scheduler with every Handle handed out
};

/// Starts `task` on the current runtime: the one whose task (or spawn_blocking function) is
/// running on this thread.
/// @throws std::logic_error on a thread that belongs to no runtime; use Runtime::spawn there.
/// @throws RuntimeShutdownError once that runtime's shutdown has begun.
/// @throws std::invalid_argument if `task` is empty.
template <class T>
JoinHandle<T> spawn(Task<T> task) {
    detail::Scheduler* scheduler = detail::current_scheduler();
    if (!scheduler) throw std::logic_error("weft::spawn called outside a runtime; use Runtime::spawn");
    return detail::spawn_on(*scheduler, std::move(task));
}

/// Runs `fn()` on the current runtime's blocking pool; see Runtime::spawn_blocking.
/// @throws std::logic_error on a thread that belongs to no runtime.
/// @throws RuntimeShutdownError once that runtime's shutdown has begun.
template <class F>
auto spawn_blocking(F&& fn) {
    detail::Scheduler* scheduler = detail::current_scheduler();
    if (!scheduler) throw std::logic_error("weft::spawn_blocking called outside a runtime");
    return detail::spawn_on(*scheduler, detail::run_blocking(*scheduler, std::decay_t<F>(std::forward<F>(fn))));
}

}  // namespace weft
