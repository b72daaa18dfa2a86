// A worker's loop: find a task, poll it, park when there is nothing to do.
//
// Finding work (next_task, steal_work): the LIFO slot, then the local queue, then a batch from the
// injector. Every kInjectorInterval ticks the injector comes first (one task), so remote spawns
// are not starved by local work. With all of those empty the worker tries to become a searcher
// (Idle allows at most half the workers to search at once; a worker refused parks at once) and
// steals from the other workers, starting at a random one, then tries the injector again. A
// searcher that still finds nothing keeps looking for a few microseconds (search_before_parking)
// before it parks. The LIFO slot holds the task the running task just woke; after kMaxLifoPolls
// polls through it in a row, the next one goes to the back of the queue.
//
// Stealing (steal_work): a thief takes only tasks that have waited kStealAfterNs (20 us) in the
// victim's queue. It notes the queue's tail (RunQueue::mark) when it first sees tasks there, and
// steals, on a later look, at most half of those queued before that mark, if some are still
// there 20 us on. Go protects the task a goroutine just woke the same way (runnext, for about
// 3 us). Why: tasks that talk to each other (W1's producers and their consumer) take turns on one
// worker, each waiting a few microseconds in the queue. Stealing one splits the group across two
// cores, and then every message moves the channel's cache lines between them; on a host whose
// two vCPUs are far apart (a line costs 200-300 ns to cross) W1 with 4 or 16 producers fell from
// 20-30 M to 2-3 M messages/s. A task the owner does not get to within 20 us (a long poll, a deep
// queue, W3's spawner) is still stolen, and a searcher that saw such work keeps looking until it
// is stealable (search_before_parking). Looking is rationed too: a searcher reads a queue it has
// timed only when the time is up, and an empty one every 5 us at most, because each read pulls
// the queue's lines away from its owner. Tasks that yield are the exception: they ask to let
// others run, so when some worker is idle wake_deferred hands half of them to the injector,
// which any worker takes from at once (as Go's Gosched puts a goroutine on its global queue);
// W5 ran at half speed on one worker without that.
//
// Waking another worker: a parked worker is woken (Scheduler::notify_parked, which picks one only
// if nobody is searching and somebody is parked) when
//   - this worker put work in its own queue (schedule_local outside the LIFO slot, a task the LIFO
//     slot displaced, an injector batch, a LIFO run cut short with more than one task queued):
//     notify_others, which skips the wakeup while this worker is searching (it wakes one when it
//     stops) and first checks Idle's relaxed guess, since a missed wakeup here only delays
//     sharing a task this worker will run anyway;
//   - the last searcher found a task (run_task), so another looks for what is queued behind it;
//   - the last searcher parks and work is still visible in the injector or a run queue (park);
//   - a thread outside this runtime's workers schedules a task (Scheduler::schedule_remote).
//
// Yielding: after yield_now the task goes to the worker's deferred list, not its queue (a task
// whose budget ran out goes to the back of the queue, stealable, and another worker is woken).
// Those tasks are queued again after the driver was polled: by maintenance, or, when the worker
// has nothing else to run, by park_yield, which polls the driver without waiting first (instead of
// searching or parking). So a task yielding in a loop lets timers and I/O through (Tokio's defer).
//
// Polling I/O and timers: the Driver is held by one worker at a time (try_lock). A busy worker
// polls it without waiting every kInjectorInterval ticks (maintenance), unless another worker
// holds it, as a parked one does. A worker with nothing to run parks through its Parker: it
// returns at once if an unpark is already pending; otherwise it sleeps in the driver (epoll_wait
// until the next timer, an I/O event, or an unpark interrupts it) if it can take it, and on its
// condition variable if not. Tasks the driver wakes while this worker sleeps in it go to its own
// queue (is_parked_), where others can steal them, not to the LIFO slot, and without a wakeup.
//
// Parking and unparking (park): the worker records itself parked in Idle; if it was the last
// searcher it re-checks for visible work (see Waking, above; idle.hpp explains why no wakeup is
// lost). After each wakeup it returns if the runtime shut down; returns to run what the driver put
// in its own queue, taking itself off Idle's sleepers list unless a notifier already did; parks
// again if it is still listed (a spurious wakeup); and otherwise returns, because notify_parked
// took it off the list. Either way it comes back as a searcher: whoever unparked it counted it as
// one, so running the first task may wake another worker (park's comment says why on purpose).
//
// Shutdown: Scheduler::shutdown sets the flag, clears Idle's sleepers list and unparks every
// worker's Parker; an unpark that arrives before the park is kept, so a worker about to park
// returns at once. The worker sees the flag at the top of its loop, after each wakeup in park, on
// every round of search_before_parking, and in run_task, which then stops polling through the
// LIFO slot and queues that task instead. Once it sees the flag it starts no new round and leaves
// run(); shutdown joins the threads, then destroys the tasks left: those in the owned list, in the
// run queues (drain) and in the injector. A task whose first poll did not finish it joins the
// owned list (Scheduler::adopt) so shutdown can find it wherever it waits; if shutdown already
// closed that list, the worker completes it as cancelled. The current-thread flavor (run_until)
// runs the same rounds on the thread holding the core (scheduler_block_on.cpp) until its task
// completes or shutdown, without the spinning search.
#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "block_in_place.hpp"
#include "detail/backoff.hpp"  // cpu_relax
#include "detail/cancel_scope.hpp"
#include "detail/context.hpp"
#include "detail/coop.hpp"
#include "detail/scheduler_impl.hpp"

