#!/usr/bin/env bash
# On the GPU machine (no LLVM needed): builds the qat CUDA runtime from source
# and links an artifact of scripts/gpu/compile.py into a shared library.
# usage: scripts/gpu/link.sh ARTIFACT_DIR      -> ARTIFACT_DIR/module.so
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$1
rt=${QAT_RUNTIME_BUILD:-/tmp/qat-runtime}
if [ ! -f "$rt/lib/libqat_cuda_runtime.so" ]; then
  cmake -S "$root/lib/Runtime/CUDA" -B "$rt" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$rt" >/dev/null
fi
g++ -shared -o "$dir/module.so" "$dir/module.o" -L"$rt/lib" -lqat_cuda_runtime \
  -Wl,-rpath,"$rt/lib"
echo "$dir/module.so"
