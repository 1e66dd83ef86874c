#!/usr/bin/env bash
# The tests: install what is missing, build, fetch the kernels for the VM
# cross-check, and run every test (ctest): unit tests, the corpus, the oracle's
# own tests, the property tests, crosscheck on the running kernel and on Debian's
# 6.1, 6.12, 7.1, 7.2 and 7.3 under QEMU, and 60 s of fuzzing. Needs root.
# Quicker subsets: `ctest --test-dir build -L unit` (or -L corpus, -L oracle, -L crosscheck, -L fuzz).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
oracle/vm/fetch-kernels.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
