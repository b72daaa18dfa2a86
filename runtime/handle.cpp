// Handle's entry points, and block_on's checks and wait, which Runtime::block_on reaches through it.
#include "handle.hpp"

#include <stdexcept>

#include "detail/scheduler_impl.hpp"

namespace weft {

namespace {
// The scheduler's owner reference, or empty while its last owner is destroying it.
std::shared_ptr<detail::Scheduler> current_shared() {
    detail::Scheduler* scheduler = detail::current_scheduler();
    if (!scheduler) return nullptr;
    return scheduler->weak_from_this().lock();
}
}  // namespace

Handle Handle::current() {
    if (!detail::current_scheduler())
        throw std::logic_error("weft::Handle::current called outside a runtime (no task, blocking call, "
                               "block_on or Handle::enter guard on this thread)");
    std::shared_ptr<detail::Scheduler> scheduler = current_shared();
    if (!scheduler) throw RuntimeShutdownError();
    return Handle(std::move(scheduler));
}

std::optional<Handle> Handle::try_current() noexcept {
    std::shared_ptr<detail::Scheduler> scheduler = current_shared();
    if (!scheduler) return std::nullopt;
    return Handle(std::move(scheduler));
}

EnterGuard Handle::enter() const { return EnterGuard(*this); }

bool Handle::is_shut_down() const noexcept { return scheduler_->is_shutdown(); }

RuntimeMetrics Handle::metrics() const { return scheduler_->metrics(); }

EnterGuard::EnterGuard(Handle handle) noexcept
    : handle_(std::move(handle)), previous_(std::exchange(detail::tls_context.entered, handle_.scheduler_.get())) {}

EnterGuard::~EnterGuard() { detail::tls_context.entered = previous_; }

}  // namespace weft

namespace weft::detail {

void check_can_block(const Scheduler& scheduler) {
    if (is_worker_thread())
        throw std::logic_error("weft: block_on called on a runtime worker thread (inside a task); use co_await");
    if (scheduler.is_shutdown()) throw RuntimeShutdownError();
}

void block_on_wait(Scheduler& scheduler, TaskHeader* task, ThreadNotifier& notifier) noexcept {
    if (scheduler.is_current_thread()) scheduler.block_on_current_thread(task, notifier);
    else Scheduler::wait_until_complete(task, notifier);
}

}  // namespace weft::detail
