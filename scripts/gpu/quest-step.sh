#!/usr/bin/env bash
# The whole compiled QuEST training step at 4096 x 2048 -> 4096 (issue 16)
# against PyTorch's bf16 step of the plain linear layer, in one go:
# benchmarks/quest_step_gpu.py checks the step against its float64 reference
# on the GPU, then times it beside PyTorch (eager and torch.compile, pure bf16
# and autocast with f32 master weights).
#
# usage: scripts/gpu/quest-step.sh prepare [CARRY]   here (qat-opt, LLVM)
#        scripts/gpu/quest-step.sh [CARRY] [ARGS...]  on the GPU machine
# CARRY defaults to .device-carry/step; ARGS go to quest_step_gpu.py run (for
# example --no-compile); results also go to $OUT when set; $PYTHON is the
# interpreter with numpy (and torch on the GPU machine); QAT_CHIP (default
# sm_90a) the chip compiled for.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chip=${QAT_CHIP:-sm_90a}
py=${PYTHON:-python3}

if [ "${1:-}" = prepare ]; then
  set -e
  carry=${2:-$root/.device-carry/step}
  rm -rf "$carry" && mkdir -p "$carry"
  # quest_step_gpu.py's FORMS: the element type of y and the target, the codes.
  for form in "f32 s8" "bf16 s8" "bf16 packed"; do
    read -r o codes <<<"$form"
    dir=${o}y; [ "$codes" = packed ] && dir=$dir-packed   # form_dir()
    "$py" "$root/benchmarks/quest_step_gpu.py" emit "$carry/$dir.mlir" --output-type $o \
      --codes $codes
    "$py" "$root/scripts/gpu/compile.py" "$carry/$dir.mlir" "$carry/$dir" --chip "$chip"
  done
  # Only module.o and the manifests travel.
  find "$carry" \( -name module.ll -o -name module.llvm.mlir -o -name '*.mlir' \) -delete
  du -sh "$carry"
  exit 0
fi

carry=$(cd "${1:-$root/.device-carry/step}" && pwd)
shift || true
out=${OUT:-$(mktemp -d)}
cd "$root/benchmarks" &&
  "$py" quest_step_gpu.py run --artifacts "$carry" --json "$out/quest-step.json" "$@" \
  | tee "$out/quest-step.txt"
exit "${PIPESTATUS[0]}"
