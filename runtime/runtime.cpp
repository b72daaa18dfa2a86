#include "runtime.hpp"

#include <thread>

#include "detail/scheduler_impl.hpp"

namespace weft {

namespace {
std::shared_ptr<detail::Scheduler> make_scheduler(RuntimeOptions& options) {
    std::size_t workers = 1;
    if (options.flavor == Flavor::multi_thread) {
        workers = options.worker_threads;
        if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    }
    if (workers > 4096) throw std::invalid_argument("weft: worker_threads must be at most 4096");
    if (options.start_paused && options.flavor != Flavor::current_thread)
        throw std::invalid_argument("weft: start_paused needs a current_thread runtime");
    return std::make_shared<detail::Scheduler>(detail::Scheduler::Options{
        static_cast<std::uint32_t>(workers), options.flavor == Flavor::current_thread, options.enable_lifo_slot,
        options.max_blocking_threads, options.blocking_keep_alive, std::move(options.on_unhandled_exception),
        std::move(options.on_thread_start), std::move(options.on_thread_stop), std::move(options.thread_name)});
}
}  // namespace

Runtime::Runtime(RuntimeOptions options) : flavor_(options.flavor), handle_(make_scheduler(options)) {
    if (options.start_paused) handle_.scheduler_->driver.time().pause_clock();
    if (flavor_ == Flavor::multi_thread) handle_.scheduler_->start_threads();
}

Runtime::~Runtime() { handle_.scheduler_->shutdown(); }

void Runtime::shutdown() { handle_.scheduler_->shutdown(); }

void Runtime::shutdown_timeout(std::chrono::nanoseconds timeout) {
    handle_.scheduler_->shutdown(std::max(timeout, std::chrono::nanoseconds::zero()));
}

void Runtime::shutdown_background() { shutdown_timeout(std::chrono::nanoseconds::zero()); }

bool Runtime::is_shut_down() const noexcept { return handle_.is_shut_down(); }

std::size_t Runtime::num_workers() const noexcept { return handle_.scheduler_->num_workers(); }

RuntimeMetrics Runtime::metrics() const { return handle_.metrics(); }

}  // namespace weft
