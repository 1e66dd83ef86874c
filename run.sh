#!/usr/bin/env bash
# The main job: install what is missing, build, and replay the bundled scenario corpus.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
exec build/cli/pidlab replay -q scenarios/
