#!/usr/bin/env bash
# Builds each pitfall reproducer in this folder with g++ and clang++-16 (-std=c++20 -O2) against a
# built weft, runs every form, and prints what happened: ok, crash (a signal), hang (no exit within
# 10 s), wrong (the program saw a wrong result: a lost reply, a permit released twice, a capture
# already destroyed).
#
#   meson setup build/release --buildtype=release && meson compile -C build/release
#   bash tests/pitfalls/check.sh [path/to/libweft.a]      # default: build/release/libweft.a
#
# README.md's "Pitfalls" section is the summary of this table.
set -u
cd "$(dirname "$0")/../.."
lib=${1:-build/release/libweft.a}
[ -f "$lib" ] || { echo "no $lib: build weft first (see the top of this script)" >&2; exit 2; }
compilers=(${WEFT_PITFALL_COMPILERS:-g++ clang++-16})
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# program: its forms
declare -A forms=(
    [aggregate]="aggregate bound constructor lambda lambda-bound"
    [conditional]="permit tasks tasks-bound if-else"
    [condition]="if-exit if-not-recv while-exit switch-exit if-in-loop while-bare if-decl if-init while-decl statement"
    [throwing]="spawn-blocking task timeout-recv connect bound"
    [lambda]="spawn-capture stored-capture await-capture spawn-param"
    [watch_borrow]="borrow-across copy-out"
    [foreign]="thread-resume then-weft oneshot-bridge"
)
programs=(aggregate conditional condition throwing lambda watch_borrow foreign)

verdict() {
    case $1 in
        0) echo ok ;;
        3) echo wrong ;;
        124) echo hang ;;
        *) if [ "$1" -gt 128 ]; then echo "crash ($(kill -l $(($1 - 128))))"; else echo "exit $1"; fi ;;
    esac
}

printf '%-13s %-15s' program form
for cxx in "${compilers[@]}"; do printf ' %-14s' "$cxx"; done
echo
status=0
for p in "${programs[@]}"; do
    for cxx in "${compilers[@]}"; do
        if ! "$cxx" -std=c++20 -O2 -Iinclude "tests/pitfalls/$p.cpp" "$lib" -lpthread -ldl -o "$out/$p-$cxx" 2>"$out/$p-$cxx.log"; then
            echo "$p: $cxx failed to compile:" >&2
            cat "$out/$p-$cxx.log" >&2
            status=1
        fi
    done
    for form in ${forms[$p]}; do
        printf '%-13s %-15s' "$p" "$form"
        for cxx in "${compilers[@]}"; do
            if [ -x "$out/$p-$cxx" ]; then
                rc=$(timeout 10 "$out/$p-$cxx" "$form" >/dev/null 2>&1; echo $?) 2>/dev/null
                printf ' %-14s' "$(verdict "$rc")"
            else
                printf ' %-14s' "not built"
            fi
        done
        echo
    done
done
exit $status
