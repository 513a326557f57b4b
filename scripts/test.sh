#!/usr/bin/env bash
# Builds qat and runs its whole test suite (lit: dialect, conversions,
# pipelines, tools, numerical tests against numpy). Installs what is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_BUILD_DIR:-$root/build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

set +e
"$root/scripts/setup.sh" check-qat 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line that any CI reader understands.
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *Failed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
skipped=$(sed -n 's/^ *Unsupported *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
echo "qat: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
