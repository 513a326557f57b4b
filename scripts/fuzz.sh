#!/usr/bin/env bash
# Builds the libFuzzer target qat-fuzz with clang-22 in a build of its own and
# runs it (docs/reliability.md).
# Usage: scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#   SECONDS: how long to fuzz (default 60; 0 only replays the corpus).
# Environment: QAT_FUZZ_BUILD_DIR (default: build-fuzz), QAT_JOBS,
#   QAT_FUZZ_CORPUS (default: $QAT_FUZZ_BUILD_DIR/corpus, kept between runs),
#   QAT_FUZZ_ARTIFACTS (default: $QAT_FUZZ_BUILD_DIR/artifacts: crashing
#   inputs land here as crash-*, timeout-*, oom-*).
# Exit status: 0 when the run found nothing; libFuzzer's (non-zero) when it
# found a crash, a sanitizer report, a timeout or an out-of-memory input.
# Needs clang-22 and libclang-rt-22-dev; without them it says so and exits 77.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QAT_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-60}
shift || true

clang=$(command -v clang++-22 || true)
if [ -z "$clang" ] || ! ls /usr/lib/llvm-22/lib/clang/*/lib/linux/libclang_rt.fuzzer*.a \
    >/dev/null 2>&1; then
  echo "qat-fuzz: needs clang-22 and libclang-rt-22-dev (libFuzzer); skipped" >&2
  exit 77
fi

if [ ! -f "$build/build.ninja" ]; then
  # -O1: the fuzz build compiles all of qat's compiler libraries again, and
  # at -O1 that takes about half as long as the -O3 of the main build.
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DQAT_ENABLE_FUZZER=ON -DQAT_ENABLE_PYTHON=OFF >/dev/null
fi
# Only the target and what it links: the compiler libraries, no runner,
# runtime, C API or Python extension.
ninja -C "$build" -j "${QAT_JOBS:-$(nproc)}" qat-fuzz

# Seeds: every IR file of the tests and examples, split where lit splits it
# (// -----), so that each seed is one module that parses.
corpus=${QAT_FUZZ_CORPUS:-$build/corpus}
seeds=$build/seeds
artifacts=${QAT_FUZZ_ARTIFACTS:-$build/artifacts}
mkdir -p "$corpus" "$artifacts"
rm -rf "$seeds"
mkdir -p "$seeds"
/usr/bin/python3 - "$root" "$seeds" <<'PY'
import pathlib, re, sys
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
for path in sorted([*(root / "test").rglob("*.mlir"), *(root / "examples").rglob("*.mlir")]):
    for i, part in enumerate(re.split(r"^// -----\s*$", path.read_text(errors="replace"), flags=re.M)):
        if part.strip():
            name = str(path.relative_to(root)).replace("/", "_")
            (out / f"{name}.{i}").write_text(part)
            n += 1
print(f"qat-fuzz: {n} seeds from test/ and examples/")
PY

# -timeout: an input that takes longer is reported as a hang (the slowest
# seeds, whole training steps through qat-to-nvptx, take about a second);
# -rss_limit_mb: a bound on memory, as CI machines have little; max_len:
# the largest seeds are examples of about 20 KB.
# (AddressSanitizer's options are the target's own defaults, see
# __asan_default_options in qat-fuzz.cpp; ASAN_OPTIONS overrides them.)
# Every run first replays the inputs of earlier findings (tools/qat-fuzz/
# findings/), so that the smoke run in CI is their regression test.
findings=$root/tools/qat-fuzz/findings
args=(-dict="$root/tools/qat-fuzz/qat.dict" -timeout=30 -rss_limit_mb=4096
      -max_len=65536 -artifact_prefix="$artifacts/" -print_final_stats=1)
if [ "$seconds" = 0 ]; then
  exec "$build/bin/qat-fuzz" "${args[@]}" -runs=0 "$@" "$corpus" "$seeds" "$findings"
fi
exec "$build/bin/qat-fuzz" "${args[@]}" -max_total_time="$seconds" "$@" \
  "$corpus" "$seeds" "$findings"
