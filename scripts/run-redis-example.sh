#!/usr/bin/env bash
# The seed example (examples/redis_seed.cpp): builds it optimised and runs it against a
# redis-server on 127.0.0.1: the one on port 6379 if it answers PING, else a private one started
# on a free port (no persistence) and stopped when the example ends.
#   bash scripts/run-redis-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-deps.sh
install_deps meson ninja-build g++ pkg-config libconcurrentqueue-dev redis-server

dir=${WEFT_EXAMPLE_BUILD:-build/example}
if [ ! -f "$dir/build.ninja" ]; then
  CC=gcc CXX=g++ meson setup "$dir" --buildtype=release -Dtests=disabled -Dbenchmarks=disabled >/dev/null
fi
meson compile -C "$dir" examples/redis_seed >/dev/null

port=6379
if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null &
  server=$!
  trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 200); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  echo "weft: started redis-server on 127.0.0.1:$port (pid $server) for the example" >&2
fi
"$dir/examples/redis_seed" "$port"