namespace weft::detail {

namespace {
// Check the injector first every this many ticks, so remote work is not starved by local work.
constexpr std::uint32_t kInjectorInterval = 61;
// Consecutive polls through the LIFO slot before its task goes to the back of the queue: the
// message-passing fast path must not let two tasks ping-ponging starve the rest.
constexpr std::uint32_t kMaxLifoPolls = 3;
// Rounds a searcher keeps looking before it parks, pausing between them (a few microseconds in
// all). Never sched_yield here: on a loaded machine that hands the core away for a whole time
// slice, which costs an I/O-bound task far more than parking does.
constexpr unsigned kSearchSpins = 32;
constexpr unsigned kPausesPerSpin = 8;
// Tasks taken from the injector at once when the local queue is empty.
constexpr std::size_t kInjectorBatch = std::min<std::size_t>(32, RunQueue::kCapacity / 2);
// A thief takes only tasks that have waited at least this long in another worker's queue (see
// Stealing, above). Shorter than 20 us and W1's producers, which wait a few microseconds for
// their turn on the consumer's worker, get stolen (3 us: P=4 C=1024 back to 3.8 M msg/s from 23 M).
constexpr std::int64_t kStealAfterNs = 20'000;
// A searcher that found another worker's queue empty looks at it again after this long at the
// earliest (anything queued meanwhile has kStealAfterNs to wait anyway).
constexpr std::int64_t kLookAgainNs = 5'000;
}  // namespace

// Resumes `h` and every coroutine it hands control to, one after another, without nesting stack
// frames. `Task` never uses symmetric transfer: g++ does not turn it into a tail call at -O0 or under
// ASan, so a loop of `co_await ready_task()` would overflow the stack. Instead a suspending Task
// writes the coroutine to run next into `tls_context.next` and returns here.
//
// Returns the last coroutine resumed: when the slot is empty after a resume, that coroutine either
// suspended on a leaf awaitable (so it is where the task resumes next) or finished the root.
static std::coroutine_handle<> run_trampoline(std::coroutine_handle<> h) {
    return detail::run_trampoline(tls_context, h);
}

Worker::Worker(Scheduler& scheduler, std::uint32_t index, std::uint32_t num_workers)
    : scheduler_(scheduler),
      index_(index),
      parker_(&scheduler.driver),
      injector_consumer_(scheduler.injector),
      injector_producer_(scheduler.injector),
      rng_(0x9e3779b9u * (index + 1)),
      looks_(num_workers) {}

void Worker::run() {
    ThreadContext& ctx = tls_context;
    ctx.worker = this;
    ctx.scheduler = &scheduler_;
    while (!scheduler_.is_shutdown()) {
        if (run_one_round()) continue;
        if (has_deferred()) park_yield();
        else if (!search_before_parking()) park();
    }
    ctx.worker = nullptr;
    ctx.scheduler = nullptr;
}

void Worker::run_until(const TaskHeader& task) {
    ThreadContext& ctx = tls_context;
    const ThreadContext saved = ctx;
    ctx.worker = this;
    ctx.scheduler = &scheduler_;
    ctx.entered = nullptr;  // a Handle::enter guard on this thread does not apply to the tasks
    while (!task.is_complete() && !scheduler_.is_shutdown()) {
        if (run_one_round() || task.is_complete()) continue;
        if (has_deferred()) park_yield();
        else park();
    }
    ctx = saved;
}

bool Worker::run_one_round() {
    if (++tick_ % kInjectorInterval == 0) maintenance();
    TaskHeader* task = next_task();
    // A worker with deferred tasks has work of its own: it polls the driver and runs them rather
    // than search the others' queues.
    if (!task && !has_deferred()) task = steal_work();
    if (!task) return false;
    run_task(task);
    return true;
}

// A busy worker still serves timers and I/O: poll the driver without waiting, unless a parked
// worker holds it (that one is serving them already). The driver was polled (or is being served),
// so the deferred tasks may run again.
void Worker::maintenance() {
    poll_driver_if_free();
    wake_deferred();
}

void Worker::poll_driver_if_free() {
    Driver& driver = scheduler_.driver;
    if (driver.has_work() && driver.try_lock()) {
        driver.poll_without_waiting();
        driver.unlock();
    }
}

// Nothing to run but deferred tasks: poll the driver once without waiting, so what it wakes (a
// timer due, a connection that arrived) runs before the tasks that yielded, then queue those.
// Tokio's park_yield (park_timeout(0), then defer.wake()).
void Worker::park_yield() {
    Driver& driver = scheduler_.driver;
    if (driver.has_work() && driver.try_lock()) {
        // Tasks the driver wakes go to the back of our queue, ahead of the deferred ones.
        is_parked_ = true;
        driver.poll_without_waiting();
        is_parked_ = false;
        driver.unlock();
    }
    wake_deferred();
}

void Worker::defer(TaskHeader* task) noexcept {
    if (deferred_count_ == kMaxDeferred) {
        push_back(task);
        return;
    }
    deferred_[deferred_count_++] = task;
}

void Worker::wake_deferred() noexcept {
    if (deferred_count_ == 0) return;
    std::size_t first = 0;
    if (deferred_count_ > 1 && scheduler_.num_workers() > 1 && scheduler_.idle.has_idle_worker()) {
        // Tasks that yield ask to let others run, and another worker has nothing to do: offer
        // half of them where it looks at once (stealing from our queue waits; see steal_work).
        first = deferred_count_ / 2;
        if (!scheduler_.injector.enqueue_bulk(injector_producer_, deferred_, first)) {
            std::fputs("weft: out of memory moving tasks to the injection queue\n", stderr);
            std::abort();
        }
        scheduler_.notify_parked();
    }
    for (std::size_t i = first; i < deferred_count_; ++i) push_back(deferred_[i]);
    if (deferred_count_ - first > 1) notify_others();
    deferred_count_ = 0;
}

TaskHeader* Worker::next_task() {
    if (tick_ % kInjectorInterval == 0) {
        if (TaskHeader* t = next_from_injector(false)) return t;
    }
    if (lifo_slot_) return std::exchange(lifo_slot_, nullptr);
    if (TaskHeader* t = queue_.pop()) return t;
    return next_from_injector(true);
}

TaskHeader* Worker::next_from_injector(bool fill_local) {
    TaskHeader* batch[kInjectorBatch];
    const std::size_t n = scheduler_.injector.try_dequeue_bulk(injector_consumer_, batch, fill_local ? kInjectorBatch : 1);
    if (n == 0) return nullptr;
    for (std::size_t i = 1; i < n; ++i) push_back(batch[i]);
    if (n > 1) notify_others();
    return batch[0];
}

// Real time, never the runtime's clock: a test that pauses time must not stop stealing.
static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

TaskHeader* Worker::steal_work() {
    if (!is_searching_) {
        if (!scheduler_.idle.transition_worker_to_searching()) return nullptr;
        is_searching_ = true;
    }
    const std::uint32_t n = scheduler_.num_workers();
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    const std::uint32_t start = rng_ % n;
    const std::int64_t now = now_ns();
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t v = (start + i) % n;
        Worker& victim = scheduler_.worker(v);
        if (&victim == this) continue;
        StealLook& look = looks_[v];
        if (now < look.next_look_ns) {
            // Nothing there we could take yet. Reading the queue would only pull its lines away
            // from the owner, who writes them on every push and pop (W1 P=4 C=16 ran at half
            // speed with a searcher reading them every 150 ns).
            if (look.valid) saw_young_work_ = true;
            continue;
        }
        RunQueue& q = victim.queue_;
        if (q.is_empty()) {
            look = StealLook{0, 0, now + kLookAgainNs, false};
            continue;
        }
        if (!look.valid || !q.holds_before(look.mark)) {
            // What is there now was queued since our last look: time it from here.
            look = StealLook{q.mark(), now, now + kStealAfterNs, true};
            saw_young_work_ = true;
            continue;
        }
        const std::uint32_t limit = look.mark;  // only what has waited kStealAfterNs
        look = StealLook{0, 0, 0, false};
        std::uint32_t stolen = 0;
        if (TaskHeader* t = q.steal_into(queue_, stolen, limit)) {
            WorkerCounters::bump(counters_.steal_operations);
            WorkerCounters::bump(counters_.stolen_tasks, stolen);
            return t;
        }
    }
    return next_from_injector(true);
}

