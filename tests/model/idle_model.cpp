// Model of idle/notify: the real runtime/detail/idle.hpp and runtime/detail/parker.hpp (their
// atomics, mutex and condition variable replaced by Relacy's), driven by a transcription of the
// protocol around them in runtime/worker.cpp (Worker::park, the search loop) and
// runtime/scheduler.cpp (schedule_remote, notify_parked, has_visible_work) as of commit 81b2754.
// Two workers search, park and wake; a thread outside the runtime queues one task. No lost
// wakeup: the task is always run; a lost one leaves both workers parked, which Relacy reports as
// a deadlock.
#include "support/relacy_sync.hpp"

#include <weft/runtime/detail/idle.hpp>
#include <weft/runtime/detail/parker.hpp>

// Parker's driver path (driver.cpp) is not modelled: these parkers have no driver.
namespace weft::detail {
void interrupt_driver(Driver&) noexcept {}
bool Parker::park_in_driver() { return false; }
}  // namespace weft::detail

namespace {

using weft::detail::Idle;
using weft::detail::Parker;
using weft::model::atomic;

constexpr const char* kHeader = "runtime/detail/idle.hpp";
constexpr int kWorkers = 2;

struct ParkVsRemoteSchedule : rl::test_suite<ParkVsRemoteSchedule, kWorkers + 1> {
    Idle idle{kWorkers};
    Parker parkers[kWorkers];
    atomic<int> injector{0};  // moodycamel's queue, reduced to its length
    atomic<bool> shutdown{false};
    rl::var<int> task_payload;
    int runs = 0;

    // Scheduler::notify_parked
    void notify_parked() {
        const int worker = idle.worker_to_notify();
        if (worker >= 0) parkers[worker].unpark();
    }
    // Scheduler::has_visible_work (the local queues are empty in this model)
    bool has_visible_work() { return injector.load(std::memory_order_acquire) > 0; }
    // Taking the task from the injector, and running it.
    bool try_run() {
        int n = injector.load(std::memory_order_acquire);
        while (n > 0)
            if (injector.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
                RL_ASSERT(task_payload($) == 1);
                ++runs;
                return true;
            }
        return false;
    }
    // Scheduler::shutdown, reduced: stop, forget the sleepers, unpark everyone.
    void shut_down() {
        shutdown.store(true, std::memory_order_seq_cst);
        std::vector<std::uint32_t> woken;
        idle.unpark_all_for_shutdown(woken);
        for (Parker& p : parkers) p.unpark();
    }

    void worker(unsigned index) {
        bool searching = false;
        for (int round = 0; round < 4; ++round) {
            if (shutdown.load(std::memory_order_seq_cst)) return;
            // The search loop: become a searcher (at most half the workers), look for work.
            if (!searching && idle.transition_worker_to_searching()) searching = true;
            if (try_run()) {
                if (searching && idle.transition_worker_from_searching()) notify_parked();
                shut_down();  // the one task ran: the model is over
                return;
            }
            // Worker::park
            const bool was_last_searcher = idle.transition_worker_to_parked(index, searching);
            searching = false;
            if (was_last_searcher && has_visible_work()) notify_parked();
            for (;;) {
                parkers[index].park();
                if (shutdown.load(std::memory_order_seq_cst)) return;
                if (!idle.is_parked(index)) break;  // notify_parked took us off the list
            }
            searching = true;  // whoever woke us counted us as searching
        }
        RL_ASSERT(!"a worker woke more often than this model allows");
    }

    void thread(unsigned index) {
        if (index < kWorkers) {
            worker(index);
        } else {
            // Scheduler::schedule_remote
            task_payload($) = 1;
            injector.fetch_add(1, std::memory_order_release);
            notify_parked();
        }
    }

    void after() { RL_ASSERT(runs == 1); }
};

TEST(IdleModel, TaskQueuedFromOutsideIsRunWhileWorkersPark) {
    const auto o = weft::model::simulate<ParkVsRemoteSchedule>(weft::model::iterations(200000));
    EXPECT_TRUE(o.passed) << o.report;
}

// Seeded bug: the queuer's "does anyone need waking" check as a relaxed RMW. It no longer
// publishes the queued task to a worker that parks after it, whose re-check then misses the task
// while the queuer saw no need to wake anyone: both workers sleep for ever.
TEST(IdleModel, SeededBugRelaxedNotifyCheckIsCaught) {
    const unsigned line = weft::model::line_of(kHeader, "return wants_wakeup(state_.fetch_add(0,");
    const auto [o, hits] = weft::model::simulate_with_fault<ParkVsRemoteSchedule>(
        weft::model::iterations(200000), kHeader, line, std::memory_order_relaxed);
    EXPECT_GT(hits, 0u) << "the seeded fault never fired: line " << line;
    EXPECT_FALSE(o.passed) << "the model did not catch a relaxed notify check";
}

}  // namespace
