#!/usr/bin/env bash
# The main job on its default example: verify and canonicalize the QuEST
# linear-layer training step and print it. Installs and builds what is missing.
# Usage: scripts/run.sh [example.mlir] [extra qat-opt flags...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" qat-opt >&2
example=${1:-$root/examples/quest_linear.mlir}
shift || true
"$build/bin/qat-opt" --canonicalize "$example" "$@"