// A searcher that found nothing keeps looking for a few microseconds before it sleeps. Work often
// arrives a moment later (a task spawning or waking others); meanwhile producers see a searcher
// and skip the wake-up system call, and this worker skips the sleep and the wake-up latency. Only
// searchers spin (at most half the workers), and not for long: an idle runtime still parks. A
// searcher that saw tasks too young to steal looks on until they are old enough or gone, for at
// most twice kStealAfterNs more.
bool Worker::search_before_parking() {
    if (!is_searching_) return false;
    saw_young_work_ = false;
    std::int64_t started = -1;
    for (unsigned spins = 0;; ++spins) {
        if (spins >= kSearchSpins) {
            // Work seen queued but not yet stealable: keep looking until it is, or is gone.
            if (!saw_young_work_) break;
            if (started < 0) started = now_ns();
            else if (now_ns() - started > 2 * kStealAfterNs) break;
            saw_young_work_ = false;
        }
        if (scheduler_.is_shutdown()) return false;
        for (unsigned i = 0; i < kPausesPerSpin; ++i) cpu_relax();
        if (TaskHeader* task = steal_work()) {  // other queues, then the injector
            run_task(task);
            return true;
        }
    }
    return false;
}

void Worker::run_task(TaskHeader* task) {
    if (is_searching_) {
        is_searching_ = false;
        // The last searcher found work: wake another to look for more.
        if (scheduler_.idle.transition_worker_from_searching()) scheduler_.notify_parked();
    }
    poll(task);
    for (std::uint32_t lifo_polls = 0; lifo_slot_ != nullptr;) {
        TaskHeader* next = std::exchange(lifo_slot_, nullptr);
        if (lifo_polls++ == kMaxLifoPolls || scheduler_.is_shutdown()) {
            // To the back of the queue, so the tasks queued there get their turn. Wake another
            // worker only if there is work to share: with one task queued we run it next
            // ourselves, and a thief would only split a pair of tasks talking to each other.
            push_back(next);
            if (queue_.len() > 1) notify_others();
            break;
        }
        poll(next);
    }
}

