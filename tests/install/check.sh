#!/usr/bin/env bash
# Installs weft (library only) into a fresh prefix and uses it as a user would. Each check prints
# "PASS name" or "FAIL name"; the last line is "N passed, N failed". scripts/test.sh runs it.
#
#   bash tests/install/check.sh [build-dir]     (default build/install)
#
# The checks: the prefix holds only headers, the library, weft.pc, weft-mimalloc.pc and the CMake
# package; a consumer (consumer.cpp) builds and runs with pkg-config and no flags of its own, with
# CMake's find_package, and with weft as a meson subproject (which must not look for GoogleTest,
# Google Benchmark or CLI11); the mimalloc opt-in (pkg-config and CMake) gives the program
# mimalloc's malloc; a C++17 compile stops at weft's one #error.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${1:-build/install}
work=$(mktemp -d /tmp/weft-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; failed=$((failed + 1)); }
log_tail() { tail -25 "$1" | sed 's/^/  | /'; }

echo "=== install: library only, into $prefix"
rm -rf "$build"
if ! CC=gcc CXX=g++ meson setup "$build" --buildtype=release --prefix="$prefix" --libdir=lib \
       -Dtests=disabled -Dbenchmarks=disabled -Dexamples=disabled >"$work/setup.log" 2>&1 \
   || ! meson compile -C "$build" >"$work/build.log" 2>&1 \
   || ! meson install -C "$build" >"$work/install.log" 2>&1; then
  cat "$work/setup.log" "$work/build.log" "$work/install.log" 2>/dev/null | tail -30
  fail install "meson setup, compile or install failed"
  echo "$passed passed, $failed failed"
  exit 1
fi

# 1. Only what a user needs: headers under include/weft, the library, two .pc files, the CMake package.
unexpected=$(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | grep -vE \
  '^include/weft/([a-z_]+/)*[a-z_]+\.hpp$|^lib/libweft\.(a|so[.0-9]*)$|^lib/pkgconfig/weft(-mimalloc)?\.pc$|^lib/cmake/weft/weftConfig(Version)?\.cmake$')
missing=()
for f in include/weft/weft.hpp include/weft/runtime/runtime.hpp include/weft/channels/mpsc.hpp \
         include/weft/redis/manager.hpp include/weft/runtime/detail/language_check.hpp \
         lib/pkgconfig/weft.pc lib/cmake/weft/weftConfig.cmake lib/cmake/weft/weftConfigVersion.cmake; do
  [ -e "$prefix/$f" ] || missing+=("$f")
done
ls "$prefix"/lib/libweft.* >/dev/null 2>&1 || missing+=("lib/libweft.*")
if [ -z "$unexpected" ] && [ ${#missing[@]} -eq 0 ]; then
  pass "installed files: $(cd "$prefix" && find . -type f | wc -l) files, only headers, library, .pc and CMake package"
else
  fail "installed files" ${unexpected:+"unexpected: $(echo $unexpected)"} ${missing[@]:+"missing: ${missing[*]}"}
fi

# Each consumer gets a copy of consumer.cpp and its build file in a directory of its own.
consumer_dir() { mkdir -p "$work/$1" && cp tests/install/consumer.cpp "$work/$1/" && echo "$work/$1"; }

# A consumer built with pkg-config (no flags of the user's own: -std=c++20 and the rest come from
# the .pc file) or with CMake's find_package (CMAKE_PREFIX_PATH; C++20 comes with the target), then
# run: it checks its values and whose malloc it got.
#   pkgconfig_consumer NAME PACKAGE MALLOC      cmake_consumer NAME MALLOC [cmake -D args...]
pkgconfig_consumer() {
  local name=$1 package=$2 malloc=$3 dir
  dir=$(consumer_dir "$name")
  if PKG_CONFIG_PATH=$prefix/lib/pkgconfig sh -c \
       'g++ -O1 "$1/consumer.cpp" -o "$1/consumer" $(pkg-config --cflags --libs "$2")' sh "$dir" "$package" >"$dir/log" 2>&1 \
     && "$dir/consumer" "$malloc" >>"$dir/log" 2>&1; then
    pass "pkg-config $package consumer: $(tail -1 "$dir/log")"
  else
    fail "pkg-config $package consumer"; log_tail "$dir/log"
  fi
}
cmake_consumer() {
  local name=$1 malloc=$2 dir; shift 2
  dir=$(consumer_dir "$name")
  cp tests/install/cmake/CMakeLists.txt "$dir/"
  if cmake -S "$dir" -B "$dir/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER=g++ "$@" >"$dir/log" 2>&1 \
     && cmake --build "$dir/build" >>"$dir/log" 2>&1 \
     && "$dir/build/consumer" "$malloc" >>"$dir/log" 2>&1; then
    pass "CMake consumer${*:+ ($*)}: $(tail -1 "$dir/log")"
  else
    fail "CMake consumer${*:+ ($*)}"; log_tail "$dir/log"
  fi
}

# 2, 3. The plain consumers: the program's malloc stays the C library's.
pkgconfig_consumer pkgconfig weft libc
cmake_consumer cmake libc

# 4. meson subproject: the library only, no test or benchmark dependencies looked up.
dir=$(consumer_dir meson)
cp tests/install/meson/meson.build "$dir/"
mkdir -p "$dir/subprojects" && ln -s "$root" "$dir/subprojects/weft"
if CC=gcc CXX=g++ meson setup "$dir/build" "$dir" >"$dir/log" 2>&1 \
   && meson compile -C "$dir/build" >>"$dir/log" 2>&1 \
   && "$dir/build/consumer" libc >>"$dir/log" 2>&1; then
  looked_up=$(grep -iE 'dependency (gtest|gmock|benchmark|cli11)|Library (gtest|benchmark)|CLI/CLI.hpp' "$dir/log" || true)
  built_extra=$(cd "$dir/build" && find . -name '*_test' -o -name 'weft-bench' -o -name '*_bench' | head -3)
  if [ -z "$looked_up" ] && [ -z "$built_extra" ]; then
    pass "meson subproject consumer: $(tail -1 "$dir/log")"
  else
    fail "meson subproject consumer" "looked up: $looked_up" "built: $built_extra"
  fi
else
  fail "meson subproject consumer"; log_tail "$dir/log"
fi

# 5, 6. The opt-in: weft-mimalloc.pc and weft::mimalloc make mimalloc the program's malloc.
pkgconfig_consumer mimalloc weft-mimalloc mimalloc
cmake_consumer cmake-mimalloc mimalloc -DWITH_MIMALLOC=ON

# 7. Without C++20: one clear #error, not pages of coroutine errors.
dir=$(consumer_dir cxx17)
if g++ -std=c++17 -fsyntax-only -I"$prefix/include" "$dir/consumer.cpp" >"$dir/log" 2>&1; then
  fail "C++17 compile stops at weft's #error" "it compiled"
elif grep -q 'weft needs C++20 with coroutines' "$dir/log" && [ "$(grep -c 'error' "$dir/log")" -le 3 ]; then
  pass "C++17 compile stops at weft's #error ($(grep -c 'error' "$dir/log") error lines)"
else
  fail "C++17 compile stops at weft's #error"; log_tail "$dir/log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
