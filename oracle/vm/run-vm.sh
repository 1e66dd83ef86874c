#!/usr/bin/env bash
# run-vm.sh — boot one Debian cloud kernel under QEMU with a static /init and a
# batch of scenario files, and collect the init's results from a serial port.
#
#   oracle/vm/run-vm.sh --kernel SERIES --init STATIC_BINARY --out RESULTS
#                       [--scenarios-dir DIR]... [--scenario FILE]... [--scenario-list FILE]
#                       [--timeout SECS] [--console LOG] [--cache DIR] [--fetch] [--offline]
#                       [--smp N] [--mem MB] [--append "ARGS"] [--vmlinuz PATH]
#                       [--init-arg ARG]... [--no-init-args]
#
# SERIES: 6.1 6.12 7.1 7.2 7.3. The kernel comes from the cache that
# fetch-kernels.sh fills (fetched on first use; --fetch refreshes it first).
# Scenario files are copied into the initramfs as /pidlab/scenarios/NNNN-NAME.json,
# numbered in the order given: a --scenarios-dir contributes its *.json files
# (recursively) sorted by path in the C locale; --scenario and --scenario-list
# (one path a line) keep the order given. /init is STATIC_BINARY, started as
# `/init vm-init` (the executor's mode; the words after `--` on the kernel command
# line): --init-arg replaces "vm-init" (repeat it for more words), --no-init-args
# starts it with no arguments.
#
# The guest's kernel console is ttyS0 (-> LOG, default a temporary file whose tail
# is printed on failure); the init writes one JSON object per line to the virtio
# console port named "pidlab" (kernels with a built-in virtio_console: 6.12 and
# later) or else to ttyS1. QEMU writes each to a file of its own, so kernel
# messages never mix into results.
#
# RESULTS: the first line is a header written by this script,
#   {"vm": {"series": "7.2", "suite": "sid", "package": "...", "version": "...",
#           "release": "...", "vmlinuz_sha256": "...", "completed": true,
#           "status": "ok", "seconds": 4.2, "scenarios": N, "kernel_reported": "...",
#           "error": ""}}
# and every further line is a line the init wrote (ttyS1's, then the port's), verbatim except that
# carriage returns and empty lines are removed. "completed" is true when the last
# line is {"done": true, "kernel": "<uname -r>", "scenarios": N} naming the release
# that was booted and the number of scenario files given. "status" is one of ok,
# timeout, no-done, wrong-kernel, wrong-count.
#
# Exit status: 0 completed; 1 setup error; 2 usage; 3 timeout (QEMU killed);
# 4 the VM stopped without a done line (or with a wrong one). RESULTS is written
# in every case but a setup error or a usage error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,40s/^# \{0,1\}//p' "$0"; }
die() { printf 'run-vm: %s\n' "$*" >&2; exit 1; }

SERIES="" INIT="" OUT="" CONSOLE="" CACHE="" FETCH=0 OFFLINE=0
TIMEOUT=300 SMP="" MEM=1024 EXTRA_APPEND="" VMLINUZ=""
INIT_ARGS=(vm-init) INIT_ARGS_SET=0
SCEN=()   # scenario files, in order
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kernel|--vm) SERIES=${2:?}; shift 2 ;;
    --init) INIT=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --console) CONSOLE=${2:?}; shift 2 ;;
    --cache) CACHE=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --append) EXTRA_APPEND=${2?}; shift 2 ;;
    --vmlinuz) VMLINUZ=${2:?}; shift 2 ;;
    --fetch) FETCH=1; shift ;;
    --init-arg)
      [[ $INIT_ARGS_SET == 1 ]] || INIT_ARGS=()
      INIT_ARGS_SET=1
      [[ -n $2 && $2 != *[[:space:]\"]* ]] || die "--init-arg takes one word without spaces or quotes"
      INIT_ARGS+=("$2"); shift 2 ;;
    --no-init-args) INIT_ARGS=(); INIT_ARGS_SET=1; shift ;;
    --offline) OFFLINE=1; shift ;;
    --scenarios-dir)
      d=${2:?}; shift 2
      [[ -d $d ]] || die "no such directory: $d"
      while IFS= read -r -d '' f; do SCEN+=("$f"); done < <(find "$d" -type f -name '*.json' -print0 | LC_ALL=C sort -z)
      ;;
    --scenario) [[ -f $2 ]] || die "no such file: $2"; SCEN+=("$2"); shift 2 ;;
    --scenario-list)
      [[ -f $2 ]] || die "no such file: $2"
      while IFS= read -r f || [[ -n $f ]]; do
        [[ -z $f ]] && continue
        [[ -f $f ]] || die "no such file: $f (listed in $2)"
        SCEN+=("$f")
      done <"$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) printf 'run-vm: unknown argument: %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n $SERIES || -n $VMLINUZ ]] || { echo "run-vm: --kernel SERIES is required" >&2; exit 2; }
