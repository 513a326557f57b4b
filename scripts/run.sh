#!/usr/bin/env bash
# The main job: train the two-layer MLP of examples/mlp/train.mlir (a
# teacher-student task, 300 SGD steps) with a QAT method, compiled by
# qat-run's qat-to-cpu pipeline and JIT-run on the CPU, printing the loss as
# it falls. Installs and builds what is missing. See docs/training.md.
#
# Usage: scripts/run.sh [--method M] [--lr LR] [--seed N]
#   M: quest (default: W4A4, Hadamard 128, rms_gaussian, trust),
#      stableqat_w2 | stableqat_w3 | stableqat_w4 (LSQ step, Fourier),
#      ste (W4A4 absmax, straight-through), fp32 (no quantization),
#      all (every method, then a table of first and last losses).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_BUILD_DIR:-$root/build}

method=quest lr=0.05 seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --method) method=$2; shift 2 ;;
    --method=*) method=${1#*=}; shift ;;
    --lr) lr=$2; shift 2 ;;
    --lr=*) lr=${1#*=}; shift ;;
    --seed) seed=$2; shift 2 ;;
    --seed=*) seed=${1#*=}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

methods=(fp32 quest stableqat_w2 stableqat_w3 stableqat_w4 ste)
if [ "$method" = all ]; then
  chosen=("${methods[@]}")
elif [[ " ${methods[*]} " == *" $method "* ]]; then
  chosen=("$method")
else
  echo "run.sh: unknown method '$method'; choose one of: ${methods[*]} all" >&2
  exit 2
fi

"$root/scripts/setup.sh" qat-run >&2

# Inputs: 1024 Gaussian samples, teacher and student weights with variance
# 1/fan_in (same seed: every method starts from the same student).
train() {
  "$build/bin/qat-run" "$root/examples/mlp/train.mlir" --entry="train_$1" \
    --seed="$seed" --arg=normal --arg=normal:0,0.0884 --arg=normal:0,0.0625 \
    --arg=normal:0,0.0884 --arg=normal:0,0.0625 --arg="const:$lr" \
    --out-dir="$2"
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
summary=()
for m in "${chosen[@]}"; do
  start=$EPOCHREALTIME
  train "$m" "$out/$m" | tee "$out/$m.log"
  seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}')
  first=$(awk '/ loss /{print $NF; exit}' "$out/$m.log")
  last=$(awk '/ loss /{v=$NF} END{print v}' "$out/$m.log")
  summary+=("$(printf '%-14s %10s %10s %8.1f s' "$m" "$first" "$last" "$seconds")")
done
if [ ${#chosen[@]} -gt 1 ]; then
  printf '\n%-14s %10s %10s %10s\n' method "first loss" "last loss" time
  printf '%s\n' "${summary[@]}"
fi
