#!/usr/bin/env bash
# The tests: install what is missing, build, run every test (ctest).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)"
