// Reports of exceptions nobody will observe (a task nobody joined threw): to the runtime's
// on_unhandled_exception, or to stderr. Separate from scheduler.cpp because it must work without
// a scheduler: a JoinHandle may be dropped after its runtime is gone, or on another thread while
// the runtime is being destroyed. So the registry of live schedulers holds each one's handler by
// shared_ptr: a report copies it under the lock (no allocation) and calls it outside, and the
// handler outlives the scheduler for as long as a report is running it.
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "detail/scheduler_impl.hpp"

namespace weft::detail {

namespace {

using Handler = std::function<void(std::exception_ptr)>;

// Schedulers alive now, each with its handler (null: the default report).
std::mutex live_mutex;
std::unordered_map<const Scheduler*, std::shared_ptr<const Handler>> live_schedulers;

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

void register_live_scheduler(const Scheduler* scheduler, Handler handler) {
    auto shared = handler ? std::make_shared<const Handler>(std::move(handler)) : nullptr;
    std::lock_guard lock(live_mutex);
    live_schedulers.emplace(scheduler, std::move(shared));
}

void unregister_live_scheduler(const Scheduler* scheduler) {
    std::shared_ptr<const Handler> last;  // destroyed outside the lock: the handler's captures may report too
    std::lock_guard lock(live_mutex);
    if (auto it = live_schedulers.find(scheduler); it != live_schedulers.end()) {
        last = std::move(it->second);
        live_schedulers.erase(it);
    }
}

void report_unhandled_exception(Scheduler* scheduler, std::exception_ptr error) noexcept {
    std::shared_ptr<const Handler> handler;
    {
        std::lock_guard lock(live_mutex);
        if (auto it = live_schedulers.find(scheduler); it != live_schedulers.end()) handler = it->second;
    }
    if (!handler) return default_report(std::move(error));
    try {
        (*handler)(std::move(error));
    } catch (...) {
        std::fputs("weft: on_unhandled_exception threw; ignored\n", stderr);
    }
}

}  // namespace weft::detail
