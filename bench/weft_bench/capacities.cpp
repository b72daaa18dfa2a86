#include "capacities.hpp"

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <weft/runtime/runtime.hpp>

#include "../workloads/mpsc_throughput.hpp"
#include "../workloads/mpsc_throughput_probe.hpp"

namespace weft::bench {
namespace {

struct ChildOutcome {
    std::string text;  // what the child wrote to the pipe
    std::int64_t peak_rss_kib = 0;
};

// Runs `body` in a forked child whose stdout is a pipe; returns what it wrote and its ru_maxrss.
// Throws if the child does not exit with status 0.
template <class Body>
ChildOutcome run_in_child(Body body, const std::string& what) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        ::close(fds[0]);
        int status = 0;
        try {
            const std::string text = body();
            std::size_t written = 0;
            while (written < text.size()) {
                const ssize_t n = ::write(fds[1], text.data() + written, text.size() - written);
                if (n <= 0) _exit(3);
                written += static_cast<std::size_t>(n);
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "\nweft-bench: %s: %s\n", what.c_str(), e.what());
            status = 1;
        }
        ::close(fds[1]);
        std::fflush(stderr);
        _exit(status);  // no atexit handlers or static destructors of the parent's state
    }
    ::close(fds[1]);
    ChildOutcome outcome;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n > 0) outcome.text.append(buffer, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(fds[0]);
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "wait4");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(what + ": the child process " +
                                 (WIFSIGNALED(status) ? "died of signal " + std::to_string(WTERMSIG(status))
                                                      : "exited with status " + std::to_string(WEXITSTATUS(status))));
    }
    outcome.peak_rss_kib = usage.ru_maxrss;  // Linux: kibibytes
    return outcome;
}

Runtime make_runtime(std::size_t workers) {
    RuntimeOptions options;
    options.worker_threads = workers;
    return Runtime(std::move(options));
}

// In the child: the measured runs of one configuration, as text: "rates... | p50 p99 samples full sends".
std::string measure_configuration(const CapacitiesOptions& o, std::size_t capacity, std::size_t producers) {
    Runtime runtime = make_runtime(o.workers);
    const int p = static_cast<int>(producers);
    const std::uint64_t expected = workloads::mpsc_throughput_delivered(o.messages, p);
    (void)runtime.block_on(
        workloads::mpsc_throughput_probe(capacity, p, std::max<std::uint64_t>(o.messages / 10, producers), o.sample_every));

    std::ostringstream out;
    out.precision(17);
    std::vector<std::int64_t> samples;
    std::uint64_t full = 0, sends = 0;
    for (std::size_t r = 0; r < o.reps; ++r) {
        const auto start = std::chrono::steady_clock::now();
        workloads::ProbeOutcome run =
            runtime.block_on(workloads::mpsc_throughput_probe(capacity, p, o.messages, o.sample_every));
        const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
        if (run.received != expected)
            throw std::runtime_error("received " + std::to_string(run.received) + " messages, expected " +
                                     std::to_string(expected));
        out << static_cast<double>(run.received) / seconds.count() << ' ';
        samples.insert(samples.end(), run.latency_ns.begin(), run.latency_ns.end());
        full += run.full_sends;
        sends += run.sends;
    }
    out << "| ";
    if (samples.empty()) {
        out << "- - 0";
    } else {
        const std::int64_t p50 = percentile(samples, 50);
        const std::int64_t p99 = percentile(samples, 99);
        out << p50 << ' ' << p99 << ' ' << samples.size();
    }
    out << ' ' << full << ' ' << sends << '\n';
    return out.str();
}

CapacityResult parse_child_figures(const std::string& text, std::size_t capacity, std::size_t producers) {
    CapacityResult result;
    result.capacity = capacity;
    result.producers = producers;
    std::istringstream in(text);
    std::vector<double> rates;
    std::string token;
    while (in >> token && token != "|") rates.push_back(std::stod(token));
    std::string p50, p99;
    std::uint64_t full = 0, sends = 0;
    if (rates.empty() || !(in >> p50 >> p99 >> result.latency_samples >> full >> sends))
        throw std::runtime_error("weft-bench: garbled figures from a child process: " + text);
    result.throughput = summarize(std::move(rates));
    if (p50 != "-") result.latency_p50_ns = std::stod(p50);
    if (p99 != "-") result.latency_p99_ns = std::stod(p99);
    result.full_send_share = sends ? static_cast<double>(full) / static_cast<double>(sends) : 0.0;
    return result;
}

// One line, rewritten in place on a terminal; one line per step otherwise (a log stays readable).
class Progress {
public:
    explicit Progress(std::size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) != 0) {}

    void step(std::size_t done, const std::string& what) {
        std::ostringstream line;
        line << "weft-bench capacities: [" << done + 1 << '/' << total_ << "] " << what;
        if (done > 0) {
            const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
            const double left = elapsed.count() / static_cast<double>(done) * static_cast<double>(total_ - done);
            line << " (about " << static_cast<long>(left + 0.5) << " s left)";
        }
        if (tty_) std::cerr << "\r\033[K" << line.str() << std::flush;
        else std::cerr << line.str() << '\n';
    }
    void finish() {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
        if (tty_) std::cerr << "\r\033[K";
        std::cerr << "weft-bench capacities: " << total_ << " configurations in " << static_cast<long>(elapsed.count() + 0.5)
                  << " s\n";
    }

private:
    std::size_t total_;
    bool tty_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

CapacityReport run_capacities(const CapacitiesOptions& o) {
    CapacityReport report;
    report.options = o;

    const auto idle = [&] {
        Runtime runtime = make_runtime(o.workers);
        (void)runtime.block_on(workloads::mpsc_throughput(1, 1, 1));
        return std::string("idle\n");
    };
    report.baseline_rss_kib = run_in_child(idle, "baseline").peak_rss_kib;

    Progress progress(o.producers.size() * o.capacities.size());
    std::size_t done = 0;
    for (const std::size_t producers : o.producers) {
        for (const std::size_t capacity : o.capacities) {
            const std::string what = "P=" + std::to_string(producers) + " C=" + std::to_string(capacity);
            progress.step(done++, what);
            ChildOutcome child = run_in_child([&] { return measure_configuration(o, capacity, producers); }, what);
            CapacityResult result = parse_child_figures(child.text, capacity, producers);
            result.peak_rss_kib = child.peak_rss_kib;
            report.results.push_back(std::move(result));
        }
    }
    progress.finish();
    return report;
}

}  // namespace weft::bench
