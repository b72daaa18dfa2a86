// The scheduler's entry points that public templates need. The Scheduler class itself is defined
// in scheduler_impl.hpp, which only the runtime's .cpp files include.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>

#include "../waker.hpp"
#include "task_header.hpp"

namespace weft::detail {

class Scheduler;
class Driver;
class ThreadNotifier;

// The timers and reactor of the runtime this thread belongs to. Throws std::logic_error on a
// thread that belongs to no runtime, RuntimeShutdownError once it has shut down.
Driver& current_driver();

// Registers a freshly built task with its runtime and queues it.
// Throws RuntimeShutdownError (and registers nothing) if the runtime has shut down.
void bind_and_schedule(Scheduler& scheduler, TaskHeader* task);

// Reports an exception that nobody will observe (a detached task threw). Safe after the runtime
// is gone: it then goes to the default reporter (stderr).
void report_unhandled_exception(Scheduler* scheduler, std::exception_ptr error) noexcept;

// Wakes `task` by reference, setting `extra` too (TaskHeader::kCancelled for abort), and queues it
// if that wake must. From any thread, also racing its runtime's shutdown (see task_waker.cpp).
void wake_task_by_ref(TaskHeader* task, std::uint64_t extra) noexcept;

// A new Waker for `task` (takes a reference).
Waker task_waker(TaskHeader* task) noexcept;

// The Waker of the task being polled on this thread. Throws std::logic_error outside a task.
Waker current_task_waker();

// The runtime this thread belongs to (a worker, or block_on's caller), or nullptr.
Scheduler* current_scheduler() noexcept;

// Runs `job` on the runtime's blocking pool. Throws RuntimeShutdownError after shutdown.
void submit_blocking(Scheduler& scheduler, std::function<void()> job);

// True on a thread that must not block: a runtime worker.
bool is_worker_thread() noexcept;

// block_on's checks before it spawns: std::logic_error on a worker thread, RuntimeShutdownError
// after shutdown.
void check_can_block(const Scheduler& scheduler);
// block_on's wait once its task is spawned: drives the runtime (current_thread) or waits. Returns
// only once `task` completed; never throws (the task may refer to the caller's stack).
void block_on_wait(Scheduler& scheduler, TaskHeader* task, ThreadNotifier& notifier) noexcept;

}  // namespace weft::detail
