#!/usr/bin/env bash
# The main job: installs what it needs, builds weft-bench optimised (only that target), and runs
# the channel-capacity comparison with its default lists: W1 (mpsc_throughput) for capacities
# 1..4096 and 1, 4 and 16 producers. Prints the table and the recommendation, and where the table,
# CSV, JSON and plot were written. See README.md, "Benchmarks".
#   bash scripts/run.sh [OUT_DIR] [more `weft-bench capacities` options, e.g. --producers 1,4]
# OUT_DIR defaults to build/capacities.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-deps.sh
install_deps "${weft_run_packages[@]}"

out=build/capacities
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  out=$1
  shift
fi

dir=build/release
mode=()
[ -f "$dir/build.ninja" ] && mode=(--reconfigure)
echo "weft: building weft-bench (release) in $dir" >&2
CC=gcc CXX=g++ meson setup "${mode[@]}" "$dir" --buildtype=release >/dev/null
meson compile -C "$dir" bench/weft_bench/weft-bench >/dev/null
exec "$dir/bench/weft_bench/weft-bench" capacities --out "$out" "$@"
