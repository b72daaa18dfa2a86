#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>

#include "workload_registry.hpp"

namespace weft::bench {
namespace {

// Checks the text before CLI11 converts it: a whole number of at least 1. (CLI11 would wrap "-1"
// into a huge unsigned value.) `why` explains why 0 makes no sense. Applied to each list element.
CLI::Validator at_least_one(const std::string& why) {
    return CLI::Validator(
        [why](std::string& value) -> std::string {
            const bool digits = !value.empty() && std::all_of(value.begin(), value.end(), [](unsigned char c) {
                return std::isdigit(c) != 0;
            });
            if (!digits) return "expected a whole number, got '" + value + "'";
            if (value.find_first_not_of('0') == std::string::npos) return why;
            return {};
        },
        ">= 1");
}

template <class T>
CLI::Option* add_list(CLI::App* app, const std::string& name, std::vector<T>& into, const std::string& help,
                      const std::string& zero_message) {
    return app->add_option(name, into, help + " (comma-separated)")
        ->delimiter(',')
        ->check(at_least_one(zero_message))
        ->capture_default_str();
}

CLI::Option* add_count(CLI::App* app, const std::string& name, std::uint64_t& into, const std::string& help) {
    return app->add_option(name, into, help)->check(at_least_one("must be at least 1"))->capture_default_str();
}

void add_common(CLI::App* app, std::size_t& workers, std::size_t& reps, const std::string& reps_help) {
    app->add_option("--workers", workers, "Runtime worker threads")
        ->check(at_least_one("must be at least 1"))
        ->capture_default_str();
    app->add_option("--reps", reps, reps_help)->check(at_least_one("must be at least 1"))->capture_default_str();
}

const std::string kCapacityZero = "a channel's capacity must be at least 1 (capacity 0 cannot hold a message)";
const std::string kProducersZero = "the producer count must be at least 1";
const std::string kClientsZero = "the client count must be at least 1";

// Parameters of each workload, as BENCHMARKS.md names them. A workload's subcommand takes only
// its own, so `run W3 --capacity 4` is rejected rather than silently ignored.
void add_workload_options(CLI::App* sub, std::string_view id, RunOptions& o) {
    const std::string reps_help = "Measured repetitions after one warm-up (median, min and max reported)";
    if (id == "W1") {
        add_list(sub, "--producers", o.producers, "P: producer tasks", kProducersZero);
        add_list(sub, "--capacity", o.capacities, "C: channel capacity", kCapacityZero);
        add_count(sub, "--messages", o.messages, "N: messages in total, N/P per producer");
        sub->add_flag("!--no-baseline", o.baseline,
                      "Skip the reference rows (runtime moodycamel_threads: the same traffic through a "
                      "moodycamel queue between plain threads)");
    } else if (id == "W2") {
        add_list(sub, "--clients", o.clients, "M: client tasks", kClientsZero);
        add_count(sub, "--requests", o.requests, "Requests in total, split evenly over the clients");
    } else if (id == "W3") {
        add_count(sub, "--tasks", o.tasks, "T: trivial tasks spawned and joined");
    } else if (id == "W4") {
        add_count(sub, "--round-trips", o.round_trips, "Round trips of the token");
    } else if (id == "W5") {
        add_count(sub, "--yields", o.yields, "Y: yields per task (2 x workers tasks)");
    } else if (id == "W6") {
        add_list(sub, "--clients", o.clients, "M: client tasks", kClientsZero);
        add_count(sub, "--operations", o.operations, "Operations in total (alternating SET and GET)");
        sub->add_option("--variant", o.variants, "mutex, sequential, pipelined (comma-separated)")
            ->delimiter(',')
            ->check(CLI::IsMember({"mutex", "sequential", "pipelined"}))
            ->capture_default_str();
        sub->add_flag("!--no-baseline", o.baseline,
                      "Skip the reference row (runtime redis_benchmark_c1: redis-benchmark -c 1 -P 64 on the same "
                      "server, its SET/GET mix)");
    }
    add_common(sub, o.workers, o.reps, reps_help);
}

std::string workload_list() {
    std::string list;
    for (const Workload& w : all_workloads()) {
        if (!list.empty()) list += ", ";
        list += std::string(w.id) + " (" + std::string(w.name) + ")";
    }
    return list;
}

ParsedCommandLine usage_error(std::string message) {
    ParsedCommandLine result;
    result.exit_code = kUsageExitCode;
    result.err = "weft-bench: " + std::move(message) + "\nRun with --help for more information.\n";
    return result;
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
    ParsedCommandLine result;
    RunOptions& run = result.run;
    CapacitiesOptions& cap = result.capacities;

    CLI::App app{"weft-bench: weft's benchmark workloads (BENCHMARKS.md) and the channel-capacity comparison.",
                 "weft-bench"};
    app.require_subcommand(0, 1);  // no command, or an unknown one, is reported below

    CLI::App* run_cmd = app.add_subcommand(
        "run", "Run one workload; prints CSV rows workload,params,weft,median,min,max (operations per second)");
    run_cmd->footer("Workloads: " + workload_list() + ".\nEach takes --help, e.g. `weft-bench run W1 --help`.");
    // A workload is a subcommand of `run`; anything else left over is an unknown workload,
    // reported below in those words rather than as CLI11's "argument not expected".
    run_cmd->allow_extras();
    for (const Workload& w : all_workloads()) {
        CLI::App* sub = run_cmd->add_subcommand(std::string(w.id), std::string(w.name) + ": " + std::string(w.summary));
        sub->alias(std::string(w.name));
        sub->ignore_case();
        sub->allow_extras(false);  // subcommands inherit it; a workload rejects options it does not take
        sub->footer("Prints CSV rows workload,params,runtime,median,min,max (operations per second).");
        add_workload_options(sub, w.id, run);
    }

    CLI::App* cap_cmd = app.add_subcommand(
        "capacities",
        "Compare channel capacities on W1: throughput, send-to-receive latency p50/p99, share of sends "
        "that found the channel full, peak memory; writes a table, CSV, JSON and a PNG plot, and "
        "recommends the smallest capacity within 5% of the best throughput per producer count");
    add_list(cap_cmd, "--capacity", cap.capacities, "Capacities to compare", kCapacityZero);
    add_list(cap_cmd, "--producers", cap.producers, "Producer counts", kProducersZero);
    add_count(cap_cmd, "--messages", cap.messages, "Messages per run, in total over the producers");
    add_common(cap_cmd, cap.workers, cap.reps, "Measured runs per configuration after one warm-up");
    add_count(cap_cmd, "--sample-every", cap.sample_every,
              "Every n-th message of each producer carries a steady-clock send timestamp");
    cap_cmd->add_option("--out", cap.out_dir, "Directory for capacities.{txt,csv,json,png}")->capture_default_str();
    cap_cmd->add_flag("!--no-plot", cap.plot, "Do not draw the PNG plot");

    // After the subcommands exist (they inherit it): leftover words are an unknown command.
    app.allow_extras();

    std::ostringstream out, err;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, out, err);
        result.out = out.str();
        if (code == static_cast<int>(CLI::ExitCodes::Success)) return result;  // --help
        return usage_error(e.what());
    }

