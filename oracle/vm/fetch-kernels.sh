#!/usr/bin/env bash
# fetch-kernels.sh — download Debian's cloud kernels for the VM oracle.
#
#   oracle/vm/fetch-kernels.sh [--cache DIR] [--offline] [--quiet] [SERIES...]
#
# SERIES is one of 6.1 6.12 7.1 7.2 7.3 (default: all). For each series the
# newest cloud-amd64 kernel build that Debian's archive offers *now* is chosen,
# downloaded with `apt-get download` under a private apt configuration (its own
# sources.list, lists, cache and status; the machine's apt sources are never
# touched and nothing is installed), and only the kernel image is extracted.
# Suites searched (the first that has the series wins): 6.1 bookworm; 6.12
# bookworm-backports; 7.1 trixie-backports, then sid; 7.2 sid, then
# trixie-backports; 7.3 trixie-backports, then sid.
#
# Cache layout (DIR defaults to ${PIDLAB_CACHE:-$HOME/.cache/pidlab}/kernels):
#   DIR/apt/                 private apt state (sources.list, lists, archives)
#   DIR/SERIES/manifest      key=value lines: series suite package version release
#                            vmlinuz vmlinuz_sha256 deb_sha256 deb_bytes fetched mirror
#   DIR/SERIES/vmlinuz-REL   the kernel image (from /boot/vmlinuz-REL or, in the
#                            newer packaging, /usr/lib/modules/REL/vmlinuz)
# A later run downloads nothing when the cached build is still the newest one;
# when the archive cannot be reached the cached builds are used (and it says so).
#
# Environment: PIDLAB_CACHE (cache root), PIDLAB_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), PIDLAB_APT_IGNORE_VALID_UNTIL=1 (accept Release
# files past their Valid-Until date, for a frozen snapshot of the archive; the
# host's own apt setting of that is inherited anyway), PIDLAB_DEBIAN_KEYRING.
#
# Exit status: 0 when every requested series has a kernel in the cache, 1 otherwise.
set -euo pipefail

ALL_SERIES=(6.1 6.12 7.1 7.2 7.3)
MIRROR=${PIDLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Every suite the private apt configuration knows (all of them are always listed,
# so that apt keeps every list between runs).
ALL_SUITES=(bookworm bookworm-backports trixie-backports sid)

# Suites searched for a series, in order of preference: the first suite that has
# a build of the series wins, and the newest build in that suite is taken.
suites_for() {
  case "$1" in
    6.1)  echo "bookworm" ;;
    6.12) echo "bookworm-backports" ;;
    7.1)  echo "trixie-backports sid" ;;
    7.2)  echo "sid trixie-backports" ;;
    7.3)  echo "trixie-backports sid" ;;
    *)    return 1 ;;
  esac
}

usage() { sed -n '2,31s/^# \{0,1\}//p' "$0"; }
log() { [[ $QUIET == 1 ]] || printf 'fetch-kernels: %s\n' "$*" >&2; }
warn() { printf 'fetch-kernels: %s\n' "$*" >&2; }

CACHE=""
OFFLINE=0
QUIET=0
SERIES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cache) CACHE=${2:?--cache needs a directory}; shift 2 ;;
    --cache=*) CACHE=${1#--cache=}; shift ;;
    --offline) OFFLINE=1; shift ;;
    --quiet|-q) QUIET=1; shift ;;
    -h|--help) usage; exit 0 ;;
    all) SERIES+=("${ALL_SERIES[@]}"); shift ;;
    -*) warn "unknown option: $1"; usage >&2; exit 2 ;;
    *) suites_for "$1" >/dev/null || { warn "unknown series '$1' (known: ${ALL_SERIES[*]})"; exit 2; }
       SERIES+=("$1"); shift ;;
  esac
