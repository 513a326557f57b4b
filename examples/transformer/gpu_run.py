#!/usr/bin/env python3
"""The transformer's training step on the GPU, qat against PyTorch, side by
side in one run (docs/training.md, "On the GPU").

The qat side: the AdamW steps that `scripts/run.sh --target=cuda
--compile-only DIR` compiled (qat-to-nvptx; artifacts.py), linked with the
qat CUDA runtime and trained for --steps steps from the same weights and
batches, weights, learned steps and AdamW's moments staying on the GPU; the
step is timed with the loss read back (a synchronization) every step.

The PyTorch side (torch_baseline.py, each in a process of its own): the same
model's step (forward, backward, torch.optim.AdamW) in bf16 autocast eager,
with the methods' fake quantizers (reference.py: QuEST W4A4, StableQAT W4)
eager, and under torch.compile, trying its variants in the order a user
would until one compiles (--compile-variants; every one tried with
--all-variants), each failure's exact error kept.

Prints a table (ms per step, tokens/s, first and last loss) and writes
--json. On the GPU machine (CUDA toolkit, PyTorch, numpy; no LLVM):

    python3 examples/transformer/gpu_run.py --artifacts DIR --json $OUT/r.json
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
# qat.compiled (numpy + ctypes) from the source tree where the extension is
# not built.
sys.path.append(str(ROOT / "python-bindings"))

import artifacts  # noqa: E402
import corpus  # noqa: E402
import methods  # noqa: E402
import torch_baseline  # noqa: E402


def qat_run(a, name, spec, data, rt):
    """Trains `name` with its artifacts; returns (ms per step, losses)."""
    step = artifacts.ArtifactStep(methods.make(name, a.artifacts / "model",
                                               "cuda"), a.artifacts, rt)
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    state = step.initial_state(methods.init_weights(spec, a.seed))
    batches = data.train_batches(B, T, a.seed)
    losses, times = [], []
    for _ in range(a.steps):
        x, y = next(batches)
        tokens, targets = corpus.one_hot(x, V), corpus.one_hot(y, V)
        start = time.perf_counter()
        losses.append(step.train(state, tokens, targets, a.lr))
        times.append(time.perf_counter() - start)
    # The first steps load the module and warm up.
    return float(np.median(times[min(5, len(times) - 1):])) * 1e3, losses


def torch_runs(a, variants, timeout, after_qat=False):
    """Runs torch_baseline.py on `variants` in one process (after 5 qat
    steps in it with `after_qat`); returns {variant: result}, a result that
    the process did not write saying why (a crash, or `timeout` seconds
    passed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "r.json"
        cmd = [sys.executable, str(HERE / "torch_baseline.py"),
               "--model", str(a.artifacts / "model"), "--json", str(out),
               "--steps", str(a.steps), "--lr", str(a.lr),
               "--seed", str(a.seed), "--device", a.torch_device]
        for v in variants:
            cmd += ["--variant", v]
        if after_qat:
            cmd += ["--after-qat", str(a.artifacts)]
        try:
            proc = subprocess.run(cmd, timeout=timeout, capture_output=True,
                                  text=True)
            why = f"the process exited with {proc.returncode}: " \
                f"{proc.stderr[-2000:]}"
            sys.stdout.write(proc.stdout)
        except subprocess.TimeoutExpired as e:
            why = f"did not finish in {timeout} s"
            sys.stdout.write((e.stdout or b"").decode(errors="replace"))
        results = json.loads(out.read_text()) if out.exists() else {}
    for v in variants:
        if v not in results:
            results[v] = {"error": why}
            print(f"torch {v}: failed: {why}", flush=True)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--artifacts", type=pathlib.Path,
                    default=ROOT / ".device-carry" / "transformer",
                    help="what run.sh --target=cuda --compile-only wrote")
    ap.add_argument("--methods",
                    help="qat methods to time (default: every compiled one; "
                    "'' for none)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=pathlib.Path)
    ap.add_argument("--torch-device", default="cuda",
                    help="where the PyTorch runs go (cpu: a smoke test)")
    ap.add_argument("--compile-variants",
                    default=",".join(torch_baseline.COMPILE_ORDER),
                    help="torch.compile variants, in the order tried")
    ap.add_argument("--all-variants", action="store_true",
                    help="try every compile variant, not only up to the "
                    "first that compiles")
    ap.add_argument("--no-diagnose", dest="diagnose", action="store_false",
                    help="skip compiling the first variant again in a "
                    "process that ran qat's steps first (done where it "
                    "compiled alone)")
    ap.add_argument("--timeout", type=int, default=240,
                    help="seconds for each PyTorch process")
    ap.add_argument("--compile-budget", type=int, default=180,
                    help="seconds for all torch.compile variants together; "
                    "the ones left when it is spent are reported untried")
    a = ap.parse_args()

    try:
        index = artifacts.read_index(a.artifacts)
    except artifacts.ArtifactError as e:
        ap.error(str(e))
    names = index["methods"] if a.methods is None else \
        [n for n in a.methods.split(",") if n]
    missing = [n for n in names if n not in index["methods"]]
    if missing:
        ap.error(f"not compiled in {a.artifacts}: {', '.join(missing)}; it "
                 f"holds {', '.join(index['methods'])}")
    variants = a.compile_variants.split(",") if a.compile_variants else []
    unknown = [v for v in variants if v not in torch_baseline.VARIANTS]
    if unknown:
        ap.error(f"unknown compile variants {unknown}; choose from "
                 f"{torch_baseline.COMPILE_ORDER}")
    spec = json.loads((a.artifacts / "model" / "transformer.json")
                      .read_text())
    cfg = spec["config"]
    tokens = cfg["batch"] * cfg["context"]
    data = corpus.Corpus()

    rows = {}
    if names:
        try:
            artifacts.link(a.artifacts, names)
            rt = artifacts.open_runtime()
        except artifacts.ArtifactError as e:
            sys.exit(f"gpu_run.py: {e}")
        for name in names:
            try:
                ms, losses = qat_run(a, name, spec, data, rt)
            except (RuntimeError, artifacts.ArtifactError) as e:
                rows[f"qat {name}"] = {"error": f"{type(e).__name__}: {e}"}
                print(f"qat {name}: failed: {e}", flush=True)
                continue
            rows[f"qat {name}"] = {"ms_per_step": ms, "losses": losses}
            print(f"qat {name}: {ms:.2f} ms/step", flush=True)

    torch_results = torch_runs(a, torch_baseline.EAGER, a.timeout)
    start = time.time()
    for v in variants:
        left = a.compile_budget - (time.time() - start)
        if left < 20:
            torch_results[v] = {"error": "not tried: the --compile-budget of "
                                f"{a.compile_budget} s was spent"}
            continue
        r = torch_runs(a, [v], int(min(a.timeout, left)))
        torch_results[v] = r[v]
        if not torch_results.get(torch_baseline.ENV):
            torch_results[torch_baseline.ENV] = r.get(torch_baseline.ENV)
        if "error" not in r[v] and not a.all_variants:
            break
    # torch.compile failed on 2026-12-06 when gpu_run.py ran it in the
    # process that had run qat's steps: where it compiles alone, whether
    # it does after qat's steps too.
    default = torch_baseline.COMPILE_ORDER[0]
    if a.diagnose and "qat float" in rows and "error" not in rows["qat float"] \
            and "error" not in torch_results.get(default, {"error": 1}):
        r = torch_runs(a, [default], a.timeout, after_qat=True)
        torch_results[default + " after qat steps"] = r[default]
    env = torch_results.pop(torch_baseline.ENV, None) or {}
    device, version = env.get("device", "?"), env.get("torch", "?")
    rows.update({f"torch {k}": v for k, v in torch_results.items()})
    print(f"\n{device}; torch {version}; model {cfg}; {a.steps} steps, "
          "median step after 5")
    print(f"{'run':<46} {'ms/step':>9} {'tokens/s':>10} {'first':>8} "
          f"{'last':>8}")
    for label, r in rows.items():
        if "error" in r:
            # Inductor's first line is "backend='inductor' raised:".
            lines = [s for s in r["error"].splitlines() if s.strip()]
            what = "" if lines[0].startswith("not tried") else "failed: "
            print(f"{label:<46} {what}{' '.join(lines[:2])[:200]}")
            continue
        ms, losses = r["ms_per_step"], r["losses"]
        print(f"{label:<46} {ms:9.2f} {tokens / ms * 1e3:10.0f} "
              f"{losses[0]:8.4f} {losses[-1]:8.4f}")
    if a.json:
        a.json.write_text(json.dumps(
            {"device": device, "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                     time.gmtime()),
             "torch": version, "config": cfg, "steps": a.steps,
             "chip": index["chip"], "runs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
