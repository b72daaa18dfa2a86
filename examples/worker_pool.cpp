// A worker pool: a producer submits jobs to a bounded queue (it waits while the queue is full),
// four workers take them, and each job runs under a timeout. SIGTERM or SIGINT shuts it down
// gracefully: the producer stops (a CancellationToken), the workers finish every job already
// queued, and the program waits for them (a TaskTracker) and prints what happened to each job.
//
//   build/release/examples/worker_pool [job-timeout-ms]      (default 40)
#include <weft/channels/cancellation_token.hpp>
#include <weft/channels/mpsc.hpp>
#include <weft/channels/mutex.hpp>
#include <weft/channels/task_tracker.hpp>
#include <weft/runtime/runtime.hpp>
#include <weft/runtime/select.hpp>
#include <weft/runtime/signal.hpp>
#include <weft/runtime/time.hpp>
#include <weft/runtime/timeout.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

using namespace std::chrono_literals;
using weft::Task;

struct Job {
    Job(int id, std::chrono::milliseconds work) : id(id), work(work) {}
    int id;
    std::chrono::milliseconds work;  // how long it takes; some take longer than the timeout
};

struct Tally {
    std::atomic<int> submitted{0}, done{0}, timed_out{0};
};

using Queue = std::shared_ptr<weft::Mutex<weft::mpsc::Receiver<Job>>>;

Task<void> produce(weft::mpsc::Sender<Job> queue, weft::CancellationToken stop, Tally& tally) {
    for (int id = 0;; ++id) {
        Job job(id, std::chrono::milliseconds(5 + (id * 7) % 60));
        auto sent = co_await weft::select(stop.cancelled(), queue.send(std::move(job)));
        if (sent.index() == 0) co_return;  // shutting down: this job was never queued
        tally.submitted.fetch_add(1);
        co_await weft::sleep(2ms);
    }
}

Task<void> work(Queue queue, std::chrono::milliseconds limit, Tally& tally) {
    for (;;) {
        std::optional<Job> job;
        {
            auto guard = co_await queue->lock();  // one worker waits on the queue at a time
            job = co_await guard->recv();
        }
        if (!job) co_return;  // the producer is gone and the queue is drained
        auto finished = co_await weft::timeout(limit, weft::sleep(job->work));
        if (finished.timed_out()) {
            tally.timed_out.fetch_add(1);
            std::printf("job %d timed out\n", job->id);
        } else {
            tally.done.fetch_add(1);
            std::printf("job %d done\n", job->id);
        }
        std::fflush(stdout);
    }
}

Task<void> run(std::chrono::milliseconds limit) {
    auto interrupt = weft::signal::unix::signal(SIGINT);
    auto terminate = weft::signal::unix::signal(SIGTERM);
    std::printf("running\n");
    std::fflush(stdout);
    Tally tally;
    auto [jobs, queued] = weft::mpsc::channel<Job>(16);
    auto queue = std::make_shared<weft::Mutex<weft::mpsc::Receiver<Job>>>(std::move(queued));
    weft::CancellationToken stop;
    weft::TaskTracker tasks;
    tasks.spawn(produce(std::move(jobs), stop, tally)).detach();
    for (int i = 0; i < 4; ++i) tasks.spawn(work(queue, limit, tally)).detach();
    auto signalled = co_await weft::select(interrupt.recv(), terminate.recv());
    (void)signalled;
    stop.cancel();  // the producer stops; the workers drain the queue, then end
    tasks.close();
    co_await tasks.wait();
    std::printf("stopped: %d submitted, %d done, %d timed out\n", tally.submitted.load(), tally.done.load(),
                tally.timed_out.load());
}

int main(int argc, char** argv) {
    const std::chrono::milliseconds limit(argc > 1 ? std::atoi(argv[1]) : 40);
    weft::Runtime runtime;
    runtime.block_on(run(limit));
}
