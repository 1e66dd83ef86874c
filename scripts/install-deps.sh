#!/usr/bin/env bash
# Installs what pidlab needs on a Debian 12 machine (idempotent; needs root or sudo).
set -euo pipefail
PACKAGES=(
  build-essential cmake g++ clang libclang-rt-14-dev
  nlohmann-json3-dev libsimdjson-dev libboost-graph-dev librapidcheck-dev libgtest-dev libgmock-dev
  libcli11-dev libfmt-dev libxxhash-dev libabsl-dev libbenchmark-dev libcap-dev
  qemu-system-x86 cpio zstd spin graphviz
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
