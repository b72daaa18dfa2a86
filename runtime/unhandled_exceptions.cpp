// Reports of exceptions nobody will observe (a task nobody joined threw): to the runtime's
// on_unhandled_exception, or to stderr. Separate from scheduler.cpp because it must work without
// a scheduler: a JoinHandle may be dropped after its runtime is gone, so the reports check a
// registry of the schedulers alive now.
#include <cstdio>
#include <exception>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "detail/scheduler_impl.hpp"

namespace weft::detail {

namespace {

// Schedulers alive now. An exception report may come from a JoinHandle dropped after its runtime
// is gone; it then goes to the default reporter instead of a destroyed handler.
std::mutex live_mutex;
std::unordered_set<const Scheduler*> live_schedulers;

void default_report(std::exception_ptr error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft: a task nobody joined ended with an exception: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "weft: a task nobody joined ended with a non-standard exception\n");
    }
}

}  // namespace

void register_live_scheduler(const Scheduler* scheduler) {
    std::lock_guard lock(live_mutex);
    live_schedulers.insert(scheduler);
}

void unregister_live_scheduler(const Scheduler* scheduler) {
    std::lock_guard lock(live_mutex);
    live_schedulers.erase(scheduler);
}

void report_unhandled_exception(Scheduler* scheduler, std::exception_ptr error) noexcept {
    {
        std::lock_guard lock(live_mutex);
        if (!live_schedulers.count(scheduler)) scheduler = nullptr;
    }
    if (scheduler) scheduler->report_unhandled(std::move(error));
    else default_report(std::move(error));
}

void Scheduler::report_unhandled(std::exception_ptr error) noexcept {
    if (!options_.on_unhandled_exception) return default_report(std::move(error));
    try {
        options_.on_unhandled_exception(std::move(error));
    } catch (...) {
        std::fputs("weft: on_unhandled_exception threw; ignored\n", stderr);
    }
}

}  // namespace weft::detail
