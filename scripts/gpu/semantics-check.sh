#!/usr/bin/env bash
# On the GPU machine (no LLVM needed), in one go: every numerical case of
# test/Integration (cases.py and special_cases.py: NaN/Inf/zero/subnormal
# policy, clip<k>) checked on the GPU against the numpy reference, then the
# row kernels of benchmarks/qat_kernels.py before and after a change, timed
# side by side with a bitwise comparison of their outputs (profile_rows.py).
#
# Artifacts, compiled beforehand on a machine with LLVM (see
# docs/semantics.md, "Checking on the GPU"):
#   CARRY/cases         run_cases.py compile --target=cuda --out CARRY/cases
#   CARRY/bench-before  compile.py of qat_kernels.py with the old qat-opt
#   CARRY/bench-after   compile.py of qat_kernels.py with the new qat-opt
# usage: scripts/gpu/semantics-check.sh [CARRY (default .device-carry)]
# Results also go to $OUT (cases.txt, rows.txt, rows.json) when it is set.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
carry=$(cd "${1:-$root/.device-carry}" && pwd)
out=${OUT:-$(mktemp -d)}
status=0
python3 "$root/test/Integration/run_cases.py" check --artifacts "$carry/cases" \
  | tee "$out/cases.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
if [ -d "$carry/bench-before" ] && [ -d "$carry/bench-after" ]; then
  (cd "$root/benchmarks" &&
   python3 profile_rows.py before="$carry/bench-before" after="$carry/bench-after" \
     --json "$out/rows.json") | tee "$out/rows.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
exit $status