void Worker::poll(TaskHeader* task) {
    WorkerCounters::bump(counters_.polls);
    const std::uint64_t prev = task->transition_to_running();
    if (prev & TaskHeader::kCancelled) {
        // Aborted. Unless what it waited on completed irrevocably (Pollable::settle_for_abort),
        // its frame goes now; else it runs once more and the abort lands at its next suspension.
        Pollable* pending = task->pending();
        if (pending == nullptr || !pending->settle_for_abort()) {
            scheduler_.complete(task, /*cancelled=*/true);
            return;
        }
    }
    ThreadContext& ctx = tls_context;
    ctx.task = task;
    ctx.yield_requested = false;
    ctx.defer_requested = false;
    ctx.pending = nullptr;
    coop::reset_budget(task->unconstrained_depth != 0);

    bool resume = true;
    if (!task->cancel_scopes().empty()) {
        if (CancelScope* hit = task->cancel_scopes().outermost_triggered()) {
            // A timeout around a child task expired: drop the child (and whatever leaf it waits
            // on) and resume the coroutine that set the timeout.
            task->cancel_scopes().unwind_to(*hit);
            task->set_pending(nullptr);
            hit->cancel_children();
            task->set_resume_point(hit->awaiting);
        }
    }
    if (Pollable* pending = task->pending()) {
        resume = pending->poll_ready();  // false: a spurious wake, or a yield it requested
        if (resume) task->set_pending(nullptr);
    }
    if (resume) {
        const std::coroutine_handle<> last = run_trampoline(task->resume_point());
        if (task->root().done()) {
            ctx.task = nullptr;
            scheduler_.complete(task, /*cancelled=*/false);
            return;
        }
        task->set_resume_point(last);
        task->set_pending(std::exchange(ctx.pending, nullptr));
    }
    ctx.task = nullptr;
    // Suspended: from now on it may wait anywhere, so shutdown must be able to find it.
    if (!task->is_owned && !scheduler_.adopt(task)) {
        scheduler_.complete(task, /*cancelled=*/true);  // shutdown already closed the list
        return;
    }
    const bool yielded = std::exchange(ctx.yield_requested, false);
    const bool deferred = std::exchange(ctx.defer_requested, false);
    // A scope whose deadline passed while its child ran (or before it started) gets no wake of
    // its own: poll again so the check above runs.
    const bool rerun = !yielded && !task->cancel_scopes().empty() && task->cancel_scopes().outermost_triggered() != nullptr;
    if (task->transition_to_idle(yielded || rerun) == TaskHeader::IdleResult::kRequeue) {
        // yield_now waits for the driver (see Yielding, above); a spent budget or a wake that
        // came during the poll goes to the back of the queue, where another worker may take it.
        if (deferred) {
            defer(task);
        } else {
            push_back(task);
            // A spent budget: wake a thief (Tokio 1.24 does), except for a pair, this task alone
            // in the queue and the one it woke in the LIFO slot: a thief would split a producer
            // from its consumer (W1 P=1 C=1024: 31 -> 18 M), and we run both next anyway.
            if (yielded && (queue_.len() > 1 || lifo_slot_ == nullptr)) notify_others();
            // Alone here after spending its budget: nothing else on this worker lets the timers
            // and I/O in before the next maintenance, kInjectorInterval polls of this task away
            // (7808 operations: seconds for a loop whose every try is slow, an accept failing
            // with EMFILE under a sanitizer). Let them in now; free when no timer or I/O waits.
            if (yielded && queue_.len() == 1 && lifo_slot_ == nullptr) poll_driver_if_free();
        }
    }
}

