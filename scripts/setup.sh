#!/usr/bin/env bash
# Installs what qat needs on a Debian 12 machine (when missing) and builds it.
# Usage: scripts/setup.sh [ninja targets...]   (default: all)
# Environment: QAT_BUILD_DIR (default: build), QAT_JOBS (default: nproc).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_BUILD_DIR:-$root/build}

packages=(llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
          cmake ninja-build ccache g++ clang-format-22 python3-numpy
          pybind11-dev python3-dev python3-pytest python3-torch
          python3-matplotlib
          clang-22 libclang-rt-22-dev)  # the fuzz target (scripts/fuzz.sh)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "qat: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
ninja -C "$build" -j "${QAT_JOBS:-$(nproc)}" "$@"
