#include "runtime.hpp"

#include <thread>

#include "detail/scheduler_impl.hpp"

namespace weft {

namespace {
detail::Scheduler* make_scheduler(const RuntimeOptions& options) {
    std::size_t workers = 1;
    if (options.flavor == Flavor::multi_thread) {
        workers = options.worker_threads;
        if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    }
    if (workers > 4096) throw std::invalid_argument("weft: worker_threads must be at most 4096");
    return new detail::Scheduler(detail::Scheduler::Options{
        static_cast<std::uint32_t>(workers), options.enable_lifo_slot, options.max_blocking_threads,
        options.blocking_keep_alive, options.on_unhandled_exception});
}
void delete_scheduler(detail::Scheduler* s) { delete s; }
}  // namespace

Runtime::Runtime(RuntimeOptions options)
    : flavor_(options.flavor), scheduler_(make_scheduler(options), &delete_scheduler) {
    if (flavor_ == Flavor::multi_thread) scheduler_->start_threads();
}

Runtime::~Runtime() { scheduler_->shutdown(); }

void Runtime::shutdown() { scheduler_->shutdown(); }

bool Runtime::is_shut_down() const noexcept { return scheduler_->is_shutdown(); }

std::size_t Runtime::num_workers() const noexcept { return scheduler_->num_workers(); }

RuntimeMetrics Runtime::metrics() const { return scheduler_->metrics(); }

void Runtime::check_can_block() const {
    if (detail::is_worker_thread())
        throw std::logic_error("weft: block_on called on a runtime worker thread (inside a task); use co_await");
    if (scheduler_->is_shutdown()) throw RuntimeShutdownError();
}

void Runtime::wait_for(detail::TaskHeader* task, detail::ThreadNotifier& notifier) noexcept {
    if (flavor_ == Flavor::current_thread) scheduler_->block_on_current_thread(task, notifier);
    else detail::Scheduler::wait_until_complete(task, notifier);
}

}  // namespace weft