[[ -n $INIT ]] || { echo "run-vm: --init is required" >&2; exit 2; }
[[ -n $OUT ]] || { echo "run-vm: --out is required" >&2; exit 2; }
[[ $SERIES == all ]] && { echo "run-vm: boots one kernel; use oracle/vm/run-all.sh for all of them" >&2; exit 2; }
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || { echo "run-vm: --timeout takes whole seconds" >&2; exit 2; }
if [[ -z $SMP ]]; then
  SMP=$(nproc 2>/dev/null || echo 1)
  [[ $SMP -gt 4 ]] && SMP=4
fi
[[ $SMP =~ ^[0-9]+$ && $SMP -gt 0 ]] || { echo "run-vm: --smp takes a positive whole number" >&2; exit 2; }
[[ -f $INIT && -x $INIT ]] || die "init binary not found or not executable: $INIT"

QEMU=${PIDLAB_QEMU:-qemu-system-x86_64}
for tool in "$QEMU" cpio timeout; do
  command -v "$tool" >/dev/null || die "missing tool: $tool (apt-get install qemu-system-x86 cpio)"
done
if command -v readelf >/dev/null && readelf -l "$INIT" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  die "$INIT is dynamically linked; /init must be a static executable"
fi

json_str() { # escape for a JSON string body
  local s
  s=$(printf '%s' "$1" | tr -d '\000-\010\013-\037\177')
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\r'/}; s=${s//$'\t'/\\t}
  printf '%s' "$s"
}

# ------------------------------------------------------------------ kernel
SUITE="" PACKAGE="" VERSION="" RELEASE="" VSHA=""
if [[ -n $VMLINUZ ]]; then
  [[ -s $VMLINUZ ]] || die "no such kernel image: $VMLINUZ"
  SERIES=${SERIES:-custom}
else
  [[ -n $CACHE ]] || CACHE="${PIDLAB_CACHE:-${HOME:-/root}/.cache/pidlab}/kernels"
  MAN="$CACHE/$SERIES/manifest"
  fargs=(--cache "$CACHE" --quiet)
  [[ $OFFLINE == 1 ]] && fargs+=(--offline)
  if [[ $FETCH == 1 || ! -s $MAN ]]; then
    bash "$HERE/fetch-kernels.sh" "${fargs[@]}" "$SERIES" >&2 || [[ -s $MAN ]] ||
      die "no kernel for series $SERIES (fetch-kernels.sh failed)"
  fi
  [[ -s $MAN ]] || die "no manifest $MAN"
  mget() { sed -n "s/^$1=//p" "$MAN" | head -n1; }
  SUITE=$(mget suite) PACKAGE=$(mget package) VERSION=$(mget version) RELEASE=$(mget release)
  VMLINUZ=$(mget vmlinuz)
  [[ -s $VMLINUZ ]] || VMLINUZ="$CACHE/$SERIES/$(basename "$VMLINUZ")"
  [[ -s $VMLINUZ ]] || die "kernel image missing from the cache: $VMLINUZ (rerun fetch-kernels.sh)"
