// Draws the capacity plot by running bench/plot_capacities.py (python3 + matplotlib).
//
// The script is looked for, in order: $WEFT_BENCH_PLOT_SCRIPT; plot_capacities.py next to the
// weft-bench binary (the build copies it there); the source tree's bench/plot_capacities.py,
// whose path the build bakes in (WEFT_BENCH_PLOT_SCRIPT_DEFAULT).
//
// The interpreter: $WEFT_BENCH_PYTHON if set, then Debian's /usr/bin/python3 (python3-matplotlib
// installs there; a python3 found first on PATH, e.g. a pyenv one, often lacks matplotlib), then
// python3 on PATH. The first that has matplotlib draws.
#pragma once

#include <string>

namespace weft::bench {

struct PlotOutcome {
    bool drawn = false;
    std::string problem;  // why not, when !drawn: a sentence for the user
};

std::string find_plot_script();  // empty if none of the places has it

// Runs `<python> <script> json_path png_path` and waits. Never throws.
PlotOutcome draw_plot(const std::string& json_path, const std::string& png_path);

}  // namespace weft::bench
