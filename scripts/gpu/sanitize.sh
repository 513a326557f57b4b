#!/usr/bin/env bash
# compute-sanitizer (memcheck, racecheck, synccheck, initcheck) over every kind
# of kernel qat-to-nvptx generates: the row kernels of every layout (each op,
# quantizer, estimator, bits 1..8, packed codes, bf16, odd shapes, zero rows,
# QuEST/StableQAT chains, Hadamard blocks across warps, dynamic rows), the
# whole-tensor reductions, the float contractions on mma.sync, qat.matmul
# with and without packed codes (tails of M, N and K), and the linalg glue of
# whole training steps (losses, gradients, SGD updates). docs/reliability.md has the results.
#
# Two halves, because the GPU machine has no LLVM:
#   scripts/gpu/sanitize.sh compile [DIR]   here: compile into DIR
#                                           (default .device-carry/sanitize)
#   scripts/gpu/sanitize.sh run [DIR]       there: every tool over every
#                                           artifact, then the summary
# Environment (run): QAT_SANITIZE_TOOLS (default "memcheck racecheck
#   synccheck initcheck"), COMPUTE_SANITIZER (default: on PATH or in
#   /usr/local/cuda/bin). Logs: DIR/logs/TOOL-ARTIFACT.log.
# Exit status of run: 0 when every tool reports no error in any kernel and
# every numerical check passes under it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${1:?usage: sanitize.sh compile|run [DIR]}
dir=$(realpath -m "${2:-$root/.device-carry/sanitize}")
python=${PYTHON:-python3}
# One seed for shapes and data, so that a finding can be replayed.
seed=${QAT_SANITIZE_SEED:-2026}

if [ "$mode" = compile ]; then
  python=/usr/bin/python3
  rm -rf "$dir" && mkdir -p "$dir"
  cases="$root/test/Integration/run_cases.py"
  # Every numerical case (each op, layout, odd shape, matmul), default options.
  "$python" "$cases" compile --target=cuda --seed "$seed" --out "$dir/cases"
  # The Hadamard layout that is not the default: shuffles instead of the
  # shared-memory exchange.
  "$python" "$cases" compile --target=cuda --seed "$seed" --out "$dir/cases-shuffle" \
    --filter 'hadamard|quest|stable' --pipeline-options 'hadamard-exchange=0'
  # Whole training steps: the row kernels and matmuls inside the linalg glue.
  for example in quest_linear stableqat_linear; do
    "$python" "$root/scripts/gpu/compile.py" "$root/examples/$example.mlir" \
      "$dir/$example" >/dev/null
  done
  # The kernels each artifact launches, for the per-kernel summary; only the
  # object and the manifest travel.
  for artifact in "$dir"/*/; do
    { grep -o 'gpu.launch_func[^@]*@[A-Za-z0-9_]*::@[A-Za-z0-9_]*' \
        "$artifact/module.llvm.mlir" || true; } | sed 's/.*::@//' | sort -u \
      >"$artifact/kernels.txt"
    find "$artifact" -type f ! -name module.o ! -name manifest.json \
      ! -name kernels.txt -delete
  done
  du -sh "$dir"
  echo "sanitize.sh: compiled $(cat "$dir"/*/kernels.txt | sort -u | wc -l) kernels into $dir"
  exit 0
fi

[ "$mode" = run ] || { echo "usage: sanitize.sh compile|run [DIR]" >&2; exit 2; }
sanitizer=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer ||
                                 echo /usr/local/cuda/bin/compute-sanitizer)}
tools=${QAT_SANITIZE_TOOLS:-memcheck racecheck synccheck initcheck}
mkdir -p "$dir/logs"

