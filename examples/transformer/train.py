#!/usr/bin/env python3
"""Trains the transformer of examples/transformer with qat (the main job of
scripts/run.sh; docs/training.md says what a run shows).

For each method, the float forward (transformer.mlir) goes through
qat-quantize (the method's recipe; none for float), qat-differentiate and
qat-training-step (AdamW) inside qat's Python package, is compiled by
qat-to-cpu and JIT-run; Python only draws batches, feeds the step and logs.
Every method starts from the same weights and sees the same batches.

--target=cuda compiles with qat-to-nvptx instead and runs on the GPU through
the qat CUDA runtime: JIT-compiled where this build and a GPU are on one
machine; else split (artifacts.py): --compile-only DIR here writes every
method's compiled functions, --artifacts DIR on the GPU machine (CUDA, numpy;
no LLVM, no build) trains with them, with the same output.

Writes into --out-dir: losses.json (every logged loss, validation losses),
losses.png (the curves), <method>.weights.npz (trained float weights) and,
for the quantized methods, <method>.packed.npz (qat-convert's packed codes and
steps), then prints a table of methods and a few lines of sampled text.

The methods are independent: --jobs of them (default 2, one per core of the
machine it was written for) train at the same time, each in its own process.
--full trains the larger model of the issue's example (d_model 128, batch 16
x context 64, 300 steps), generated into --out-dir/model; the default model
(examples/transformer/transformer.json) is the one that trains every method
in minutes.
"""

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import pathlib
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import methods as qat_methods  # noqa: E402


# generate.py's options of --full: the size of the example.
FULL = ["--d-model=128", "--heads=4", "--layers=2", "--mlp=512",
        "--context=64", "--batch=16"]


def log(msg):
    print(msg, flush=True)


