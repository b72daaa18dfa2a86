#!/usr/bin/env bash
# The API reference: doxygen over the public headers (docs/Doxyfile) into build/docs/html.
# Fails, printing them, on any warning: an undocumented public entity is a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/install-deps.sh
install_deps doxygen
mkdir -p build/docs
rm -f build/docs/warnings.log
doxygen docs/Doxyfile
if [ -s build/docs/warnings.log ]; then
  cat build/docs/warnings.log
  echo "docs: $(grep -c . build/docs/warnings.log) warning lines; the reference is in build/docs/html" >&2
  exit 1
fi
echo "docs: no warnings; open build/docs/html/index.html"