done
[[ ${#SERIES[@]} -gt 0 ]] || SERIES=("${ALL_SERIES[@]}")
[[ -n $CACHE ]] || CACHE="${PIDLAB_CACHE:-${HOME:-/root}/.cache/pidlab}/kernels"

for tool in apt-get apt-config dpkg dpkg-deb tar sha256sum flock; do
  command -v "$tool" >/dev/null || { warn "missing tool: $tool"; exit 1; }
done
APT_HELPER=/usr/lib/apt/apt-helper
[[ -x $APT_HELPER ]] || { warn "missing $APT_HELPER (package apt)"; exit 1; }
KEYRING=${PIDLAB_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
[[ -r $KEYRING ]] || { warn "missing $KEYRING (package debian-archive-keyring)"; exit 1; }

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
exec 9>"$CACHE/.lock"
flock 9

# ---------------------------------------------------------------- private apt
APTDIR="$CACHE/apt"
mkdir -p "$APTDIR"/{lists/partial,archives/partial,parts,preferences.d,sources.list.d,trusted.gpg.d}
: >"$APTDIR/status"
{
  for s in "${ALL_SUITES[@]}"; do
    echo "deb [signed-by=$KEYRING] $MIRROR $s main"
  done
} >"$APTDIR/sources.list"

# The host's trust and network policy is inherited (validity-date checks, proxies),
# nothing else: not its sources, not its apt.conf.d. (This matters where the
# archive is a frozen snapshot whose Release files have expired.)
host_conf() { apt-config dump --no-empty --format '%v' "$1" 2>/dev/null | head -n1 || true; }
{
  echo "Dir::Etc::main \"/dev/null\";"
  echo "Dir::Etc::parts \"$APTDIR/parts\";"
  echo "Dir::Etc::SourceList \"$APTDIR/sources.list\";"
  echo "Dir::Etc::SourceParts \"$APTDIR/sources.list.d\";"
  echo "Dir::Etc::Preferences \"$APTDIR/preferences\";"
  echo "Dir::Etc::PreferencesParts \"$APTDIR/preferences.d\";"
  echo "Dir::Etc::Trusted \"$APTDIR/trusted.gpg\";"
  echo "Dir::Etc::TrustedParts \"$APTDIR/trusted.gpg.d\";"
  echo "Dir::State::Lists \"$APTDIR/lists\";"
  echo "Dir::State::status \"$APTDIR/status\";"
  echo "Dir::Cache \"$APTDIR\";"
  echo "Dir::Cache::archives \"$APTDIR/archives\";"
  echo "APT::Architecture \"amd64\";"
  echo "APT::Architectures { \"amd64\"; };"
  # No binary package cache on disk (it would be ~150 MB); apt rebuilds it in
  # memory, which only `apt-get indextargets` (once) and `apt-get download` need.
  echo "Dir::Cache::pkgcache \"\";"
  echo "Dir::Cache::srcpkgcache \"\";"
  echo "Acquire::Languages { \"none\"; };"
  echo "Acquire::GzipIndexes \"true\";"
  echo "Acquire::Retries \"3\";"
  # apt-get download drops privileges to _apt, which cannot write into a private
  # cache under /root; as root, download as root (what apt falls back to anyway).
  [[ $(id -u) == 0 ]] && echo "APT::Sandbox::User \"root\";"
  for key in Acquire::Check-Valid-Until Acquire::Check-Date Acquire::http::Proxy Acquire::https::Proxy; do
    v=$(host_conf "$key")
    [[ $key == Acquire::Check-Valid-Until && ${PIDLAB_APT_IGNORE_VALID_UNTIL:-0} == 1 ]] && v=false
    [[ -n $v ]] && printf '%s "%s";\n' "$key" "$v"
  done
} >"$APTDIR/apt.conf"
export APT_CONFIG="$APTDIR/apt.conf"
# The same paths once more on the command line, so that nothing else can win.
APT_OPTS=(-o "Dir::Etc::SourceList=$APTDIR/sources.list"
          -o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
          -o "Dir::State::Lists=$APTDIR/lists"
          -o "Dir::State::status=$APTDIR/status"
          -o "Dir::Cache=$APTDIR"
          -o "Dir::Cache::archives=$APTDIR/archives")

ONLINE=1
declare -A SUITE_FAILED=()   # suites whose index could not be updated
if [[ $OFFLINE == 1 ]]; then
  ONLINE=0
  log "offline mode: using the cache only"
else
  log "apt-get update (private configuration in $APTDIR)"
  upd_log="$APTDIR/update.log"
  apt-get "${APT_OPTS[@]}" -q update >"$upd_log" 2>&1 || true
  # apt reports a suite's trouble as "Err:N MIRROR SUITE InRelease" and/or an
  # E:/W: line naming .../dists/SUITE/...: such a suite is treated as offline.
  for s in "${ALL_SUITES[@]}"; do
    if grep -qE "^Err:[0-9]+ [^ ]+ $s( |$)|^(E|W): .*/dists/$s/" "$upd_log"; then
      SUITE_FAILED[$s]=1
    fi
  done
  if [[ ${#SUITE_FAILED[@]} -gt 0 ]]; then
    warn "apt-get update failed for suite(s) ${!SUITE_FAILED[*]}:"
    grep -E '^(E|W|Err):' "$upd_log" | head -n 8 | sed 's/^/    /' >&2 || true
    warn "series from those suites fall back to the cache (offline)"
    [[ ${#SUITE_FAILED[@]} -eq ${#ALL_SUITES[@]} ]] && ONLINE=0
  fi
fi

# The Packages list of a suite. apt names it after the URI
# (MIRROR-HOST_PATH_dists_SUITE_main_binary-amd64_Packages[.lz4|.gz|...]); only
# one mirror is listed, so a glob finds it without `apt-get indextargets`, which
# would build apt's package cache in memory (1.5 s idle, 5 s on a busy machine).
declare -A LIST=()
list_of() {
  local suite=$1 f
  if [[ -z ${LIST[$suite]:-} ]]; then
    for f in "$APTDIR"/lists/*_dists_"${suite}"_main_binary-amd64_Packages*; do
      [[ -e $f ]] && { LIST[$suite]=$f; break; }
    done
  fi
  if [[ -z ${LIST[$suite]:-} ]]; then
    while read -r codename suitename file; do
      [[ -e $file ]] || continue
      LIST[$codename]=$file; LIST[$suitename]=$file
    done < <(apt-get indextargets --format '$(CODENAME) $(SUITE) $(FILENAME)' "Identifier: Packages" 2>/dev/null || true)
  fi
  echo "${LIST[$suite]:-}"
}

# Print "package version installed-size-kB sha256 size" for every cloud-amd64
# kernel package of series $1 in suite $2 (from the private lists).
candidates() {
  local series=$1 suite=$2 f
  f=$(list_of "$suite")
  [[ -n $f && -e $f ]] || return 0
  "$APT_HELPER" cat-file "$f" | awk -v series="$series" '
    function flush() {
      if (pkg ~ /^linux-(image|binary)-(unsigned-)?[0-9][^ ]*-cloud-amd64(-unsigned)?$/ &&
          index(ver, series ".") == 1)
        print pkg, ver, isz + 0, sha, size + 0
      pkg = ver = sha = ""; isz = size = 0
    }
    /^Package: /        { pkg = $2 }
    /^Version: /        { ver = $2 }
    /^Installed-Size: / { isz = $2 }
    /^SHA256: /         { sha = $2 }
    /^Size: /           { size = $2 }
    /^$/                { flush() }
    END                 { flush() }'
}

# Kernel release from a package name.
release_of() {
  local r=$1
  r=${r#linux-image-}; r=${r#linux-binary-unsigned-}; r=${r#linux-binary-}; r=${r%-unsigned}
  echo "$r"
}

manifest_get() { # FILE KEY
  sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n1
}

declare -A STATUS=()
FAILED=0
TOTAL_BYTES=0

fetch_series() {
  local series=$1 dir="$CACHE/$1" suites suite="" lines="" newest
  mkdir -p "$dir"
  local man="$dir/manifest"
  suites=$(suites_for "$series")

  local offline=0
  [[ $ONLINE == 1 ]] || offline=1
  for s in $suites; do [[ -n ${SUITE_FAILED[$s]:-} ]] && offline=1; done
  if [[ $offline == 1 ]]; then
    if [[ -s $man && -s $(manifest_vmlinuz "$man") ]]; then
      STATUS[$series]="cached (offline)"
      log "$series: offline, using cached $(manifest_get "$man" package) $(manifest_get "$man" version)"
      return 0
    fi
    warn "$series: no cached kernel, and the archive's index of suite(s) $suites could not be read (see above)"
    STATUS[$series]="MISSING"; FAILED=1; return 0
  fi

  for s in $suites; do
    lines=$(candidates "$series" "$s")
    if [[ -n $lines ]]; then suite=$s; break; fi
  done
  if [[ -z $suite ]]; then
    warn "series $series: no linux-image-$series.*-cloud-amd64 / linux-binary-$series.*-cloud-amd64 package in suite(s): $suites (mirror $MIRROR)"
    if [[ -s $man && -s $(manifest_vmlinuz "$man") ]]; then
      warn "series $series: keeping the cached $(manifest_get "$man" package) $(manifest_get "$man" version), which the archive no longer offers"
    fi
    STATUS[$series]="UNAVAILABLE"; FAILED=1; return 0
  fi

  # Newest version in that suite.
  newest=""
  while read -r _ ver _ _ _; do
    if [[ -z $newest ]] || dpkg --compare-versions "$ver" gt "$newest"; then newest=$ver; fi
  done <<<"$lines"

  # Which package of that version holds /boot/vmlinuz: prefer the signed image
  # (linux-binary-REL, or the old single linux-image-REL), then the unsigned ones.
  # Metapackages (a few kB installed) are skipped.
  local ordered
  ordered=$(awk -v v="$newest" '$2 == v && $3 >= 4096 {
      rank = 9
      if ($1 ~ /^linux-binary-unsigned-/) rank = 3
      else if ($1 ~ /^linux-binary-/) rank = 1
      else if ($1 ~ /-unsigned$/) rank = 4
      else if ($1 ~ /^linux-image-/) rank = 2
      print rank, $0 }' <<<"$lines" | sort -n -k1,1 -k2,2 | cut -d' ' -f2-)
  if [[ -z $ordered ]]; then
    warn "series $series: version $newest in $suite has no package that holds a kernel image"
    STATUS[$series]="UNAVAILABLE"; FAILED=1; return 0
  fi

  # Already cached?
  if [[ -s $man && $(manifest_get "$man" version) == "$newest" ]] &&
     grep -qxF "$(manifest_get "$man" package)" <(cut -d' ' -f1 <<<"$ordered") &&
     [[ -s $(manifest_vmlinuz "$man") ]]; then
    STATUS[$series]="cached"
    log "$series: $(manifest_get "$man" package) $newest from $suite is cached"
    return 0
  fi

  local tmp pkg ver sha size vml rel got=""
  tmp=$(mktemp -d "$CACHE/.tmp.XXXXXX")
  while read -r pkg ver _ sha size; do
    log "$series: downloading $pkg $ver from $suite ($((size / 1024 / 1024)) MiB)"
    rm -rf "${tmp:?}"/*
    if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" -q download "$pkg=$ver" >"$tmp/download.log" 2>&1); then
      warn "$series: apt-get download $pkg=$ver failed:"; sed 's/^/    /' "$tmp/download.log" >&2
      continue
    fi
    local deb
    deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n1 || true)
    [[ -n $deb ]] || { warn "$series: no .deb after apt-get download $pkg"; continue; }
    # The image is /boot/vmlinuz-REL (up to 7.2) or /usr/lib/modules/REL/vmlinuz
    # (newer packaging). Only that file is extracted; tar complains about the
    # pattern that matches nothing, which is expected.
    mkdir -p "$tmp/x"
    dpkg-deb --fsys-tarfile "$deb" |
      tar -x -C "$tmp/x" --wildcards './boot/vmlinuz-*' './usr/lib/modules/*/vmlinuz' 2>/dev/null || true
    vml=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
    if [[ -n $vml && -s $vml ]]; then
      rel=${vml##*/vmlinuz-}
    else
      vml=$(ls "$tmp"/x/usr/lib/modules/*/vmlinuz 2>/dev/null | head -n1 || true)
      if [[ -z $vml || ! -s $vml ]]; then
        log "$series: $pkg holds neither /boot/vmlinuz-* nor /usr/lib/modules/*/vmlinuz, trying the next package"
        continue
      fi
      rel=${vml%/vmlinuz}; rel=${rel##*/}
    fi
    [[ $rel == "$(release_of "$pkg")" ]] || log "$series: note: image release $rel differs from the package name's $(release_of "$pkg")"
    local vsha dsize
    vsha=$(sha256sum "$vml" | cut -d' ' -f1)
    dsize=$(stat -c %s "$deb")
    TOTAL_BYTES=$((TOTAL_BYTES + dsize))
    # Replace the series' cache entry atomically-ish: image first, then manifest.
    find "$dir" -maxdepth 1 -name 'vmlinuz-*' ! -name "vmlinuz-$rel" -delete
    mv -f "$vml" "$dir/vmlinuz-$rel"
    {
      echo "series=$series"
      echo "suite=$suite"
      echo "package=$pkg"
      echo "version=$ver"
      echo "release=$rel"
      echo "vmlinuz=$dir/vmlinuz-$rel"
      echo "vmlinuz_sha256=$vsha"
      echo "deb_sha256=$sha"
      echo "deb_bytes=$dsize"
      echo "fetched=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      echo "mirror=$MIRROR"
    } >"$man.new"
    mv -f "$man.new" "$man"
    got=1
    STATUS[$series]="downloaded $((dsize / 1024 / 1024)) MiB"
    log "$series: cached $pkg $ver (kernel $rel)"
    break
  done <<<"$ordered"
  rm -rf "$tmp"
  if [[ -z $got ]]; then
    if [[ -s $man && -s $(manifest_vmlinuz "$man") ]]; then
      warn "$series: download of $newest failed; using the cached $(manifest_get "$man" package) $(manifest_get "$man" version)"
      STATUS[$series]="cached (download failed)"
    else
      warn "$series: could not obtain a kernel image for $newest from $suite"
      STATUS[$series]="FAILED"; FAILED=1
    fi
  fi
}

# The image named by a manifest; falls back to the manifest's own directory when
# the cache was moved.
manifest_vmlinuz() {
  local man=$1 p
  p=$(manifest_get "$man" vmlinuz)
  [[ -z $p ]] && return 0
  if [[ -s $p ]]; then echo "$p"; else echo "$(dirname "$man")/$(basename "$p")"; fi
}

for s in "${SERIES[@]}"; do fetch_series "$s"; done

# Summary: one line per series.
for s in "${SERIES[@]}"; do
  man="$CACHE/$s/manifest"
  if [[ -s $man && ${STATUS[$s]} != MISSING && ${STATUS[$s]} != UNAVAILABLE && ${STATUS[$s]} != FAILED ]]; then
    printf '%-5s %-18s %-48s %-22s %s\n' "$s" "$(manifest_get "$man" suite)" "$(manifest_get "$man" package)" \
      "$(manifest_get "$man" version)" "${STATUS[$s]}"
  else
    printf '%-5s %-18s %-48s %-22s %s\n' "$s" "-" "-" "-" "${STATUS[$s]}"
  fi
done
[[ $TOTAL_BYTES -gt 0 ]] && log "downloaded $((TOTAL_BYTES / 1024 / 1024)) MiB in total"
exit "$FAILED"
