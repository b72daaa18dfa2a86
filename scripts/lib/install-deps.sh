# Installs what weft's build, tests and benchmarks need, from Debian's packages. Idempotent: a
# second run only checks (dpkg -s), it does not touch apt.
weft_packages=(
  meson ninja-build g++ clang-16 libclang-rt-16-dev llvm pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev libconcurrentqueue-dev libcli11-dev libmimalloc-dev
  redis-server libhiredis-dev python3 python3-matplotlib
  cmake doxygen ccache relacy-dev
)
# What scripts/run.sh needs (a release build of weft-bench and its plot): no clang, llvm or redis,
# so the main job on a fresh machine downloads less.
weft_run_packages=(
  meson ninja-build g++ pkg-config libgtest-dev libbenchmark-dev libconcurrentqueue-dev libcli11-dev
  python3 python3-matplotlib
)

# install_deps [package...]: the given packages, or all of weft_packages.
install_deps() {
  local wanted=("$@") missing=()
  [ ${#wanted[@]} -eq 0 ] && wanted=("${weft_packages[@]}")
  for p in "${wanted[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "weft: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "weft: need root or sudo to install ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
