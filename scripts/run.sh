#!/usr/bin/env bash
# The main job: train the small decoder-only transformer of
# examples/transformer (2 layers, 4 heads, character-level, on
# Genesis and Exodus of the King James Bible) from its float graph with every
# QAT method: qat-quantize, qat-differentiate and qat-training-step make each
# method's training step, qat-to-cpu (qat-to-nvptx) compiles it. Prints
# progress, a table of methods (validation loss, perplexity, against float),
# writes the loss curves (PNG), the trained and packed weights, and samples
# text. Installs and builds what is missing. See docs/training.md.
#
# Usage: scripts/run.sh [--methods M1,M2|all] [--steps N] [--full] [--lr LR]
#                       [--seed N] [--jobs N] [--out-dir DIR]
#                       [--target cpu|cuda] [--compile-only DIR [--chip C]]
#                       [--artifacts DIR]
#   methods: float, quest_w4a4, stableqat_w2, stableqat_w3, stableqat_w4,
#            ste_w4a4 (default: all); also other bit widths (quest_w3a3,
#            stableqat_w2, ste_w2) and the float formats mxfp4_w4a4,
#            nvfp4_w4a4, fp8_w8a8
#   default: the committed model (2 layers, d_model 64, batch 8 x context
#            32), 250 steps per method, 2 methods at a time: minutes
#   --full:  d_model 128, batch 16 x context 64, 300 steps (over an hour
#            on 2 cores today); --steps N sets the steps of either
#   --out-dir: default build/transformer-run
#   --target cuda: the same run on a GPU, every function compiled by
#            qat-to-nvptx and run through the qat CUDA runtime; on a
#            machine with both this build (LLVM) and a GPU, JIT-compiled.
#   The split route, for a GPU machine without LLVM (implies --target cuda):
#   --compile-only DIR: here, compile each method's step, forward and
#            sampling functions for --chip (default sm_90a) into DIR; with
#            --full, --methods; no training
#   --artifacts DIR: there, train with DIR's artifacts (its model and
#            methods); needs the CUDA toolkit, g++, numpy and matplotlib, not
#            LLVM or this build (QAT_PYTHON: the python3 to use)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_BUILD_DIR:-$root/build}

args=() out=$build/transformer-run artifacts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out-dir) [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      out=$2; shift 2 ;;
    --out-dir=*) out=${1#*=}; shift ;;
    --full) args+=("$1"); shift ;;
    --artifacts) [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      artifacts=$2; args+=("$1" "$2"); shift 2 ;;
    --artifacts=*) artifacts=${1#*=}; args+=("$1"); shift ;;
    --methods|--steps|--lr|--weight-decay|--seed|--target|--log-every|--eval-every|--prompt|--jobs|--sample-chars|--opt-level|--compile-only|--chip)
      [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    --methods=*|--steps=*|--lr=*|--weight-decay=*|--seed=*|--target=*|--log-every=*|--eval-every=*|--prompt=*|--jobs=*|--sample-chars=*|--opt-level=*|--compile-only=*|--chip=*)
      args+=("$1"); shift ;;
    -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ -n "$artifacts" ]; then
  # The GPU machine: no LLVM, no build; qat.compiled (numpy + ctypes) from
  # the source tree and a python3 with numpy.
  python=${QAT_PYTHON:-}
  if [ -z "$python" ]; then
    for p in python3 /usr/bin/python3; do
      if command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null; then
        python=$p; break
      fi
    done
  fi
  [ -n "$python" ] || { echo "run.sh: --artifacts needs a python3 with numpy (set QAT_PYTHON)" >&2; exit 2; }
  PYTHONPATH=$root/python-bindings${PYTHONPATH:+:$PYTHONPATH} \
    exec "$python" "$root/examples/transformer/train.py" \
    --out-dir "$out" "${args[@]}"
fi

"$root/scripts/setup.sh" qat-opt QATPython >&2

PYTHONPATH=$build/python-packages${PYTHONPATH:+:$PYTHONPATH} \
  exec /usr/bin/python3 "$root/examples/transformer/train.py" \
  --out-dir "$out" "${args[@]}"
