// Scheduler::shutdown: stop the workers and the blocking pool, then destroy every unfinished task
// and shut down the sockets that outlive them. Separate from scheduler.cpp because it is the one
// path that runs with no worker running, with its own ordering against spawns from other threads
// (the counterpart of Scheduler::spawn's fence).
#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "detail/context.hpp"
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

void Scheduler::shutdown(std::optional<std::chrono::nanoseconds> blocking_timeout) {
    ThreadContext& ctx = tls_context;
    if (ctx.worker && ctx.scheduler == this)
        throw std::logic_error("weft: a runtime cannot be shut down from one of its own tasks");
    std::lock_guard lock(shutdown_mutex_);
    if (shutdown_done_) return;
    shutdown_.store(true, std::memory_order_seq_cst);  // seq_cst: see spawn() in scheduler.cpp

    std::vector<std::uint32_t> sleepers;
    idle.unpark_all_for_shutdown(sleepers);
    for (auto& worker : workers_) worker->parker().unpark();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    // Current-thread flavor: the block_on caller driving the core sees the flag and lets go; the
    // core is then ours for good, so nobody runs a queue while we drain it.
    {
        std::unique_lock core_lock(core_mutex_);
        core_released_.wait(core_lock, [this] { return !core_taken_; });
        core_taken_ = true;
    }
    blocking_.shutdown(blocking_timeout);

    // Spawns from other threads that got past the flag are queued by the time this count is 0.
    while (unjoined_spawns_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();

    // No worker runs now. Destroy every unfinished task; its destructors may wake others (they
    // land in the injector) or drop handles. First the suspended ones, in the owned list: each is
    // pinned by a reference while it goes (complete() drops one).
    owned_.close();
    while (TaskHeader* task = owned_.pop_any()) {
        task->add_ref();
        complete(task, /*cancelled=*/true);
    }
    // Then the queued ones: those never polled were never in the list. Each queue entry holds a
    // reference, which complete() (or drop_ref for a task already complete) releases.
    const auto finish_queued = [this](TaskHeader* t) {
        if (t->is_complete()) t->drop_ref();
        else complete(t, /*cancelled=*/true);
    };
    // Every task that could be woken is complete now. Close the injector, then wait for the wakes
    // from other threads that might still be queuing into it (task_waker.cpp has the protocol):
    // after that, a wake either finds its task complete or drops it, and never touches us again.
    injector_closed_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with ForeignWakeScope's (task_waker.cpp)
    wait_for_foreign_wakes();
    for (auto& worker : workers_) worker->drain(finish_queued);
    TaskHeader* task = nullptr;
    while (injector.try_dequeue(task)) finish_queued(task);
    // Sockets that outlive their tasks (held by plain threads) are shut down: their peers see the
    // connection close, and their next operation fails with RuntimeShutdownError.
    driver.io().shutdown();
    shutdown_done_ = true;
}

}  // namespace weft::detail
