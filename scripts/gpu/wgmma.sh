#!/usr/bin/env bash
# The wgmma qat.matmul kernel (sm_90a) on the GPU machine, in one go.
#
#   scripts/gpu/wgmma.sh prepare [DIR]   here: compile into DIR (default
#                                        .device-carry/wgmma)
#   scripts/gpu/wgmma.sh run [DIR]       there: the qat.matmul numerical cases
#                                        compiled for sm_90a, then, only if all
#                                        pass, the benchmark of wgmma (sm_90a)
#                                        against mma.sync (sm_90), cuBLAS bf16
#                                        and torch._int_mm
#
# CHECK_ONLY=1 skips the benchmark. Logs and JSON go to $OUT (or DIR).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${1:?usage: wgmma.sh prepare|run [DIR]}
dir=$(realpath -m "${2:-$root/.device-carry/wgmma}")
py=${PYTHON:-python3}
case $mode in
prepare)
  rm -rf "$dir" && mkdir -p "$dir"
  "$py" "$root/test/Integration/run_cases.py" compile --target=cuda --chip sm_90a \
    --filter matmul --out "$dir/cases"
  "$py" "$root/benchmarks/qat_kernels.py" "$dir/bench.mlir" --matmul-only
  "$py" "$root/scripts/gpu/compile.py" "$dir/bench.mlir" "$dir/wgmma" --chip sm_90a
  "$py" "$root/scripts/gpu/compile.py" "$dir/bench.mlir" "$dir/mmasync" --chip sm_90
  rm -f "$dir"/*/module.ll "$dir"/*/module.llvm.mlir
  du -sh "$dir"
  ;;
run)
  out=${OUT:-$dir}
  export PYTHONUNBUFFERED=1
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  timeout 60 "$py" "$root/test/Integration/run_cases.py" check \
    --artifacts "$dir/cases" 2>&1 | tee "$out/cases.log"
  [ "${CHECK_ONLY:-0}" = 1 ] && exit 0
  cd "$root/benchmarks"
  timeout 75 "$py" matmul_gpu.py --artifacts "wgmma=$dir/wgmma" \
    --artifacts "mma_sync=$dir/mmasync" --json "$out/matmul.json" 2>&1 \
    | tee "$out/bench.log"
  ;;
*)
  echo "usage: wgmma.sh prepare|run [DIR]" >&2
  exit 2
  ;;
esac
