#!/usr/bin/env bash
# QATLinear on the GPU, in one go: the layers' correctness against the
# independent float64 reference (examples/torch/check_layers.py, every case,
# with compiled GEMMs and with dynamic rows), then one layer's forward +
# backward next to PyTorch's bf16 layer (examples/torch/layer_bench.py: QuEST
# W4A4 8192x2048 -> 4096 and four shapes of benchmarks/contraction_gpu.py,
# torch.compile'd bf16 at the first), JSON in $OUT.
#
# usage: scripts/gpu/linear.sh prepare [CARRY]     here (qat-opt, LLVM)
#        scripts/gpu/linear.sh [CARRY] [-- ARGS]   on the GPU machine (ARGS go
#                                                  to layer_bench.py)
# CARRY defaults to .device-carry/linear; QAT_CHIP (default sm_90a) is the
# chip prepare compiles for; results go to $OUT when set; SEED replays
# check_layers.py's random data; TORCH_COMPILE=0 leaves torch.compile out;
# $PYTHON is the interpreter with torch on the GPU machine.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chip=${QAT_CHIP:-sm_90a}
py=${PYTHON:-python3}

if [ "${1:-}" = prepare ]; then
  set -e
  carry=${2:-$root/.device-carry/linear}
  rm -rf "$carry" && mkdir -p "$carry"
  # check_layers.py's cases and layer_bench.py's shapes, static and dynamic rows.
  QAT_TORCH_ARTIFACTS="$carry/torch" "$py" "$root/examples/torch/build.py" \
    --chip "$chip" --models ''
  du -sh "$carry"
  exit 0
fi

carry=$root/.device-carry/linear
if [ $# -gt 0 ] && [ "$1" != -- ]; then carry=$1; shift; fi
[ "${1:-}" = -- ] && shift
carry=$(cd "$carry" && pwd) || exit 1
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
export QAT_TORCH_ARTIFACTS="$carry/torch"
status=0
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "check_layers.py --seed $seed (SEED=$seed replays it)" | tee "$out/linear-check.txt"
"$py" "$root/examples/torch/check_layers.py" --dynamic-rows --seed "$seed" \
  | tee -a "$out/linear-check.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
compile=--compile
[ "${TORCH_COMPILE:-1}" = 0 ] && compile=
"$py" "$root/examples/torch/layer_bench.py" $compile --json "$out/linear.json" "$@" \
  | tee "$out/linear.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
exit $status