    if (!run_cmd->parsed() && !cap_cmd->parsed()) {
        const std::vector<std::string> extra = app.remaining();
        if (!extra.empty()) return usage_error("unknown command '" + extra.front() + "'; expected run or capacities");
        return usage_error("a command is needed: run or capacities");
    }
    if (run_cmd->parsed()) {
        const std::vector<CLI::App*> chosen = run_cmd->get_subcommands();
        const std::vector<std::string> extra = run_cmd->remaining();
        if (chosen.empty() && !extra.empty())
            return usage_error("unknown workload '" + extra.front() + "'; expected one of " + workload_list());
        if (chosen.empty()) return usage_error("run needs a workload: one of " + workload_list());
        if (!extra.empty()) return usage_error("unexpected argument '" + extra.front() + "'");
        run.workload = chosen.front()->get_name();
        for (const auto* list : {&run.producers, &run.capacities, &run.clients})
            if (list->empty()) return usage_error("a list option was given no values");
        if (run.variants.empty()) return usage_error("--variant was given no values");
        if (run.workload == "W1") {
            const std::size_t most = *std::max_element(run.producers.begin(), run.producers.end());
            if (run.messages < most) return usage_error("--messages must be at least the largest producer count");
        }
        if (run.workload == "W2" || run.workload == "W6") {
            const std::size_t most = *std::max_element(run.clients.begin(), run.clients.end());
            const std::uint64_t total = run.workload == "W2" ? run.requests : run.operations;
            if (total < most) return usage_error("the total must be at least the largest client count");
        }
        result.command = Command::run;
        return result;
    }

    if (cap.capacities.empty() || cap.producers.empty()) return usage_error("a list option was given no values");
    // capacities: sorted and without repeats, since the plot and the recommendation walk them in order.
    for (auto* list : {&cap.capacities, &cap.producers}) {
        std::sort(list->begin(), list->end());
        list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    if (cap.messages < cap.producers.back())
        return usage_error("--messages must be at least the largest producer count");
    if (cap.out_dir.empty()) return usage_error("--out must name a directory");
    result.command = Command::capacities;
    return result;
}

}  // namespace weft::bench