void Worker::park() {
    const bool was_last_searcher = scheduler_.idle.transition_worker_to_parked(index_, is_searching_);
    is_searching_ = false;
    if (was_last_searcher) {
        // Work queued while we were giving up must not be stranded: if any is visible, wake a
        // worker (possibly ourselves) to take it.
        if (scheduler_.has_visible_work()) scheduler_.notify_parked();
    }
    WorkerCounters::bump(counters_.parks);
    for (;;) {
        is_parked_ = true;
        parker_.park();
        is_parked_ = false;
        if (scheduler_.is_shutdown()) return;
        if (!queue_.is_empty()) {
            // The driver woke tasks onto our queue: run them (taking ourselves off the sleepers'
            // list unless a notifier already did; either way we count as searching now).
            //
            // Counting as a searcher means running the first task wakes another worker, even for
            // a single task, as Tokio does not. That is on purpose: on a virtual machine, a
            // request written to a peer on this host (a Redis server) wakes the peer on the other
            // core, which is far slower when that core is halted than when a worker spins there.
            // Not waking it made W6 sequential (one request at a time) about 2.3x slower on this
            // project's machines (18-23k -> 9k round trips/s), though it saves two futex calls
            // per round trip.
            scheduler_.idle.unpark_worker_by_id(index_);
            break;
        }
        if (!scheduler_.idle.is_parked(index_)) break;  // notify_parked took us off the list
    }
    is_searching_ = true;  // whoever woke us counted us as searching
}