fi
VSHA=$(sha256sum "$VMLINUZ" | cut -d' ' -f1)
if [[ -n ${MAN:-} ]]; then
  want=$(sed -n 's/^vmlinuz_sha256=//p' "$MAN" | head -n1)
  [[ -z $want || $want == "$VSHA" ]] || die "$VMLINUZ does not match its manifest's sha256 (rerun fetch-kernels.sh --cache $CACHE $SERIES)"
fi

# ------------------------------------------------------------------ initramfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pidlab-vm.XXXXXX")
# PIDLAB_VM_KEEP_WORK=1 keeps the work directory (root/, initrd.cpio, ttyS1.raw, port.raw).
cleanup() {
  if [[ ${PIDLAB_VM_KEEP_WORK:-0} == 1 ]]; then
    printf 'run-vm: kept %s\n' "$WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
ROOT="$WORK/root"
mkdir -p "$ROOT"/{dev,proc,sys,tmp,pidlab/scenarios}
cp "$INIT" "$ROOT/init"
chmod 0755 "$ROOT/init"
N=${#SCEN[@]}
width=4; [[ $N -gt 9999 ]] && width=${#N}
# Copied with shell builtins (a fork per file costs ~15 ms in some sandboxes);
# a scenario is JSON text, which holds no NUL byte, so the copy is exact.
umask 022
i=0
for f in "${SCEN[@]}"; do
  i=$((i + 1))
  printf -v dst '%s/pidlab/scenarios/%0*d-%s' "$ROOT" "$width" "$i" "${f##*/}"
  content=""
  IFS= read -r -d '' content <"$f" || true
  printf '%s' "$content" >"$dst"
done

# A newc entry without data (device node or directory), written by hand so that
# no mknod (and no root) is needed: /dev/console lets the kernel give /init its
# stdin/stdout/stderr.
newc_hdr() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR INO
  local name=$1 mode=$2 maj=$3 min=$4 ino=$5 namesize pad
  namesize=$(( ${#name} + 1 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    "$ino" "$((8#$mode))" 0 0 1 0 0 0 0 "$maj" "$min" "$namesize" 0
  printf '%s\0' "$name"
  pad=$(( (4 - (110 + namesize) % 4) % 4 ))
  [[ $pad -gt 0 ]] && head -c "$pad" /dev/zero
  return 0
}
INITRD="$WORK/initrd.cpio"
find "$ROOT" -exec touch -h -d @0 {} +
(cd "$ROOT" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
   cpio -o -H newc -R 0:0 --reproducible --quiet) >"$INITRD"
{
  newc_hdr dev/console 020600 5 1 900001
  newc_hdr dev/null 020666 1 3 900002
  newc_hdr TRAILER!!! 0 0 0 0
} >>"$INITRD"

# ------------------------------------------------------------------ boot
[[ -n $CONSOLE ]] || CONSOLE="$WORK/console.log"
RAW="$WORK/ttyS1.raw"
PORT="$WORK/port.raw"
mkdir -p "$(dirname "$CONSOLE")" "$(dirname "$OUT")"
: >"$CONSOLE"; : >"$RAW"; : >"$PORT"
# Several vCPUs run in parallel only with multi-threaded TCG (one host thread
# per vCPU); the init runs one scenario per vCPU at a time.
ACCEL=${PIDLAB_VM_ACCEL:-tcg}
[[ $ACCEL == tcg && $SMP -gt 1 ]] && ACCEL="tcg,thread=multi"
APPEND="console=ttyS0 panic=-1 quiet rdinit=/init${EXTRA_APPEND:+ $EXTRA_APPEND}"
[[ ${#INIT_ARGS[@]} -gt 0 ]] && APPEND="$APPEND -- ${INIT_ARGS[*]}"
# shellcheck disable=SC2054  # "max,-cx16" is one argument
QEMU_CMD=("$QEMU" -machine q35 -accel "$ACCEL" -cpu "${PIDLAB_VM_CPU:-max,-cx16}" -m "$MEM" -smp "$SMP"
  -nodefaults -no-user-config -nographic -no-reboot -monitor none
  -serial "file:$CONSOLE" -serial "file:$RAW"
  -device virtio-serial-pci -chardev "file,id=results,path=$PORT" -device virtserialport,chardev=results,name=pidlab
  -kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND")

t0=$(date +%s.%N)
set +e
timeout --kill-after=10 "$TIMEOUT" "${QEMU_CMD[@]}" </dev/null >"$WORK/qemu.out" 2>&1
rc=$?
set -e
t1=$(date +%s.%N)
SECONDS_TAKEN=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

# ------------------------------------------------------------------ results
LINES="$WORK/lines"
cat "$RAW" "$PORT" | tr -d '\r' | grep -v '^[[:space:]]*$' >"$LINES" || true
last=$(tail -n1 "$LINES")
STATUS=ok ERROR="" COMPLETED=false KREP=""
if [[ $rc == 124 || $rc == 137 ]]; then
  STATUS=timeout; ERROR="timeout after ${TIMEOUT}s: QEMU killed"
elif [[ $last =~ \"done\"[[:space:]]*:[[:space:]]*true ]]; then
  [[ $last =~ \"kernel\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]] && KREP=${BASH_REMATCH[1]}
  DONE_N=""
  [[ $last =~ \"scenarios\"[[:space:]]*:[[:space:]]*([0-9]+) ]] && DONE_N=${BASH_REMATCH[1]}
  if [[ -n $RELEASE && $KREP != "$RELEASE" ]]; then
    STATUS=wrong-kernel; ERROR="the done line names kernel '$KREP', but $RELEASE was booted"
  elif [[ $DONE_N != "$N" ]]; then
    STATUS=wrong-count; ERROR="the done line counts ${DONE_N:-no} scenarios, but $N were given"
  elif [[ $rc != 0 ]]; then
    COMPLETED=true; STATUS=ok
    ERROR="QEMU exited with status $rc after the done line: $(head -c 300 "$WORK/qemu.out")"
  else
    COMPLETED=true
  fi
else
  STATUS=no-done
  if [[ $rc != 0 ]]; then
    ERROR="QEMU exited with status $rc without a done line: $(head -c 300 "$WORK/qemu.out")"
  else
    if [[ -n $last ]]; then
      ERROR="the VM stopped without a done line (last line: $(head -c 200 <<<"$last"))"
    else
      ERROR="the VM stopped without writing any result (virtio port or ttyS1)"
    fi
    if grep -q 'Kernel panic' "$CONSOLE"; then
      ERROR="$ERROR; $(grep -a -m1 -o 'Kernel panic.*' "$CONSOLE" | tr -cd '[:print:]')"
    fi
  fi
fi

mkdir -p "$(dirname "$OUT")"
{
  printf '{"vm": {"series": "%s", "suite": "%s", "package": "%s", "version": "%s", "release": "%s", ' \
    "$(json_str "$SERIES")" "$(json_str "$SUITE")" "$(json_str "$PACKAGE")" "$(json_str "$VERSION")" "$(json_str "$RELEASE")"
  printf '"vmlinuz_sha256": "%s", "completed": %s, "status": "%s", "seconds": %s, "scenarios": %d, ' \
    "$VSHA" "$COMPLETED" "$STATUS" "$SECONDS_TAKEN" "$N"
  printf '"kernel_reported": "%s", "error": "%s"}}\n' "$(json_str "$KREP")" "$(json_str "$ERROR")"
  cat "$LINES"
} >"$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"

if [[ $COMPLETED == true ]]; then
  printf 'run-vm: %s (%s %s) completed in %ss, %d result lines\n' "$SERIES" "$PACKAGE" "$VERSION" \
    "$SECONDS_TAKEN" "$(wc -l <"$LINES")" >&2
  exit 0
fi
printf 'run-vm: %s (%s %s): %s\n' "$SERIES" "$PACKAGE" "$VERSION" "$ERROR" >&2
printf 'run-vm: last console lines (%s):\n' "$CONSOLE" >&2
tail -n 25 "$CONSOLE" | tr -d '\r' | sed 's/^/    /' >&2
[[ $STATUS == timeout ]] && exit 3
exit 4
