#include "report.hpp"

#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

namespace weft::bench {
namespace {

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

// Enough digits to round-trip, and never `nan`/`inf` (not JSON).
std::string number(double value) {
    if (!std::isfinite(value)) return "null";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
    return buffer;
}

std::string optional_number(const std::optional<double>& value) { return value ? number(*value) : "null"; }

std::string pad_left(const std::string& s, std::size_t width) {
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string mib(std::int64_t kib) { return fixed(static_cast<double>(kib) / 1024.0, 1) + " MiB"; }

const char* const kMeasured[] = {
    "throughput: messages received per second, median of the measured runs [min - max]",
    "latency: send-to-receive of every sampled message (steady clock), p50 and p99 over all runs",
    "full sends: share of sends whose try_send found no free slot, so the producer waited in send",
    ("peak RSS: ru_maxrss of the forked child process that ran the configuration; includes the baseline "
     "and the latency samples it kept (8 bytes each)"),
};

}  // namespace

std::string human_rate(double per_second) {
    if (per_second >= 1e9) return fixed(per_second / 1e9, 2) + " G";
    if (per_second >= 1e6) return fixed(per_second / 1e6, 2) + " M";
    if (per_second >= 1e3) return fixed(per_second / 1e3, 1) + " k";
    return fixed(per_second, 0);
}

std::string human_duration(double ns) {
    if (ns >= 1e9) return fixed(ns / 1e9, 2) + " s";
    if (ns >= 1e6) return fixed(ns / 1e6, 2) + " ms";
    if (ns >= 1e3) return fixed(ns / 1e3, 1) + " us";
    return fixed(ns, 0) + " ns";
}

std::string format_table(const CapacityReport& report, const std::vector<Recommendation>& recommendations) {
    const CapacitiesOptions& o = report.options;
    std::ostringstream out;
    out << "W1 mpsc_throughput by channel capacity: " << o.messages << " messages per run, " << o.workers
        << " workers, median of " << o.reps << " runs after a warm-up\n\n";
    out << "producers  capacity  throughput msg/s  [min - max]            latency p50  latency p99  full sends"
           "     peak RSS\n";
    std::size_t previous = 0;
    for (const CapacityResult& r : report.results) {
        if (previous != 0 && r.producers != previous) out << '\n';
        previous = r.producers;
        std::string range = "[";  // appended piecewise: g++ 12 warns falsely (-Wrestrict) on "[" + string
        range.append(human_rate(r.throughput.min)).append(" - ").append(human_rate(r.throughput.max)).append("]");
        out << pad_left(std::to_string(r.producers), 9) << pad_left(std::to_string(r.capacity), 10)
            << pad_left(human_rate(r.throughput.median), 18) << "  " << range
            << std::string(range.size() < 21 ? 21 - range.size() : 1, ' ')
            << pad_left(r.latency_p50_ns ? human_duration(*r.latency_p50_ns) : "-", 12)
            << pad_left(r.latency_p99_ns ? human_duration(*r.latency_p99_ns) : "-", 13)
            << pad_left(fixed(100.0 * r.full_send_share, 1) + " %", 12) << pad_left(mib(r.peak_rss_kib), 13) << '\n';
    }
    out << "\nRecommendation: the smallest capacity within 5% of the best throughput, per producer count\n";
    for (const Recommendation& rec : recommendations) {
        out << "  " << rec.producers << (rec.producers == 1 ? " producer: " : " producers: ") << "capacity "
            << rec.capacity << " (" << human_rate(rec.throughput) << " msg/s; best " << human_rate(rec.best_throughput)
            << " msg/s at capacity " << rec.best_capacity << ")\n";
    }
    out << "\nMeasured:\n";
    for (const char* line : kMeasured) out << "  " << line << '\n';
    out << "  baseline: a child that only starts the runtime peaks at " << mib(report.baseline_rss_kib) << '\n';
    return out.str();
}

std::string format_csv(const CapacityReport& report, const std::vector<Recommendation>& recommendations) {
    std::ostringstream out;
    out << "capacity,producers,messages,workers,reps,throughput_median,throughput_min,throughput_max,"
           "latency_p50_ns,latency_p99_ns,latency_samples,full_send_share,peak_rss_kib,baseline_rss_kib,"
           "recommended\n";
    for (const CapacityResult& r : report.results) {
        bool recommended = false;
        for (const Recommendation& rec : recommendations)
            recommended |= rec.producers == r.producers && rec.capacity == r.capacity;
        out << r.capacity << ',' << r.producers << ',' << report.options.messages << ',' << report.options.workers
            << ',' << report.options.reps << ',' << number(r.throughput.median) << ',' << number(r.throughput.min)
            << ',' << number(r.throughput.max) << ',' << (r.latency_p50_ns ? number(*r.latency_p50_ns) : "") << ','
            << (r.latency_p99_ns ? number(*r.latency_p99_ns) : "") << ',' << r.latency_samples << ','
            << number(r.full_send_share) << ',' << r.peak_rss_kib << ',' << report.baseline_rss_kib << ','
            << (recommended ? 1 : 0) << '\n';
    }
    return out.str();
}

std::string format_json(const CapacityReport& report, const std::vector<Recommendation>& recommendations) {
    const CapacitiesOptions& o = report.options;
    std::ostringstream out;
    out << "{\n  \"workload\": \"W1_mpsc_throughput\",\n";
    out << "  \"messages\": " << o.messages << ",\n  \"workers\": " << o.workers << ",\n  \"reps\": " << o.reps
        << ",\n  \"sample_every\": " << o.sample_every << ",\n";
    out << "  \"baseline_rss_kib\": " << report.baseline_rss_kib << ",\n";
    out << "  \"measured\": [";
    for (std::size_t i = 0; i < std::size(kMeasured); ++i)
        out << (i ? ", " : "") << '"' << kMeasured[i] << '"';  // plain ASCII, no quotes or backslashes
    out << "],\n  \"results\": [\n";
    for (std::size_t i = 0; i < report.results.size(); ++i) {
        const CapacityResult& r = report.results[i];
        out << "    {\"capacity\": " << r.capacity << ", \"producers\": " << r.producers
            << ", \"throughput\": {\"median\": " << number(r.throughput.median) << ", \"min\": "
            << number(r.throughput.min) << ", \"max\": " << number(r.throughput.max)
            << "}, \"latency_ns\": {\"p50\": " << optional_number(r.latency_p50_ns)
            << ", \"p99\": " << optional_number(r.latency_p99_ns) << ", \"samples\": " << r.latency_samples
            << "}, \"full_send_share\": " << number(r.full_send_share) << ", \"peak_rss_kib\": " << r.peak_rss_kib
            << '}' << (i + 1 < report.results.size() ? "," : "") << '\n';
    }
    out << "  ],\n  \"recommendations\": [\n";
    for (std::size_t i = 0; i < recommendations.size(); ++i) {
        const Recommendation& rec = recommendations[i];
        out << "    {\"producers\": " << rec.producers << ", \"capacity\": " << rec.capacity
            << ", \"throughput\": " << number(rec.throughput) << ", \"best_capacity\": " << rec.best_capacity
            << ", \"best_throughput\": " << number(rec.best_throughput) << '}'
            << (i + 1 < recommendations.size() ? "," : "") << '\n';
    }
    out << "  ]\n}\n";
    return out.str();
}

}  // namespace weft::bench
