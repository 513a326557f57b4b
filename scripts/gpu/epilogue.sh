#!/usr/bin/env bash
# Contraction epilogues (elementwise consumers fused into the float
# contraction kernel, docs/gpu.md) on the GPU, in one go:
#  1. the epilogue numerical cases (test/Integration/cases.py,
#     epilogue_cases: bias + GELU, scale/scalar/mask, a batch with a second
#     matrix and ReLU, bias + tanh on the large tile; odd shapes) and the
#     plain contraction cases against numpy;
#  2. benchmarks/epilogue_gpu.py: gelu(x w^T + b) -> bf16 at M = 4096 with the
#     epilogue fused and with fuse-epilogues=0, beside PyTorch bf16.
#
# usage: scripts/gpu/epilogue.sh prepare [CARRY]   here (qat-opt, LLVM)
#        scripts/gpu/epilogue.sh [CARRY]           on the GPU machine
# CARRY defaults to .device-carry/epi; results also go to $OUT when set;
# $PYTHON is the interpreter with numpy (and torch on the GPU machine).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chip=${QAT_CHIP:-sm_90a}
py=${PYTHON:-python3}

if [ "${1:-}" = prepare ]; then
  set -e
  carry=${2:-$root/.device-carry/epi}
  rm -rf "$carry" && mkdir -p "$carry"
  "$py" "$root/test/Integration/run_cases.py" compile --target=cuda --chip "$chip" \
    --filter '^(epilogue|contraction)_' --out "$carry/cases"
  "$py" "$root/benchmarks/epilogue_gpu.py" emit "$carry/bench.mlir"
  "$py" "$root/scripts/gpu/compile.py" "$carry/bench.mlir" "$carry/fused" --chip "$chip"
  "$py" "$root/scripts/gpu/compile.py" "$carry/bench.mlir" "$carry/unfused" --chip "$chip" \
    --pipeline-options "fuse-epilogues=0"
  # Only module.o and the manifests travel.
  find "$carry" \( -name module.ll -o -name module.llvm.mlir -o -name '*.mlir' \) -delete
  du -sh "$carry"
  exit 0
fi

carry=$(cd "${1:-$root/.device-carry/epi}" && pwd)
out=${OUT:-$(mktemp -d)}
status=0
"$py" "$root/test/Integration/run_cases.py" check --artifacts "$carry/cases" \
  | tee "$out/epilogue-cases.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
(cd "$root/benchmarks" &&
 "$py" epilogue_gpu.py run --fused "$carry/fused" --unfused "$carry/unfused" \
   --json "$out/epilogue.json") | tee "$out/epilogue.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