def fmt_time(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 \
        else f"{seconds}s"


def evaluate(loss_fn, params, batches, vocab):
    """Mean loss of the forward over the validation batches."""
    total = 0.0
    for x, y in batches:
        total += float(loss_fn(corpus.one_hot(x, vocab),
                               corpus.one_hot(y, vocab), *params))
    return total / len(batches)


def train_method(method, spec, data, args):
    """Compiles and trains one method; returns (step, state, results)."""
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    t0 = time.time()
    if args.artifacts:
        import artifacts
        step = artifacts.ArtifactStep(method, args.artifacts,
                                      artifacts.open_runtime())
        compile_s = time.time() - t0
        log(f"[{method.name}] loaded from {args.artifacts} in "
            f"{compile_s:.1f} s ({method.description})")
    else:
        step = method.compile(args)
        compile_s = time.time() - t0
        log(f"[{method.name}] compiled in {compile_s:.1f} s "
            f"({method.description})")
    state = step.initial_state(qat_methods.init_weights(spec, args.seed))
    valid = data.valid_batches(B, T, args.eval_batches)
    batches = data.train_batches(B, T, args.seed)
    curve, evals = [], []
    start = time.time()
    for i in range(args.steps):
        x, y = next(batches)
        loss = step.train(state, corpus.one_hot(x, V), corpus.one_hot(y, V),
                          args.lr)
        if not math.isfinite(loss):
            raise RuntimeError(f"{method.name}: loss is {loss} at step {i}")
        last = i == args.steps - 1
        curve.append((i, loss))
        if i % args.log_every == 0 or last:
            done = time.time() - start
            tps = (i + 1) * B * T / done
            left = done / (i + 1) * (args.steps - i - 1)
            log(f"[{method.name}] step {i + 1:4d}/{args.steps}  loss "
                f"{loss:.4f}  {tps:7.0f} tokens/s  {fmt_time(left)} left")
        if args.eval_every and ((i + 1) % args.eval_every == 0 or last):
            v = evaluate(step.loss, step.forward_params(state), valid, V)
            evals.append((i + 1, v))
            log(f"[{method.name}] step {i + 1:4d}  validation loss {v:.4f}")
    seconds = time.time() - start
    v0 = evaluate(step.loss, step.forward_params(step.initial_state(
        qat_methods.init_weights(spec, args.seed))), valid, V)
    return step, state, dict(
        curve=curve, evals=[(0, v0)] + evals, seconds=seconds,
        compile_seconds=compile_s, tokens_per_second=args.steps * B * T /
        seconds)


def sample(step, state, spec, data, prompt, length, temperature, seed):
    """Text from the trained model: one forward of the one-sequence logits
    function per character, the prompt then the sampled characters in a
    window of the context's length."""
    cfg = spec["config"]
    T, V = cfg["context"], cfg["vocab"]
    rng = np.random.default_rng(seed)
    ids = list(data.encode(prompt))
    logits_fn = step.inference
    params = step.inference_args(state)
    for _ in range(length):
        window = ids[-T:]
        pos = len(window) - 1
        padded = window + [0] * (T - len(window))
        logits = logits_fn(corpus.one_hot(padded, V), *params)[pos]
        p = np.exp((logits - logits.max()) / temperature)
        ids.append(int(rng.choice(V, p=p / p.sum())))
    return data.decode(ids)


def run_method(name, args):
    """One method from start to end (a worker process's job): trains it,
    writes its weights and packed weights, samples text; returns its results
    (curves, validation losses, times) with the text under 'sample'."""
    cpu = time.process_time()
    spec = json.loads((args.model_dir / "transformer.json").read_text())
    data = corpus.Corpus()
    method = qat_methods.make(name, args.model_dir, args.target)
    step, state, r = train_method(method, spec, data, args)
    np.savez(args.out_dir / f"{name}.weights.npz", **step.named_weights(state))
    step.save_packed(state, args.out_dir / f"{name}.packed.npz")
    r["sample"] = None
    if args.sample_chars > 0:
        text = sample(step, state, spec, data, args.prompt, args.sample_chars,
                      0.8, args.seed)
        r["sample"] = f"--- {name} ({step.sample_source}):\n{text}"
    r["cpu_seconds"] = time.process_time() - cpu
    return r


def write_plot(losses_json, path):
    """The plot of losses.json, drawn in a fresh interpreter: an extension
    module loaded earlier in this process (pybind11 builds of another ABI)
    can keep matplotlib from importing. A failure is reported, not fatal:
    losses.json has the curves (`train.py --plot-from losses.json`)."""
    result = subprocess.run(
        [sys.executable, __file__, "--plot-from", str(losses_json),
         "--out-dir", str(path.parent)], capture_output=True, text=True)
    if result.returncode:
        error = (result.stderr.strip().splitlines() or ["?"])[-1]
        log(f"warning: the plot was not written ({error}); draw it with "
            f"python3 {pathlib.Path(__file__).name} --plot-from {losses_json}")
        return False
    return True


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, r in results.items():
        s, l = (np.array(v) for v in zip(*r["curve"]))
        # Every step's batch loss, averaged over 10 steps.
        w = min(10, len(l))
        a.plot(s[w - 1:] + 1, np.convolve(l, np.ones(w) / w, "valid"),
               label=name)
        s, l = zip(*r["evals"])
        b.plot(s, l, marker="o", label=name)
    a.set(xlabel="step", ylabel="training loss (batch, mean of 10 steps)",
          title="training")
    b.set(xlabel="step", ylabel="validation loss", title="validation")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def cuda_gpus():
    """How many CUDA GPUs the driver reports here (0 without a driver)."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) or cuda.cuDeviceGetCount(ctypes.byref(count)):
        return 0
    return count.value


def pool_map(fn, names, args, jobs):
    """{name: fn(name, args)}, `jobs` names at a time in processes of their
    own (spawn: a fresh interpreter per worker, no MLIR context or CUDA
    context inherited)."""
    if jobs == 1:
        return {n: fn(n, args) for n in names}
    pool = concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("spawn"))
    with pool:
        futures = {n: pool.submit(fn, n, args) for n in names}
        return {n: futures[n].result() for n in names}


def compile_only(names, a):
    """--compile-only DIR: every method's GPU artifacts (artifacts.py)."""
    import artifacts
    index = artifacts.prepare(a.compile_only, a.model_dir, a.chip,
                              a.weight_decay)
    cfg = index["config"]
    log(f"model: {cfg['layers']} layers, d_model {cfg['d_model']}, "
        f"{cfg['heads']} heads, batch {cfg['batch']} x context "
        f"{cfg['context']}; compiling {len(names)} methods for {a.chip} "
        f"into {a.compile_only}, {min(a.jobs, len(names))} at a time")
    start = time.time()
    try:
        pool_map(compile_artifact, names, a, min(a.jobs, len(names)))
    except artifacts.ArtifactError as e:
        sys.exit(f"train.py: {e}")
    artifacts.write_index(a.compile_only, index, names)
    size = sum(f.stat().st_size for f in a.compile_only.rglob("*")
               if f.is_file())
    log(f"\nwrote {a.compile_only} ({size / 1e6:.1f} MB, "
        f"{fmt_time(time.time() - start)}); on the GPU machine, with it "
        "carried: scripts/run.sh --target=cuda --artifacts "
        f"{a.compile_only}")


def compile_artifact(name, a):
    import artifacts
    return artifacts.compile_method(name, a.compile_only, a.chip,
                                    a.weight_decay, log)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="all",
                    help="comma-separated: " + ", ".join(qat_methods.NAMES)
                    + " (or all; with --artifacts: every compiled one)")
    ap.add_argument("--steps", type=int,
                    help="training steps of each method (default: 250, "
                    "300 with --full)")
    ap.add_argument("--full", action="store_true",
                    help="the larger model (d_model 128, batch 16 x context "
                    "64), generated into OUT_DIR/model (DIR/model with "
                    "--compile-only)")
    ap.add_argument("--jobs", type=int,
                    help="methods trained (compiled) at the same time, each "
                    "in a process (default: 2; 1 with --artifacts or "
                    "--target=cuda, where they would share the GPU and its "
                    "timings)")
    ap.add_argument("--opt-level", type=int, default=2, choices=range(4),
                    help="LLVM optimization level of the training step")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eval-batches", type=int, default=4)
    ap.add_argument("--model-dir", type=pathlib.Path,
                    help="folder with transformer.mlir, "
                    "transformer_logits.mlir, transformer.json")
    ap.add_argument("--out-dir", type=pathlib.Path)
    ap.add_argument("--target", choices=["cpu", "cuda"],
                    help="cpu (default): qat-to-cpu and the JIT; cuda: "
                    "qat-to-nvptx, run on the GPU through the qat CUDA "
                    "runtime (JIT: LLVM and a GPU on this machine; else "
                    "--compile-only here and --artifacts there)")
    ap.add_argument("--compile-only", type=pathlib.Path, metavar="DIR",
                    help="--target=cuda on a machine without a GPU: compile "
                    "each method's step, forward and sampling functions for "
                    "--chip into DIR and stop (carry DIR to the GPU machine)")
    ap.add_argument("--artifacts", type=pathlib.Path, metavar="DIR",
                    help="--target=cuda on a GPU machine without LLVM: train "
                    "with what --compile-only wrote into DIR (its model)")
    ap.add_argument("--chip", default="sm_90a",
                    help="--compile-only: the GPU's architecture "
                    "(default sm_90a: H100, H200, with wgmma; sm_90 for PTX "
                    "that later chips run too)")
    ap.add_argument("--sample-chars", type=int, default=160)
    ap.add_argument("--prompt", default="And God said")
    ap.add_argument("--plot-from", type=pathlib.Path, metavar="JSON",
                    help="only draw losses.png (into --out-dir, default the "
                    "JSON's folder) from the losses.json of a run")
    a = ap.parse_args()
    if a.plot_from:
        results = json.loads(a.plot_from.read_text())
        plot(results, (a.out_dir or a.plot_from.parent) / "losses.png")
        return

    if a.compile_only and a.artifacts:
        ap.error("--compile-only writes artifacts here, --artifacts runs them "
                 "there: give one")
    split = "--compile-only" if a.compile_only else \
        "--artifacts" if a.artifacts else None
    if split and a.target == "cpu":
        ap.error(f"{split} is the GPU route; it takes --target=cuda, not cpu")
    a.target = "cuda" if split else (a.target or "cpu")
    if a.full and a.model_dir:
        ap.error("--full generates its model; it takes no --model-dir")
    if a.artifacts and (a.full or a.model_dir):
        ap.error("--artifacts trains the model its artifacts were compiled "
                 "from (DIR/model); it takes no --full or --model-dir")
    if a.jobs is None:
        a.jobs = 1 if a.target == "cuda" and not a.compile_only else 2
    if a.jobs < 1:
        ap.error(f"--jobs must be at least 1, not {a.jobs}")
    if not a.compile_only and not a.out_dir:
        ap.error("--out-dir is needed (scripts/run.sh gives one)")
    if a.target == "cuda" and not split and not cuda_gpus():
        ap.error("--target=cuda: no CUDA GPU here (the driver reports none); "
                 "on a machine without one, compile with --compile-only DIR "
                 "and train on the GPU machine with --artifacts DIR")
    index = None
    if a.artifacts:
        import artifacts
        try:
            index = artifacts.read_index(a.artifacts)
        except artifacts.ArtifactError as e:
            ap.error(str(e))
        if a.weight_decay != index["weight_decay"]:
            ap.error(f"the steps in {a.artifacts} were compiled with weight "
                     f"decay {index['weight_decay']}, not {a.weight_decay} "
                     "(it is part of the compiled step)")
        a.model_dir = a.artifacts / "model"
    if a.full:
        a.model_dir = (a.compile_only or a.out_dir) / "model"
        subprocess.run([sys.executable, str(HERE / "generate.py"),
                        f"--out-dir={a.model_dir}"] + FULL, check=True)
    a.model_dir = a.model_dir or HERE
    if a.steps is None:
        a.steps = 300 if a.full else 250
    if a.methods == "all":
        names = index["methods"] if index else qat_methods.NAMES
    else:
        names = a.methods.split(",")
    for n in names:
        if qat_methods.lookup(n) is None:
            ap.error(f"unknown method {n!r}; choose from "
                     f"{', '.join(qat_methods.NAMES)} or all (or another "
                     "bit width of them: quest_w3a3, stableqat_w2, ste_w2)")
        if index and n not in index["methods"]:
            ap.error(f"{n} is not compiled in {a.artifacts}; it holds "
                     f"{', '.join(index['methods'])}")
    spec = json.loads((a.model_dir / "transformer.json").read_text())
    data = corpus.Corpus()
    if data.vocab != spec["config"]["vocab"]:
        ap.error(f"the model's vocabulary is {spec['config']['vocab']}, the "
                 f"corpus has {data.vocab} characters")
    if a.compile_only:
        return compile_only(names, a)
    a.out_dir.mkdir(parents=True, exist_ok=True)
    if a.artifacts:
        import artifacts
        log(f"linking {', '.join(names)} with the qat CUDA runtime")
        try:
            artifacts.link(a.artifacts, names)
            artifacts.open_runtime()
        except artifacts.ArtifactError as e:
            sys.exit(f"train.py: {e}")
    cfg = spec["config"]
    where = f"GPU (artifacts of {a.artifacts})" if a.artifacts else \
        "GPU (qat-to-nvptx, JIT)" if a.target == "cuda" else "CPU"
    log(f"model: {cfg['layers']} layers, d_model {cfg['d_model']}, "
        f"{cfg['heads']} heads, batch {cfg['batch']} x context "
        f"{cfg['context']}; {len(names)} methods x {a.steps} steps, "
        f"{min(a.jobs, len(names))} at a time; {where}")

    start = time.time()
    results = pool_map(run_method, names, a, min(a.jobs, len(names)))
    samples = {n: results[n].pop("sample") for n in names}
    (a.out_dir / "losses.json").write_text(json.dumps(results, indent=1))

    base = results.get("float")
    log("")
    log(f"{'method':<14} {'valid loss':>10} {'perplexity':>10} "
        f"{'vs float':>9} {'first':>8} {'tokens/s':>9} {'train':>7} "
        f"{'load' if a.artifacts else 'compile':>7}")
    for n, r in results.items():
        v = r["evals"][-1][1]
        rel = f"{(v / base['evals'][-1][1] - 1) * 100:+8.1f}%" if base \
            else f"{'-':>9}"
        log(f"{n:<14} {v:10.4f} {math.exp(v):10.2f} {rel} "
            f"{r['evals'][0][1]:8.4f} {r['tokens_per_second']:9.0f} "
            f"{fmt_time(r['seconds']):>7} {fmt_time(r['compile_seconds']):>7}")
    wrote_plot = write_plot(a.out_dir / "losses.json", a.out_dir / "losses.png")
    log(f"\nwrote {a.out_dir}/{'losses.png, ' if wrote_plot else ''}"
        f"losses.json, *.weights.npz, "
        f"*.packed.npz ({fmt_time(time.time() - start)} in all, CPU time "
        f"{fmt_time(sum(r['cpu_seconds'] for r in results.values()))})")
    for text in samples.values():
        if text:
            log("\n" + text)


if __name__ == "__main__":
    main()
