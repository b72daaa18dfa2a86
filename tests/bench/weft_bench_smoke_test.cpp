// Runs the built weft-bench binary: `capacities` with tiny sizes into a temporary directory
// (table printed, CSV rows, JSON that parses, a PNG), and `run` on each workload.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#ifndef WEFT_BENCH_EXE
#error "the build passes the weft-bench binary's path as WEFT_BENCH_EXE"
#endif

namespace {

namespace fs = std::filesystem;

struct Ran {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `command` through the shell with stderr captured in `scratch`/stderr.txt.
Ran run(const std::string& command, const fs::path& scratch) {
    const fs::path err = scratch / "stderr.txt";
    Ran ran;
    FILE* pipe = ::popen((command + " 2>" + err.string()).c_str(), "r");
    if (pipe == nullptr) return ran;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) ran.out.append(buffer, n);
    const int status = ::pclose(pipe);
    ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ran.err = slurp(err);
    return ran;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) parts.push_back(part);
    return parts;
}

class WeftBenchCapacities : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        char pattern[] = "/tmp/weft-bench-smoke-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = new fs::path(pattern);
        ran_ = new Ran(run(std::string(WEFT_BENCH_EXE) +
                               " capacities --capacity 8,1 --producers 2,1 --messages 2000 --reps 2"
                               " --sample-every 4 --out " + (*dir_ / "out").string(),
                           *dir_));
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(*dir_, ec);
        delete dir_;
        delete ran_;
    }
    void SetUp() override { ASSERT_EQ(ran_->exit_code, 0) << ran_->out << ran_->err; }

    static fs::path out(const char* name) { return *dir_ / "out" / name; }

    static inline fs::path* dir_ = nullptr;
    static inline Ran* ran_ = nullptr;
};

TEST_F(WeftBenchCapacities, PrintsTheTableTheRecommendationAndWhereTheFilesAre) {
    const std::string& text = ran_->out;
    EXPECT_NE(text.find("producers  capacity  throughput msg/s"), std::string::npos) << text;
    EXPECT_NE(text.find("Recommendation: the smallest capacity within 5% of the best throughput"), std::string::npos);
    EXPECT_NE(text.find("  1 producer: capacity "), std::string::npos);
    EXPECT_NE(text.find("  2 producers: capacity "), std::string::npos);
    EXPECT_NE(text.find("Table and recommendation: " + out("capacities.txt").string()), std::string::npos);
    EXPECT_NE(text.find("CSV: " + out("capacities.csv").string()), std::string::npos);
    EXPECT_NE(text.find("JSON: " + out("capacities.json").string()), std::string::npos);
    EXPECT_NE(text.find("Plot: "), std::string::npos);
    EXPECT_NE(ran_->err.find("[4/4]"), std::string::npos) << "progress: " << ran_->err;
    EXPECT_NE(slurp(out("capacities.txt")).find("Recommendation:"), std::string::npos);
}

TEST_F(WeftBenchCapacities, CsvHasAHeaderAndOneRowPerConfiguration) {
    const std::vector<std::string> lines = split(slurp(out("capacities.csv")), '\n');
    ASSERT_EQ(lines.size(), 5u);
    const std::vector<std::string> header = split(lines[0], ',');
    ASSERT_EQ(header.size(), 15u);
    EXPECT_EQ(header[0], "capacity");
    EXPECT_EQ(header[1], "producers");
    EXPECT_EQ(header[5], "throughput_median");
    EXPECT_EQ(header[14], "recommended");

    std::set<std::pair<std::string, std::string>> configurations;
    std::map<std::string, int> recommended_per_producers;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::vector<std::string> cells = split(lines[i], ',');
        ASSERT_EQ(cells.size(), 15u) << lines[i];
        configurations.insert({cells[0], cells[1]});
        EXPECT_EQ(cells[2], "2000");                 // messages
        EXPECT_GT(std::stod(cells[5]), 0.0);         // throughput median
        EXPECT_LE(std::stod(cells[6]), std::stod(cells[5]));
        EXPECT_LE(std::stod(cells[5]), std::stod(cells[7]));
        EXPECT_GT(std::stoull(cells[10]), 0u);       // latency samples: every 4th message
        EXPECT_GE(std::stod(cells[11]), 0.0);        // full-send share
        EXPECT_LE(std::stod(cells[11]), 1.0);
        EXPECT_GT(std::stoll(cells[12]), 0);         // peak RSS
        recommended_per_producers[cells[1]] += std::stoi(cells[14]);
    }
    const std::set<std::pair<std::string, std::string>> expected{{"1", "1"}, {"8", "1"}, {"1", "2"}, {"8", "2"}};
    EXPECT_EQ(configurations, expected);
    EXPECT_EQ(recommended_per_producers, (std::map<std::string, int>{{"1", 1}, {"2", 1}}));
}

TEST_F(WeftBenchCapacities, JsonParsesAndHoldsEveryResultAndRecommendation) {
    const std::string check =
        "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
        "print(len(d[\"results\"]), len(d[\"recommendations\"]), d[\"messages\"], "
        "sorted((r[\"producers\"], r[\"capacity\"]) for r in d[\"results\"]))' " +
        out("capacities.json").string();
    const Ran parsed = run(check, *dir_);
    ASSERT_EQ(parsed.exit_code, 0) << parsed.err;
    EXPECT_EQ(parsed.out, "4 2 2000 [(1, 1), (1, 8), (2, 1), (2, 8)]\n");
}

