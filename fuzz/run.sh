#!/usr/bin/env bash
# Build the libFuzzer target fuzz_replay in its own build dir and fuzz for
# SECONDS (default 60), seeded from every scenarios/**/*.json.
#
#   fuzz/run.sh [SECONDS]
#
# Environment: FUZZ_BUILD (build dir, default /tmp/pidlab-fuzz-build),
# FUZZ_CORPUS (keep the corpus there instead of a temp dir), FUZZ_ARTIFACTS
# (where crash files go, default $FUZZ_BUILD/artifacts), CXX (default clang++),
# FUZZ_JOBS (parallel fuzzing processes, default 1).
# Exit status: 0 when the run found nothing; 1 on a finding (the reproducer is printed); 2 on a build error.
set -euo pipefail

seconds=${1:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
build=${FUZZ_BUILD:-/tmp/pidlab-fuzz-build}
artifacts=${FUZZ_ARTIFACTS:-$build/artifacts}
jobs=${FUZZ_JOBS:-1}

mkdir -p "$build" "$artifacts"
if ! { cmake -S "$src" -B "$build" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" -DPIDLAB_FUZZ=ON \
         -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 &&
       cmake --build "$build" --target fuzz_replay -j "$(nproc)" >"$build/build.log" 2>&1; }; then
    echo "fuzz/run.sh: build failed; see $build/configure.log and $build/build.log" >&2
    tail -30 "$build/build.log" "$build/configure.log" >&2 2>/dev/null || true
    exit 2
fi
bin=$build/fuzz/fuzz_replay

if [[ -n "${FUZZ_CORPUS:-}" ]]; then
    corpus=$FUZZ_CORPUS
    mkdir -p "$corpus"
else
    corpus=$(mktemp -d /tmp/pidlab-fuzz-corpus.XXXXXX)
    trap 'rm -rf "$corpus"' EXIT
fi

# Seeds: the scenario corpus (copied: libFuzzer writes into its corpus dir).
n=0
if [[ -d "$src/scenarios" ]]; then
    while IFS= read -r -d '' f; do
        cp "$f" "$corpus/seed_$(printf '%04d' $n)_$(basename "$f")"
        n=$((n + 1))
    done < <(find "$src/scenarios" -name '*.json' -type f -print0 | sort -z)
fi
if [[ $n -eq 0 ]]; then
    # No corpus yet: a few built-in seeds.
    cat >"$corpus/seed_fork_wait.json" <<'JSON'
{"name": "fork_wait", "kernel": "7.1", "steps": [
  {"task": "T", "op": "fork", "child": "C", "expect": {"ret": "ok"}},
  {"task": "C", "op": "exit", "code": 3},
  {"task": "T", "op": "waitpid", "target": "C", "options": ["WNOHANG"], "expect": {"pid": "C", "status": {"exited": 3}}}],
 "final": {"C": {"state": "reaped"}}}
JSON
    cat >"$corpus/seed_autoreap.json" <<'JSON'
{"name": "autoreap", "kernel": "7.1", "steps": [
  {"task": "T", "op": "clone3", "flags": ["CLONE_PIDFD", "CLONE_AUTOREAP"], "exit_signal": 0, "child": "C", "pidfd": "c"},
  {"task": "C", "op": "thread_create", "child": "C2"},
  {"task": "C", "op": "exit_group", "code": 42},
  {"task": "T", "op": "poll", "fd": "c", "expect": {"revents": ["POLLIN"]}},
  {"task": "T", "op": "pidfd_get_info", "fd": "c", "expect": {"exit": {"exited": 42}}}],
 "final": {"C": {"state": "reaped"}}}
JSON
    cat >"$corpus/seed_subreaper.json" <<'JSON'
{"name": "subreaper", "steps": [
  {"task": "T", "op": "prctl", "option": "PR_SET_CHILD_SUBREAPER", "value": 1},
  {"task": "T", "op": "fork", "child": "P"},
  {"task": "P", "op": "fork", "child": "C"},
  {"task": "C", "op": "prctl", "option": "PR_SET_PDEATHSIG", "value": "SIGKILL"},
  {"task": "T", "op": "ptrace", "request": "PTRACE_SEIZE", "target": "C", "options": ["PTRACE_O_EXITKILL"]},
  {"task": "P", "op": "exit_group", "code": 0},
  {"task": "T", "op": "observe", "target": "C"},
  {"task": "T", "op": "waitid", "idtype": "P_ALL", "options": ["WNOHANG", "__WALL"]}]}
JSON
    n=3
fi
echo "fuzz/run.sh: $n seeds in $corpus; fuzzing for ${seconds}s with $bin"

log=$build/fuzz.log
extra=()
if [[ $jobs -gt 1 ]]; then extra=(-jobs="$jobs" -workers="$jobs"); fi
cd "$build"  # libFuzzer writes fuzz-N.log here with -jobs
rm -f fuzz-*.log
set +e
"$bin" "$corpus" -dict="$here/scenario.dict" -max_len=65536 -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" \
    2>&1 | tee "$log" | grep -E --line-buffered '^(#[0-9]+[[:space:]]+(INITED|DONE|pulse)|==[0-9]+==|SUMMARY|stat::|fuzz_replay:)'
status=${PIPESTATUS[0]}
set -e
if [[ $jobs -gt 1 ]]; then cat fuzz-*.log >>"$log" 2>/dev/null || true; fi

crashes=$(grep -hoE "Test unit written to [^ ]+" "$log" | awk '{print $5}' | sort -u || true)
if [[ $status -ne 0 || -n "$crashes" ]]; then
    echo "fuzz/run.sh: FINDING (fuzzer exit status $status); full log: $log" >&2
    grep -E -A40 '^==[0-9]+==ERROR|runtime error|fuzz_replay:|uncaught exception|deadly signal|timeout' "$log" | head -80 >&2 || true
    for c in $crashes; do
        echo "--- reproducer $c ($(wc -c <"$c") bytes); rerun: $bin $c" >&2
        head -c 4000 "$c" >&2
        echo >&2
    done
    exit 1
fi
echo "fuzz/run.sh: no findings in ${seconds}s"
