#!/usr/bin/env bash
# The test command: installs what it needs, then builds and runs every test suite three times,
# optimised with g++, with AddressSanitizer + UBSan, and with ThreadSanitizer (clang 16, with
# tiny run queues so races in the overflow and wrap-around paths get exercised).
# Ends with one line "N passed, N failed" summing the three.
#
#   bash scripts/test.sh                 # all three builds
#   bash scripts/test.sh --only tsan     # one of: release, asan, tsan, fuzz, checks, model
#   WEFT_TEST_FILTER='Mpsc*' bash scripts/test.sh   # a GoogleTest filter
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-deps.sh
install_deps || { echo "0 passed, 1 failed"; exit 1; }

only=""
if [ "${1:-}" = "--only" ]; then only="${2:-}"; fi
[ -n "${WEFT_TEST_FILTER:-}" ] && export GTEST_FILTER="$WEFT_TEST_FILTER"

total_passed=0
total_failed=0

# Sanitizer reports need symbols: TSan's suppressions (tests/tsan.supp) match function names, so an
# unsymbolised report of a known moodycamel false positive would fail the run.
symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
sym_opt=${symbolizer:+:external_symbolizer_path=$symbolizer}

run_build() {  # name, CC, CXX, extra meson args..., -- , meson test args...
  local name=$1 cc=$2 cxx=$3; shift 3
  local setup_args=() test_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup_args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  test_args=("$@")
  local dir="build/$name"
  echo "=== $name: configure and build ($cxx)"
  local setup_mode=()
  [ -f "$dir/build.ninja" ] && setup_mode=(--reconfigure)
  if ! CC=$cc CXX=$cxx meson setup "${setup_mode[@]}" "$dir" "${setup_args[@]}" >"$dir.setup.log" 2>&1 \
     || ! meson compile -C "$dir" >"$dir.build.log" 2>&1; then
    cat "$dir.setup.log" "$dir.build.log" 2>/dev/null | tail -40
    echo "$name: build failed"
    echo "$name: 0 passed, 1 failed"
    total_failed=$((total_failed + 1))
    return
  fi
  echo "=== $name: test"
  rm -rf "$dir/gtest-xml" && mkdir -p "$dir/gtest-xml"
  GTEST_OUTPUT="xml:$PWD/$dir/gtest-xml/" meson test -C "$dir" --print-errorlogs --num-processes 2 "${test_args[@]}" \
    | grep -vE '^\s*$' | tail -40
  local counts passed failed
  counts=$(python3 scripts/lib/count-gtest.py "$dir" "$dir/gtest-xml")
  passed=${counts% *}
  failed=${counts#* }
  echo "$name: $passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

mkdir -p build
# The release build also runs the Relacy models of the lock-free core (tests/model, meson suite
# "model"; the sanitized builds skip them). `--only model` runs just those, in the same build
# directory; WEFT_MODEL_SCALE scales their iteration counts (default 1: well under a minute).
if [ -z "$only" ] || [ "$only" = release ]; then
  run_build release gcc g++ --buildtype=release
fi
if [ "$only" = model ]; then
  run_build release gcc g++ --buildtype=release -- --suite model
fi
# g++ rather than clang for ASan+UBSan: it checks the code g++ 12 generates for coroutines, the
# compiler with the known miscompiles. At -O1 with line tables only (-g1), as ASan's own docs advise:
# -O2 -g made this the longest part of the run (about 26 of CI's 49 minutes, twice -O1's compile
# time); stack traces keep their function names and lines.
if [ -z "$only" ] || [ "$only" = asan ]; then
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1$sym_opt" \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_build asan gcc g++ -Doptimization=1 -Ddebug=true -Dcpp_args=-g1 -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbenchmarks=disabled -Dexamples=disabled -- --timeout-multiplier 3
fi
if [ -z "$only" ] || [ "$only" = tsan ]; then
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp$sym_opt" \
  run_build tsan clang-16 clang++-16 --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false -Dsmall_queues=true \
    -Dbenchmarks=disabled -Dexamples=disabled -- --timeout-multiplier 3
fi

# The RESP parser's fuzz target (tests/fuzz), built with clang 16 and libFuzzer in build/fuzz and
# run for WEFT_FUZZ_SECONDS (default 30) on a copy of the seed corpus, so CI never writes into the
# repository. Counts as one test. Runs with every build or alone (--only fuzz); skipped when
# WEFT_TEST_FILTER names GoogleTest cases. A crashing input is left in build/fuzz/artifacts/.
run_fuzz() {
  local dir=build/fuzz seconds=${WEFT_FUZZ_SECONDS:-30}
  echo "=== fuzz: configure and build (clang++-16, libFuzzer)"
  local setup_mode=()
  [ -f "$dir/build.ninja" ] && setup_mode=(--reconfigure)
  if ! CC=clang-16 CXX=clang++-16 meson setup "${setup_mode[@]}" "$dir" --buildtype=debugoptimized \
       -Dfuzz=true -Dtests=disabled -Dbenchmarks=disabled -Dexamples=disabled >"$dir.setup.log" 2>&1 \
     || ! meson compile -C "$dir" resp_parser_fuzz >"$dir.build.log" 2>&1; then
    cat "$dir.setup.log" "$dir.build.log" 2>/dev/null | tail -40
    echo "fuzz: build failed"
    echo "fuzz: 0 passed, 1 failed"
    total_failed=$((total_failed + 1))
    return
  fi
  echo "=== fuzz: resp_parser_fuzz for ${seconds}s"
  rm -rf "$dir/corpus" "$dir/artifacts" && mkdir -p "$dir/corpus/resp" "$dir/artifacts"
  cp tests/fuzz/corpus/resp/* "$dir/corpus/resp/"
  if ASAN_OPTIONS="${sym_opt#:}" UBSAN_OPTIONS=print_stacktrace=1 \
     "$dir/tests/fuzz/resp_parser_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
       -dict=tests/fuzz/resp.dict -artifact_prefix="$dir/artifacts/" "$dir/corpus/resp" \
       >"$dir.run.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$dir.run.log"
    echo "fuzz: 1 passed, 0 failed"
    total_passed=$((total_passed + 1))
  else
    grep -vE '^(#[0-9]|"|\s*$)' "$dir.run.log" | tail -40
    echo "fuzz: failed; the input is in $dir/artifacts/"
    echo "fuzz: 0 passed, 1 failed"
    total_failed=$((total_failed + 1))
  fi
}
if { [ -z "$only" ] && [ -z "${WEFT_TEST_FILTER:-}" ]; } || [ "$only" = fuzz ]; then
  run_fuzz
fi

# Checks that are not GoogleTest suites, each counted as one test: the layering (read from the
# includes, plus a self-test that plants violations), a fresh install used by a consumer program
# three ways (tests/install/check.sh), and the API reference with no warnings (scripts/docs.sh).
# Run with every build or alone (--only checks); skipped when WEFT_TEST_FILTER is set.
count_check() {  # name, command...
  local name=$1; shift
  if "$@" >"build/check-$name.log" 2>&1; then
    echo "check $name: passed"
    total_passed=$((total_passed + 1))
  else
    tail -40 "build/check-$name.log"
    echo "check $name: FAILED (build/check-$name.log)"
    total_failed=$((total_failed + 1))
  fi
}
run_checks() {
  echo "=== checks: layering, install and consumers, API reference"
  count_check layering python3 tests/layering/check_layers.py
  count_check layering-self-test python3 tests/layering/check_layers.py --self-test
  count_check layering-compile python3 tests/layering/check_layers.py --compile
  local counts
  bash tests/install/check.sh build/install >build/check-install.log 2>&1
  grep -E '^(PASS|FAIL|  )' build/check-install.log
  counts=$(tail -1 build/check-install.log)
  if [[ "$counts" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    total_passed=$((total_passed + BASH_REMATCH[1]))
    total_failed=$((total_failed + BASH_REMATCH[2]))
  else
    tail -30 build/check-install.log
    total_failed=$((total_failed + 1))
  fi
  count_check docs bash scripts/docs.sh
}
if { [ -z "$only" ] && [ -z "${WEFT_TEST_FILTER:-}" ]; } || [ "$only" = checks ]; then
  run_checks
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
