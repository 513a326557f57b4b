#!/usr/bin/env bash
# Host overhead of a qat call from PyTorch on the GPU, before and after a
# change to the CUDA runtime or the Python call path, in one go:
#  1. the CUDA runtime built from this tree and from the `before` tree
#     (lib/Runtime/CUDA, include/qat/Runtime, python-bindings/qat,
#     benchmarks/host_overhead.py and scripts/gpu of another commit, default
#     main, taken with git archive by `prepare`);
#  2. this tree's runtime and Python package checked first: the dynamic-rows
#     numerical cases (compiled.py, the runtime's synchronous mode) and
#     examples/torch/check_layers.py --small (QATLinear, its asynchronous
#     mode and the results handed to torch);
#  3. benchmarks/host_overhead.py --api torch --device cuda for the dynamic-
#     rows artifact (QATLinear(dynamic_rows=True)) and a static one: `before`, this tree with
#     the results wrapped as before (QAT_TORCH_WRAP=cai), and this tree;
#     each variant links its own copy of the artifacts with its own runtime.
#
# usage: scripts/gpu/host-overhead.sh prepare [CARRY] [BEFORE]   here (qat-opt, LLVM)
#        scripts/gpu/host-overhead.sh [CARRY]                    on the GPU machine
# CARRY defaults to .device-carry/host, BEFORE to where this branch left
# main (git merge-base HEAD main); results also go to
# $OUT when set; $PYTHON is the interpreter with numpy (and torch there).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py=${PYTHON:-python3}

if [ "${1:-}" = prepare ]; then
  set -e
  carry=${2:-$root/.device-carry/host}
  before=${3:-$(git -C "$root" merge-base HEAD main)}
  rm -rf "$carry" && mkdir -p "$carry/before"
  git -C "$root" archive "$before" lib/Runtime/CUDA include/qat/Runtime python-bindings/qat \
    benchmarks/host_overhead.py scripts/gpu | tar -x -C "$carry/before"
  git -C "$root" rev-parse "$before" > "$carry/before/COMMIT"
  "$py" "$root/test/Integration/run_cases.py" compile --target=cuda --chip sm_90a \
    --filter '^dynamic_' --out "$carry/cases"
  for rows in dynamic static; do
    QAT_TORCH_ARTIFACTS="$carry/torch" "$py" "$root/benchmarks/host_overhead.py" \
      --api torch --compile-only --chip sm_90 --rows $rows
  done
  # The layers of check_layers.py --small (static rows, QATLinear's default).
  QAT_TORCH_ARTIFACTS="$carry/check" "$py" - "$root" <<'EOF'
import sys
root = sys.argv[1]
sys.path[:0] = [root + "/examples/torch", root + "/python-bindings/qat"]
import shapes, torch_mlir
for method, bits, m, n, k, packed in shapes.CHECK_CASES:
    if m * n * k <= 2 ** 28:
        name, text = torch_mlir.layer_artifact(method, bits, m, n, k, packed=packed)
        torch_mlir.compile_artifact(torch_mlir.artifacts_dir() / name, text, "gpu", "sm_90a")
EOF
  # Only module.o and the manifests travel.
  find "$carry" \( -name module.ll -o -name module.llvm.mlir -o -name module.so \
    -o -name '*.mlir' \) -delete
  du -sh "$carry"
  exit 0
fi

carry=$(cd "${1:-$root/.device-carry/host}" && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
work=$(mktemp -d /tmp/qat-host.XXXX)
status=0
for variant in before after; do
  tree=$root
  [ $variant = before ] && tree=$carry/before
  cmake -S "$tree/lib/Runtime/CUDA" -B "$work/$variant/runtime" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$work/$variant/runtime" -j 8 >/dev/null || {
      echo "host-overhead.sh: the $variant runtime did not build" >&2; exit 1; }
done
export QAT_RUNTIME_BUILD=$work/after/runtime

cp -r "$carry/cases" "$work/cases"
"$py" "$root/test/Integration/run_cases.py" check --artifacts "$work/cases" \
  | tail -3 | tee "$out/host-cases.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
cp -r "$carry/check" "$work/check"
QAT_TORCH_ARTIFACTS=$work/check "$py" "$root/examples/torch/check_layers.py" \
  --device cuda --small | tail -3 | tee "$out/host-check-layers.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

for rows in dynamic static; do
  for variant in before after-cai after; do
    tree=$root wrap=dlpack runtime=$work/after/runtime
    case $variant in
      before) tree=$carry/before runtime=$work/before/runtime ;;
      after-cai) wrap=cai ;;
    esac
    rm -rf "$work/torch" && cp -r "$carry/torch" "$work/torch"
    echo "== $variant, $rows rows" | tee -a "$out/host-overhead.txt"
    QAT_RUNTIME_BUILD=$runtime QAT_TORCH_WRAP=$wrap QAT_TORCH_ARTIFACTS=$work/torch \
      "$py" "$tree/benchmarks/host_overhead.py" --api torch --device cuda --rows $rows \
      --rounds 5 --calls 1000 | tee -a "$out/host-overhead.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  done
done
rm -rf "$work"
exit $status