TEST_F(WeftBenchCapacities, PlotIsAValidPng) {
    if (ran_->out.find("Plot: NOT drawn: python3-matplotlib is not installed") != std::string::npos)
        GTEST_SKIP() << "python3-matplotlib is not installed";
    ASSERT_NE(ran_->out.find("Plot: " + out("capacities.png").string()), std::string::npos) << ran_->out;
    const std::string png = slurp(out("capacities.png"));
    ASSERT_GT(png.size(), 1000u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_EQ(png.substr(12, 4), "IHDR");
}

class WeftBenchRun : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/weft-bench-run-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Ran bench(const std::string& args) { return run(std::string(WEFT_BENCH_EXE) + " " + args, dir_); }

    fs::path dir_;
};

TEST_F(WeftBenchRun, W1PrintsOneCsvRowPerProducerAndCapacityAndAReferenceRowPerProducerCount) {
    const Ran ran = bench("run W1 --producers 1,2 --capacity 4,64 --messages 1000 --reps 2");
    ASSERT_EQ(ran.exit_code, 0) << ran.err;
    const std::vector<std::string> lines = split(ran.out, '\n');
    ASSERT_EQ(lines.size(), 7u) << ran.out;
    EXPECT_EQ(lines[0], "workload,params,runtime,median,min,max");
    const std::vector<std::pair<std::string, std::string>> rows{
        {"P=1;C=4", "weft"},  {"P=1;C=64", "weft"}, {"P=1", "moodycamel_threads"},
        {"P=2;C=4", "weft"},  {"P=2;C=64", "weft"}, {"P=2", "moodycamel_threads"}};
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::vector<std::string> cells = split(lines[i + 1], ',');
        ASSERT_EQ(cells.size(), 6u) << lines[i + 1];
        EXPECT_EQ(cells[0], "W1_mpsc_throughput");
        EXPECT_EQ(cells[1], rows[i].first);
        EXPECT_EQ(cells[2], rows[i].second);
        EXPECT_LE(std::stod(cells[4]), std::stod(cells[3]));
        EXPECT_LE(std::stod(cells[3]), std::stod(cells[5]));
        EXPECT_GT(std::stod(cells[4]), 0.0);
    }
}

TEST_F(WeftBenchRun, W1WithoutBaselinePrintsOnlyWeftRows) {
    const Ran ran = bench("run W1 --producers 1 --capacity 8 --messages 500 --reps 1 --no-baseline");
    ASSERT_EQ(ran.exit_code, 0) << ran.err;
    const std::vector<std::string> lines = split(ran.out, '\n');
    ASSERT_EQ(lines.size(), 2u) << ran.out;
    EXPECT_EQ(lines[1].rfind("W1_mpsc_throughput,P=1;C=8,weft,", 0), 0u) << lines[1];
}

TEST_F(WeftBenchRun, EveryOtherBuiltWorkloadRunsAndNamesItsParameters) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"run W2 --clients 1,4 --requests 400 --reps 1", "W2_oneshot_roundtrip,M=4,weft,"},
        {"run W3 --tasks 500 --reps 1", "W3_spawn_many,T=500,weft,"},
        {"run W4 --round-trips 500 --reps 1", "W4_ping_pong,N=500,weft,"},
        {"run W5 --yields 100 --reps 1 --workers 1", "W5_yield_many,Y=100;workers=1,weft,"},
    };
    for (const auto& [args, row] : cases) {
        const Ran ran = bench(args);
        EXPECT_EQ(ran.exit_code, 0) << args << ": " << ran.err;
        EXPECT_NE(ran.out.find(row), std::string::npos) << args << ": " << ran.out;
    }
}

TEST_F(WeftBenchRun, W6RunsEveryVariantAgainstItsOwnRedisServerWithTheReferenceRow) {
    if (::system("command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "redis-server and redis-benchmark are not installed";
    const Ran ran = bench("run W6 --clients 1,4 --operations 400 --reps 1");
    EXPECT_EQ(ran.exit_code, 0) << ran.err;
    for (const char* row : {"W6_redis_actor,variant=mutex;M=1,weft,", "W6_redis_actor,variant=sequential;M=4,weft,",
                            "W6_redis_actor,variant=pipelined;M=4,weft,", "W6_redis_actor,P=64,redis_benchmark_c1,"})
        EXPECT_NE(ran.out.find(row), std::string::npos) << row << " in:\n" << ran.out;
}

TEST_F(WeftBenchRun, BadArgumentsExitWith2AndRunNothing) {
    const Ran zero = bench("run W1 --capacity 0");
    EXPECT_EQ(zero.exit_code, 2);
    EXPECT_NE(zero.err.find("capacity must be at least 1"), std::string::npos) << zero.err;
    EXPECT_TRUE(zero.out.empty());
    const Ran unknown = bench("run W9");
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("unknown workload 'W9'"), std::string::npos) << unknown.err;
}

}  // namespace
