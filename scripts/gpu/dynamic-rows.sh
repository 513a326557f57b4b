#!/usr/bin/env bash
# Dynamic rows (one artifact for every batch and sequence length) on the GPU,
# in one go:
#  1. the dynamic-rows numerical cases (test/Integration/cases.py,
#     dynamic_row_cases: QuEST/StableQAT row kernels and qat.matmul compiled
#     once with `?` rows, run at 1, 7, 37, 130 and 300 rows) against numpy;
#  2. the row kernels and qat.matmul s8 of benchmarks/qat_kernels.py compiled
#     with static rows and with dynamic rows, timed side by side with a
#     bitwise comparison of their outputs (profile_rows.py prints each
#     dynamic/static time ratio, the largest and their geometric mean);
#  3. the host overhead of QATLinear's QuEST forward from PyTorch
#     (benchmarks/host_overhead.py --api torch --device cuda), with the
#     dynamic-rows artifact QATLinear uses and a static one beside it.
#
# usage: scripts/gpu/dynamic-rows.sh prepare [CARRY]   here (qat-opt, LLVM)
#        scripts/gpu/dynamic-rows.sh [CARRY]           on the GPU machine
# CARRY defaults to .device-carry/dyn; results also go to $OUT when set;
# $PYTHON is the interpreter with numpy (and torch on the GPU machine).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chip=${QAT_CHIP:-sm_90a}
py=${PYTHON:-python3}
shapes=2048x2048,4096x11008

if [ "${1:-}" = prepare ]; then
  set -e
  carry=${2:-$root/.device-carry/dyn}
  rm -rf "$carry" && mkdir -p "$carry"
  "$py" "$root/test/Integration/run_cases.py" compile --target=cuda --chip "$chip" \
    --filter '^dynamic_' --out "$carry/cases"
  for variant in static dynamic; do
    flag=""
    [ $variant = dynamic ] && flag=--dynamic
    "$py" "$root/benchmarks/qat_kernels.py" "$carry/bench-$variant.mlir" --shapes $shapes $flag
    "$py" "$root/scripts/gpu/compile.py" "$carry/bench-$variant.mlir" \
      "$carry/bench-$variant" --chip "$chip"
  done
  for rows in dynamic static; do
    QAT_TORCH_ARTIFACTS="$carry/torch" "$py" "$root/benchmarks/host_overhead.py" \
      --api torch --compile-only --chip sm_90 --rows $rows
  done
  # Only module.o and the manifests travel.
  find "$carry" \( -name module.ll -o -name module.llvm.mlir -o -name '*.mlir' \) -delete
  du -sh "$carry"
  exit 0
fi

carry=$(cd "${1:-$root/.device-carry/dyn}" && pwd)
out=${OUT:-$(mktemp -d)}
status=0
"$py" "$root/test/Integration/run_cases.py" check --artifacts "$carry/cases" \
  | tee "$out/dynamic-cases.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
(cd "$root/benchmarks" &&
 "$py" profile_rows.py static="$carry/bench-static" dynamic="$carry/bench-dynamic" \
   --matmul --filter '^(quest|questr|stable)_|^matmul_s8_4096x4096x11008$' \
   --json "$out/dynamic-rows.json") | tee "$out/dynamic-rows.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# Both artifacts in the same session: the dynamic one's overhead is only
# comparable with a static one measured on the same machine.
for rows in dynamic static; do
  QAT_TORCH_ARTIFACTS="$carry/torch" "$py" "$root/benchmarks/host_overhead.py" \
    --api torch --device cuda --rows $rows | tee -a "$out/host-overhead.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
exit $status
