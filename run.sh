#!/usr/bin/env bash
# The main job: install what is missing, build, fetch Debian's 7.1, 7.2 and 7.3 kernels for the
# VM oracle, and validate every revision of the series (pidlab validate: the table of invariants
# x revisions on stdout, table.md and the counterexamples in validate-out/).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
# A kernel that cannot be fetched is reported by validate (and skipped), not fatal here.
oracle/vm/fetch-kernels.sh 7.1 7.2 7.3 || echo "run.sh: some kernels could not be fetched; validate says which" >&2
exec build/cli/pidlab validate "$@"
