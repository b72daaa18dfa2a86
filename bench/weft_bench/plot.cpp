#include "plot.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

extern char** environ;

namespace weft::bench {

std::string find_plot_script() {
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("WEFT_BENCH_PLOT_SCRIPT"); env && *env) candidates.emplace_back(env);
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back(self.parent_path() / "plot_capacities.py");
#ifdef WEFT_BENCH_PLOT_SCRIPT_DEFAULT
    candidates.emplace_back(WEFT_BENCH_PLOT_SCRIPT_DEFAULT);
#endif
    for (const fs::path& p : candidates)
        if (fs::is_regular_file(p, ec)) return p.string();
    return {};
}

namespace {

enum class Ran { drew, no_matplotlib, no_interpreter, failed };

Ran run_script(const std::string& python, const std::string& script, const std::string& json_path,
               const std::string& png_path) {
    std::vector<char*> argv{const_cast<char*>(python.c_str()), const_cast<char*>(script.c_str()),
                            const_cast<char*>(json_path.c_str()), const_cast<char*>(png_path.c_str()), nullptr};
    pid_t pid = 0;
    if (::posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return Ran::no_interpreter;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return Ran::failed;
    }
    if (!WIFEXITED(status)) return Ran::failed;
    switch (WEXITSTATUS(status)) {
        case 0: return Ran::drew;
        case 3: return Ran::no_matplotlib;  // plot_capacities.py's "matplotlib is not installed"
        case 127: return Ran::no_interpreter;
        default: return Ran::failed;
    }
}

}  // namespace

PlotOutcome draw_plot(const std::string& json_path, const std::string& png_path) {
    const std::string script = find_plot_script();
    if (script.empty())
        return {false, "plot_capacities.py not found (set WEFT_BENCH_PLOT_SCRIPT to bench/plot_capacities.py)"};
    std::vector<std::string> interpreters;
    if (const char* env = std::getenv("WEFT_BENCH_PYTHON"); env && *env) interpreters.emplace_back(env);
    interpreters.emplace_back("/usr/bin/python3");
    interpreters.emplace_back("python3");
    bool any_interpreter = false;
    for (const std::string& python : interpreters) {
        switch (run_script(python, script, json_path, png_path)) {
            case Ran::drew: return {true, {}};
            case Ran::failed: return {false, "plot_capacities.py failed under " + python + " (see its message above)"};
            case Ran::no_matplotlib: any_interpreter = true; break;
            case Ran::no_interpreter: break;
        }
    }
    if (!any_interpreter) return {false, "python3 is not installed"};
    return {false, "python3-matplotlib is not installed (apt-get install python3-matplotlib)"};
}

}  // namespace weft::bench