void Worker::schedule_local(TaskHeader* task, ScheduleKind kind) noexcept {
    if (is_parked_) {
        // Woken by the driver while we sleep in it: queue it where others can steal it, and let
        // park() run it when the driver returns.
        push_back(task);
        return;
    }
    if (kind == ScheduleKind::kWake && scheduler_.lifo_enabled()) {
        TaskHeader* displaced = std::exchange(lifo_slot_, task);
        if (!displaced) return;
        task = displaced;
    }
    push_back(task);
    notify_others();
}

void Worker::push_back(TaskHeader* task) noexcept {
    TaskHeader* overflow[RunQueue::kCapacity / 2 + 1];
    std::size_t count = 0;
    if (queue_.push_back(task, overflow, count)) return;
    if (!scheduler_.injector.enqueue_bulk(injector_producer_, overflow, count)) {
        std::fputs("weft: out of memory moving tasks to the injection queue\n", stderr);
        std::abort();
    }
    WorkerCounters::bump(counters_.overflows);
}

void Worker::hand_off_queued() noexcept {
    std::size_t moved = 0;
    const auto give = [&](TaskHeader* task) {
        if (!scheduler_.injector.enqueue(injector_producer_, task)) {
            std::fputs("weft: out of memory moving tasks to the injection queue\n", stderr);
            std::abort();
        }
        ++moved;
    };
    if (TaskHeader* t = std::exchange(lifo_slot_, nullptr)) give(t);
    while (TaskHeader* t = queue_.pop()) give(t);
    for (std::size_t i = 0; i < deferred_count_; ++i) give(deferred_[i]);
    deferred_count_ = 0;
    // One woken worker searches and wakes the next when it finds work (run_task); a few calls cover
    // a notify that finds a searcher about to give up.
    for (std::size_t i = 0; i < std::min<std::size_t>(moved, scheduler_.num_workers()); ++i) scheduler_.notify_parked();
}

BlockInPlaceScope::BlockInPlaceScope() : saved_(tls_context) {
    ThreadContext& ctx = tls_context;
    if (!ctx.worker) return;  // not a worker: nothing to hand off
    if (ctx.scheduler->is_current_thread())
        throw std::logic_error("weft::block_in_place called on a current_thread runtime; use spawn_blocking");
    ctx.worker->hand_off_queued();
    // A plain thread of the runtime, as a blocking-pool thread is, until fn returns.
    ctx = ThreadContext{};
    ctx.scheduler = saved_.scheduler;
    ctx.entered = saved_.entered;
    active_ = true;
}

BlockInPlaceScope::~BlockInPlaceScope() {
    if (active_) tls_context = saved_;
}

void Worker::notify_others() noexcept {
    // A searching worker wakes another when it stops searching (run_task); don't double up.
    if (is_searching_) return;
    // The work is in our own queue and we are awake, so a wakeup missed to a worker parking at
    // this instant delays sharing it, never the task. That lets a plain load skip the strict
    // check when someone searches or nobody is parked (the usual case under load): the check is
    // a read-modify-write, on x86 a locked instruction that waits for every store before it
    // (a spawn's freshly written frame), which cost W3 a quarter of its time.
    if (scheduler_.idle.may_need_notify()) scheduler_.notify_parked();
}

}  // namespace weft::detail
