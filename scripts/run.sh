#!/usr/bin/env bash
# The main job: installs what it needs, builds optimised, and runs the actor example (a manager
# task serving 64 client tasks over an mpsc channel with oneshot replies). The benchmark issue
# turns this into the channel-capacity comparison.
#   bash scripts/run.sh [clients] [requests-per-client]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-deps.sh
install_deps
dir=build/release
mode=()
[ -f "$dir/build.ninja" ] && mode=(--reconfigure)
CC=gcc CXX=g++ meson setup "${mode[@]}" "$dir" --buildtype=release >/dev/null
meson compile -C "$dir" examples/actor >/dev/null
exec "$dir/examples/actor" "$@"
