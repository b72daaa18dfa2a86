#!/usr/bin/env bash
# Runs the same W1 cells in many separate weft-bench processes and reports, per cell, the spread of
# the per-process medians and how many processes fell below a floor. A process can settle in a
# slow regime for every cell it runs (issue 17), which one process per measurement never shows.
#   bash scripts/regimes.sh [PROCESSES] [FLOOR_MSGS_PER_S] [more `weft-bench run W1` options]
# Defaults: 20 processes, floor 0 (report only), --producers 4,16 --capacity 16,128,1024 --reps 5.
# Set WEFT_BENCH to use a weft-bench built elsewhere. Exits 1 if any median is below the floor.
set -euo pipefail
cd "$(dirname "$0")/.."
processes=${1:-20}
floor=${2:-0}
shift $(( $# > 2 ? 2 : $# ))
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--producers 4,16 --capacity 16,128,1024 --reps 5)
bench=${WEFT_BENCH:-build/release/bench/weft_bench/weft-bench}
if [ ! -x "$bench" ]; then
  CC=gcc CXX=g++ meson setup build/release --buildtype=release >/dev/null
  meson compile -C build/release bench/weft_bench/weft-bench >/dev/null
fi
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for ((i = 1; i <= processes; i++)); do
  echo "weft: process $i of $processes" >&2
  "$bench" run W1 --no-baseline "${args[@]}" 2>/dev/null | grep -v '^workload' | sed "s/^/$i,/" >>"$rows"
done
python3 - "$rows" "$floor" <<'PY'
import csv, statistics, sys
from collections import defaultdict
medians = defaultdict(list)
for proc, _workload, params, _runtime, median, *_ in csv.reader(open(sys.argv[1])):
    medians[params].append(float(median))
floor = float(sys.argv[2])
print(f"{'cell':24} {'processes':>9} {'min':>8} {'median':>8} {'max':>8} {'below':>6}   (M msg/s)")
failed = 0
for params, values in sorted(medians.items()):
    below = sum(v < floor for v in values)
    failed += below
    print(f"{params:24} {len(values):9} {min(values)/1e6:8.2f} {statistics.median(values)/1e6:8.2f} "
          f"{max(values)/1e6:8.2f} {below:6}")
if floor:
    print(f"floor {floor/1e6:.2f} M msg/s: {failed} process medians below it")
sys.exit(1 if failed else 0)
PY