# Link every artifact (and build the runtime) before any tool runs.
for artifact in "$dir"/*/; do
  [ -f "${artifact}module.o" ] || continue  # logs/ is not an artifact
  "$root/scripts/gpu/link.sh" "$artifact" >/dev/null
done

# Calls every function of an example artifact once on random inputs.
driver=$(cat <<'PY'
import pathlib, sys
import numpy as np
sys.path.insert(0, sys.argv[1] + "/test/Integration")
import run_cases
artifacts = pathlib.Path(sys.argv[2])
spec = __import__("json").loads((artifacts / "manifest.json").read_text())
call = run_cases.load(artifacts, "cuda")
rng = np.random.default_rng(int(sys.argv[3]))
for f in spec["functions"]:
    arrays = []
    for shape, dtype in f["args"]:
        if dtype.startswith("i"):
            a = rng.integers(-8, 8, shape).astype(np.int8)
        else:
            a = np.abs(rng.normal(0, 0.5, shape)).astype(np.float32) + 0.01
        arrays.append(run_cases.to_storage(a, dtype))
    outs = call(f["name"], arrays)
    finite = all(np.isfinite(run_cases.from_storage(o, d)).all()
                 for o, (_, d) in zip(outs, f["results"]) if not d.startswith("i"))
    print(f"{'PASS' if finite else 'FAIL'} {f['name']}: {len(outs)} results"
          + ("" if finite else " with NaN/Inf"))
PY
)

status=0
declare -A seconds
for tool in $tools; do
  for artifact in "$dir"/*/; do
    [ -f "${artifact}module.o" ] || continue  # logs/ is not an artifact
    name=$(basename "$artifact")
    log="$dir/logs/$tool-$name.log"
    extra=()
    [ "$tool" = racecheck ] && extra=(--racecheck-report=all)
    [ "$tool" = initcheck ] && extra=()  # this compute-sanitizer takes --track-unused-memory as a bare flag (on); leave it off
    start=$(date +%s)
    if [[ "$name" == cases* ]]; then
      cmd=("$python" "$root/test/Integration/run_cases.py" check --artifacts "$artifact")
    else
      cmd=("$python" -c "$driver" "$root" "$artifact" "$seed")
    fi
    set +e
    "$sanitizer" --tool "$tool" --target-processes application-only \
      --print-limit 100 --error-exitcode 99 "${extra[@]}" "${cmd[@]}" >"$log" 2>&1
    rc=$?
    set -e
    seconds[$tool-$name]=$(( $(date +%s) - start ))
    [ $rc -eq 0 ] || status=1
    echo "$tool $name: exit $rc, ${seconds[$tool-$name]} s" >>"$dir/logs/exits.txt"
  done
done

# The summary: per tool, per artifact, the kernels run and those with
# reports (a report names its kernel in "in KERNEL" or "at KERNEL+0x..").
echo "== compute-sanitizer summary ($("$sanitizer" --version | grep -o 'Version [0-9.]*' | head -1), seed $seed)"
for tool in $tools; do
  for artifact in "$dir"/*/; do
    [ -f "${artifact}module.o" ] || continue  # logs/ is not an artifact
    name=$(basename "$artifact")
    log="$dir/logs/$tool-$name.log"
    kernels=$(wc -l <"$artifact/kernels.txt")
    summary=$(grep -o 'ERROR SUMMARY: [0-9]* error' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    hazards=$(grep -o 'RACECHECK SUMMARY: [0-9]* hazard[s]* displayed ([0-9]* error[s]*, [0-9]* warning[s]*)' "$log" | tail -1 || true)
    checks=$(grep -E '^(cuda: [0-9]+ of [0-9]+ cases pass)' "$log" || grep -c '^PASS' "$log" || true)
    fails=$(grep -c '^FAIL' "$log" || true)
    printf '%-10s %-16s %4s kernels  errors: %-3s %s  checks: %s, %s failed  (%s s)\n' \
      "$tool" "$name" "$kernels" "$summary" "${hazards:+[$hazards]}" "$checks" "$fails" \
      "${seconds[$tool-$name]}"
    [ "$fails" = 0 ] || status=1
    # Kernels named in reports, with their counts.
    grep -oE '(in|at) (qat_|main_kernel|[A-Za-z_]*kernel)[A-Za-z0-9_]*' "$log" \
      | awk '{print $2}' | sort | uniq -c | sort -rn | head -20 \
      | sed 's/^/             reported: /' || true
  done
done
echo "== sanitize.sh: $([ $status = 0 ] && echo clean || echo 'FINDINGS (see logs)'); logs in $dir/logs"
exit $status
