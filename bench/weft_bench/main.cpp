// weft-bench: the workloads of BENCHMARKS.md as CSV rows, and the channel-capacity comparison.
// See cli.hpp for the commands, README.md ("Benchmarks") for how to read the output.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "capacities.hpp"
#include "cli.hpp"
#include "plot.hpp"
#include "recommendation.hpp"
#include "report.hpp"
#include "workload_registry.hpp"

namespace {

using namespace weft::bench;

int run_workload(const RunOptions& options) {
    const Workload* workload = find_workload(options.workload);
    if (workload->runner == nullptr) {
        std::cerr << "weft-bench: " << workload->missing << '\n';
        return kUsageExitCode;
    }
    const std::vector<ResultRow> rows = workload->runner(options);
    std::printf("workload,params,runtime,median,min,max\n");
    for (const ResultRow& row : rows) {
        std::printf("%s,%s,%s,%.0f,%.0f,%.0f\n", row.workload.c_str(), row.params.c_str(), row.runtime.c_str(),
                    row.ops_per_second.median, row.ops_per_second.min, row.ops_per_second.max);
    }
    return 0;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

int compare_capacities(const CapacitiesOptions& options) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::absolute(options.out_dir);
    fs::create_directories(dir);

    const CapacityReport report = run_capacities(options);
    const std::vector<Recommendation> recommendations = recommend(report.results);
    const std::string table = format_table(report, recommendations);
    std::cout << '\n' << table << std::flush;

    const fs::path txt = dir / "capacities.txt", csv = dir / "capacities.csv", json = dir / "capacities.json",
                   png = dir / "capacities.png";
    write_file(txt, table);
    write_file(csv, format_csv(report, recommendations));
    write_file(json, format_json(report, recommendations));

    std::cout << "\nTable and recommendation: " << txt.string() << "\nCSV: " << csv.string()
              << "\nJSON: " << json.string() << '\n';
    if (!options.plot) {
        std::cout << "Plot: not drawn (--no-plot)\n";
        return 0;
    }
    fs::remove(png);
    const PlotOutcome plot = draw_plot(json.string(), png.string());
    if (plot.drawn) std::cout << "Plot: " << png.string() << '\n';
    else std::cout << "Plot: NOT drawn: " << plot.problem << "; the table, CSV and JSON are complete\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const ParsedCommandLine parsed = parse_command_line(argc, argv);
    std::cout << parsed.out;
    std::cerr << parsed.err;
    try {
        switch (parsed.command) {
            case Command::none: return parsed.exit_code;
            case Command::run: return run_workload(parsed.run);
            case Command::capacities: return compare_capacities(parsed.capacities);
        }
    } catch (const std::exception& e) {
        std::cerr << "\nweft-bench: " << e.what() << '\n';
        return 1;
    }
    return 1;
}
