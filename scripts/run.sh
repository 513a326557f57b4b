#!/usr/bin/env bash
# The main job: train the small decoder-only transformer of
# examples/transformer (2 layers, 4 heads, character-level, on
# Genesis and Exodus of the King James Bible) from its float graph with every
# QAT method: qat-quantize, qat-differentiate and qat-training-step make each
# method's training step, qat-to-cpu compiles it. Prints progress, a table of
# methods (validation loss, perplexity, against float), writes the loss
# curves (PNG), the trained and packed weights, and samples text. Installs
# and builds what is missing. See docs/training.md.
#
# Usage: scripts/run.sh [--methods M1,M2|all] [--steps N] [--full] [--lr LR]
#                       [--seed N] [--jobs N] [--out-dir DIR]
#                       [--target cpu|cuda]
#   methods: float, quest_w4a4, stableqat_w2, stableqat_w3, stableqat_w4,
#            ste_w4a4 (default: all)
#   default: the committed model (2 layers, d_model 64, batch 8 x context
#            32), 250 steps per method, 2 methods at a time: minutes
#   --full:  d_model 128, batch 16 x context 64, 300 steps (over an hour
#            on 2 cores today); --steps N sets the steps of either
#   --out-dir: default build/transformer-run
#   --target cuda: compile with qat-to-nvptx and run on the GPU (a machine
#            with the CUDA driver and this build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_BUILD_DIR:-$root/build}

args=() out=$build/transformer-run
while [ $# -gt 0 ]; do
  case "$1" in
    --out-dir) out=$2; shift 2 ;;
    --out-dir=*) out=${1#*=}; shift ;;
    --full) args+=("$1"); shift ;;
    --methods|--steps|--lr|--seed|--target|--log-every|--eval-every|--prompt|--jobs|--sample-chars|--opt-level)
      [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    --methods=*|--steps=*|--lr=*|--seed=*|--target=*|--log-every=*|--eval-every=*|--prompt=*|--jobs=*|--sample-chars=*|--opt-level=*)
      args+=("$1"); shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh" qat-opt QATPython >&2

PYTHONPATH=$build/python-packages${PYTHONPATH:+:$PYTHONPATH} \
  exec /usr/bin/python3 "$root/examples/transformer/train.py" \
  --out-dir "$out" "${args[@]}"
