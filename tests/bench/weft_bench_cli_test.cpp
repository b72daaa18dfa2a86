// weft-bench's command line (bench/weft_bench/cli.hpp): what each command parses into, and how
// bad arguments are turned away (a message and exit code 2, nothing run).
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "workload_registry.hpp"

namespace {

using weft::bench::Command;
using weft::bench::kUsageExitCode;
using weft::bench::ParsedCommandLine;

ParsedCommandLine parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"weft-bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    return weft::bench::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

void expect_rejected(const ParsedCommandLine& parsed, const std::string& message_part) {
    EXPECT_EQ(parsed.command, Command::none);
    EXPECT_EQ(parsed.exit_code, kUsageExitCode);
    EXPECT_NE(parsed.err.find(message_part), std::string::npos) << "message was: " << parsed.err;
}

using Sizes = std::vector<std::size_t>;

TEST(WeftBenchCli, RunW1DefaultsAreBenchmarksMdParameters) {
    const ParsedCommandLine parsed = parse({"run", "W1"});
    ASSERT_EQ(parsed.command, Command::run);
    EXPECT_EQ(parsed.exit_code, 0);
    EXPECT_EQ(parsed.run.workload, "W1");
    EXPECT_EQ(parsed.run.producers, (Sizes{1, 4, 16}));
    EXPECT_EQ(parsed.run.capacities, (Sizes{1, 16, 128, 1024}));
    EXPECT_EQ(parsed.run.messages, 2'000'000u);
    EXPECT_EQ(parsed.run.workers, 2u);
    EXPECT_EQ(parsed.run.reps, 5u);
    EXPECT_TRUE(parsed.run.baseline);
    EXPECT_TRUE(parsed.err.empty());
}

TEST(WeftBenchCli, RunW1ParsesCommaSeparatedListsInTheGivenOrder) {
    const ParsedCommandLine parsed = parse({"run", "W1", "--producers", "16,1", "--capacity", "1024,1,128",
                                            "--messages", "5000", "--workers", "1", "--reps", "3"});
    ASSERT_EQ(parsed.command, Command::run);
    EXPECT_EQ(parsed.run.producers, (Sizes{16, 1}));
    EXPECT_EQ(parsed.run.capacities, (Sizes{1024, 1, 128}));
    EXPECT_EQ(parsed.run.messages, 5000u);
    EXPECT_EQ(parsed.run.workers, 1u);
    EXPECT_EQ(parsed.run.reps, 3u);
    EXPECT_FALSE(parse({"run", "W1", "--no-baseline"}).run.baseline);
}

TEST(WeftBenchCli, WorkloadIsFoundByIdOrNameInAnyCase) {
    for (const char* spelling : {"W2", "w2", "oneshot_roundtrip"}) {
        const ParsedCommandLine parsed = parse({"run", spelling, "--clients", "8", "--requests", "64"});
        ASSERT_EQ(parsed.command, Command::run) << spelling << ": " << parsed.err;
        EXPECT_EQ(parsed.run.workload, "W2") << spelling;
        EXPECT_EQ(parsed.run.clients, (Sizes{8}));
        EXPECT_EQ(parsed.run.requests, 64u);
    }
}

TEST(WeftBenchCli, EachWorkloadTakesItsOwnParameter) {
    EXPECT_EQ(parse({"run", "W3", "--tasks", "7"}).run.tasks, 7u);
    EXPECT_EQ(parse({"run", "W4", "--round-trips", "9"}).run.round_trips, 9u);
    EXPECT_EQ(parse({"run", "W5", "--yields", "11"}).run.yields, 11u);
    const ParsedCommandLine w6 = parse({"run", "W6", "--variant", "pipelined", "--operations", "100"});
    ASSERT_EQ(w6.command, Command::run) << w6.err;
    EXPECT_EQ(w6.run.variants, (std::vector<std::string>{"pipelined"}));
    EXPECT_EQ(w6.run.operations, 100u);
}

TEST(WeftBenchCli, CapacityZeroIsRejectedWithExitCode2AndSaysWhy) {
    expect_rejected(parse({"run", "W1", "--capacity", "0"}), "capacity must be at least 1");
    expect_rejected(parse({"run", "W1", "--capacity", "16,0,128"}), "capacity must be at least 1");
    expect_rejected(parse({"capacities", "--capacity", "0"}), "capacity must be at least 1");
}

TEST(WeftBenchCli, OtherZeroCountsAreRejected) {
    expect_rejected(parse({"run", "W1", "--producers", "0"}), "producer count must be at least 1");
    expect_rejected(parse({"run", "W2", "--clients", "1,0"}), "client count must be at least 1");
    expect_rejected(parse({"run", "W1", "--reps", "0"}), "--reps");
    expect_rejected(parse({"run", "W3", "--tasks", "0"}), "--tasks");
    expect_rejected(parse({"capacities", "--workers", "0"}), "--workers");
}

TEST(WeftBenchCli, NegativeAndNonNumericValuesAreRejectedRatherThanWrapped) {
    expect_rejected(parse({"run", "W1", "--capacity", "-1"}), "expected a whole number, got '-1'");
    expect_rejected(parse({"capacities", "--producers", "four"}), "expected a whole number, got 'four'");
    expect_rejected(parse({"run", "W1", "--messages", "1e6"}), "expected a whole number");
}

TEST(WeftBenchCli, UnknownWorkloadIsRejectedAndTheKnownOnesListed) {
    const ParsedCommandLine parsed = parse({"run", "W9"});
    expect_rejected(parsed, "unknown workload 'W9'");
    EXPECT_NE(parsed.err.find("W1 (mpsc_throughput)"), std::string::npos);
    EXPECT_NE(parsed.err.find("W6 (redis_actor)"), std::string::npos);
}

TEST(WeftBenchCli, RunWithoutAWorkloadIsRejected) { expect_rejected(parse({"run"}), "run needs a workload"); }

TEST(WeftBenchCli, MissingOrUnknownCommandIsRejected) {
    expect_rejected(parse({}), "a command is needed: run or capacities");
    expect_rejected(parse({"bogus"}), "unknown command 'bogus'");
}

TEST(WeftBenchCli, AnOptionOfAnotherWorkloadIsRejectedNotIgnored) {
    expect_rejected(parse({"run", "W3", "--capacity", "4"}), "--capacity");
    expect_rejected(parse({"run", "W1", "stray"}), "stray");
}

TEST(WeftBenchCli, FewerMessagesThanProducersIsRejected) {
    expect_rejected(parse({"run", "W1", "--producers", "4", "--messages", "3"}), "--messages");
    expect_rejected(parse({"capacities", "--producers", "1,16", "--messages", "15"}), "--messages");
}

TEST(WeftBenchCli, HelpForEveryCommandPrintsUsageAndExitsZero) {
    const std::vector<std::vector<const char*>> commands{
        {"--help"}, {"run", "--help"}, {"run", "W1", "--help"}, {"run", "W2", "--help"}, {"run", "W3", "--help"},
        {"run", "W4", "--help"}, {"run", "W5", "--help"}, {"run", "W6", "--help"}, {"capacities", "--help"}};
    for (const auto& args : commands) {
        std::vector<const char*> argv{"weft-bench"};
        argv.insert(argv.end(), args.begin(), args.end());
        const ParsedCommandLine parsed = weft::bench::parse_command_line(static_cast<int>(argv.size()), argv.data());
        const std::string shown = args.size() > 1 ? args[args.size() - 2] : "top";
        EXPECT_EQ(parsed.command, Command::none) << shown;
        EXPECT_EQ(parsed.exit_code, 0) << shown;
        EXPECT_NE(parsed.out.find("Usage:"), std::string::npos) << shown;
        EXPECT_TRUE(parsed.err.empty()) << shown;
    }
    EXPECT_NE(parse({"run", "W1", "--help"}).out.find("--capacity"), std::string::npos);
    EXPECT_EQ(parse({"run", "W3", "--help"}).out.find("--capacity"), std::string::npos);
    EXPECT_NE(parse({"capacities", "--help"}).out.find("--out"), std::string::npos);
}

TEST(WeftBenchCli, CapacitiesDefaultsCoverARangeOfCapacitiesAndW1ProducerCounts) {
    const ParsedCommandLine parsed = parse({"capacities"});
    ASSERT_EQ(parsed.command, Command::capacities);
    EXPECT_EQ(parsed.capacities.producers, (Sizes{1, 4, 16}));
    EXPECT_EQ(parsed.capacities.capacities.front(), 1u);
    EXPECT_GE(parsed.capacities.capacities.size(), 4u);
    EXPECT_EQ(parsed.capacities.messages, 2'000'000u);
    EXPECT_EQ(parsed.capacities.workers, 2u);
    EXPECT_TRUE(parsed.capacities.plot);
    EXPECT_EQ(parsed.capacities.out_dir, "build/capacities");
}

TEST(WeftBenchCli, CapacitiesSortsListsDropsRepeatsAndTakesTheOtherOptions) {
    const ParsedCommandLine parsed =
        parse({"capacities", "--capacity", "128,1,16,1", "--producers", "4,1,4", "--messages", "1000", "--reps", "2",
               "--sample-every", "8", "--out", "/tmp/somewhere", "--no-plot"});
    ASSERT_EQ(parsed.command, Command::capacities) << parsed.err;
    EXPECT_EQ(parsed.capacities.capacities, (Sizes{1, 16, 128}));
    EXPECT_EQ(parsed.capacities.producers, (Sizes{1, 4}));
    EXPECT_EQ(parsed.capacities.messages, 1000u);
    EXPECT_EQ(parsed.capacities.reps, 2u);
    EXPECT_EQ(parsed.capacities.sample_every, 8u);
    EXPECT_EQ(parsed.capacities.out_dir, "/tmp/somewhere");
    EXPECT_FALSE(parsed.capacities.plot);
}

TEST(WeftBenchRegistry, ListsW1ToW6InOrderEachWithARunner) {
    const auto& all = weft::bench::all_workloads();
    ASSERT_EQ(all.size(), 6u);
    const std::vector<std::string_view> ids{"W1", "W2", "W3", "W4", "W5", "W6"};
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].id, ids[i]);
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_NE(all[i].runner, nullptr) << all[i].id;
    const weft::bench::Workload* w6 = weft::bench::find_workload("redis_actor");
    ASSERT_NE(w6, nullptr);
    EXPECT_EQ(w6->id, "W6");
    EXPECT_EQ(weft::bench::find_workload("W7"), nullptr);
}

}  // namespace
