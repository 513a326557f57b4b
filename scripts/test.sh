#!/usr/bin/env bash
# Builds qat and runs its whole test suite (lit: dialect, conversions,
# pipelines, tools, numerical tests against numpy). Installs what is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" check-qat
