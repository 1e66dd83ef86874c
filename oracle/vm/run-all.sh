#!/usr/bin/env bash
# run-all.sh — boot several Debian kernels one after the other, each running the
# whole batch of scenarios ("--vm all").
#
#   oracle/vm/run-all.sh --init STATIC_BINARY --out-dir DIR
#                        [--scenarios-dir DIR]... [--scenario FILE]... [--scenario-list FILE]
#                        [--timeout SECS] [--cache DIR] [--offline] [--jobs N]
#                        [--smp N] [--mem MB] [--append "ARGS"] [SERIES... | all]
#
# SERIES defaults to all (6.1 6.12 7.1 7.2 7.3). fetch-kernels.sh runs once for
# them all first (one apt-get update; nothing is downloaded when the cache holds
# the newest builds), then run-vm.sh boots each kernel:
#   DIR/SERIES.jsonl        results (header line + the init's lines, see run-vm.sh)
#   DIR/SERIES.console.log  the guest's kernel console
# --jobs N boots up to N kernels at once (default 1; each VM is one TCG thread).
# A summary table goes to stdout. Exit status: 0 when every boot completed, 1 otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL_SERIES=(6.1 6.12 7.1 7.2 7.3)
usage() { sed -n '2,17s/^# \{0,1\}//p' "$0"; }

INIT="" OUTDIR="" CACHE="" OFFLINE=0 JOBS=1
PASS=()     # arguments forwarded to run-vm.sh
SERIES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --init) INIT=${2:?}; shift 2 ;;
    --out-dir) OUTDIR=${2:?}; shift 2 ;;
    --cache) CACHE=${2:?}; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    --jobs|-j) JOBS=${2:?}; shift 2 ;;
    --scenarios-dir|--scenario|--scenario-list|--timeout|--smp|--mem|--append)
      PASS+=("$1" "${2?}"); shift 2 ;;
    --vm|--kernel) [[ $2 == all ]] && SERIES+=("${ALL_SERIES[@]}") || SERIES+=("$2"); shift 2 ;;
    all) SERIES+=("${ALL_SERIES[@]}"); shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "run-all: unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) SERIES+=("$1"); shift ;;
  esac
done
[[ -n $INIT && -n $OUTDIR ]] || { usage >&2; exit 2; }
[[ ${#SERIES[@]} -gt 0 ]] || SERIES=("${ALL_SERIES[@]}")
[[ -n $CACHE ]] || CACHE="${PIDLAB_CACHE:-${HOME:-/root}/.cache/pidlab}/kernels"
mkdir -p "$OUTDIR"

fargs=(--cache "$CACHE")
[[ $OFFLINE == 1 ]] && fargs+=(--offline)
bash "$HERE/fetch-kernels.sh" "${fargs[@]}" "${SERIES[@]}" >&2 ||
  echo "run-all: fetch-kernels.sh reported a problem; booting what the cache holds" >&2

declare -A RC=()
boot() {
  local s=$1
  bash "$HERE/run-vm.sh" --kernel "$s" --cache "$CACHE" --offline --init "$INIT" \
    --out "$OUTDIR/$s.jsonl" --console "$OUTDIR/$s.console.log" "${PASS[@]}"
}
if [[ $JOBS -le 1 ]]; then
  for s in "${SERIES[@]}"; do
    set +e; boot "$s"; RC[$s]=$?; set -e
  done
else
  declare -A PID=()
  running=0
  for s in "${SERIES[@]}"; do
    while [[ $running -ge $JOBS ]]; do wait -n || true; running=$((running - 1)); done
    boot "$s" & PID[$s]=$!
    running=$((running + 1))
  done
  for s in "${SERIES[@]}"; do
    set +e; wait "${PID[$s]}"; RC[$s]=$?; set -e
  done
fi

fail=0
printf '%-5s %-10s %-8s %-46s %s\n' series status seconds package version
for s in "${SERIES[@]}"; do
  f="$OUTDIR/$s.jsonl"
  if [[ -s $f ]]; then
    h=$(head -n1 "$f")
    get() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$h"; }
    printf '%-5s %-10s %-8s %-46s %s\n' "$s" "$(get status)" "$(get seconds)" "$(get package)" "$(get version)"
  else
    printf '%-5s %-10s\n' "$s" "no-output"
  fi
  [[ ${RC[$s]} == 0 ]] || fail=1
done
exit "$fail"
