#!/usr/bin/env python3
"""Trains the transformer of examples/transformer with qat (the main job of
scripts/run.sh; docs/training.md says what a run shows).

For each method, the float forward (transformer.mlir) goes through
qat-quantize (the method's recipe; none for float), qat-differentiate and
qat-training-step (AdamW) inside qat's Python package, is compiled by
qat-to-cpu and JIT-run; Python only draws batches, feeds the step and logs.
Every method starts from the same weights and sees the same batches.

Writes into --out-dir: losses.json (every logged loss, validation losses),
losses.png (the curves), <method>.weights.npz (trained float weights) and,
for the quantized methods, <method>.packed.npz (qat-convert's packed codes and
steps), then prints a table of methods and a few lines of sampled text.
"""

import argparse
import json
import math
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import methods as qat_methods  # noqa: E402


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
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    t0 = time.time()
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
        if i % args.log_every == 0 or last:
            curve.append((i, loss))
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


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, r in results.items():
        s, l = zip(*r["curve"])
        a.plot(np.array(s) + 1, l, label=name)
        s, l = zip(*r["evals"])
        b.plot(s, l, marker="o", label=name)
    a.set(xlabel="step", ylabel="training loss (batch)", title="training")
    b.set(xlabel="step", ylabel="validation loss", title="validation")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="all",
                    help="comma-separated: " + ", ".join(qat_methods.NAMES)
                    + " (or all)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=4)
    ap.add_argument("--model-dir", type=pathlib.Path, default=HERE,
                    help="folder with transformer.mlir, "
                    "transformer_logits.mlir, transformer.json")
    ap.add_argument("--out-dir", type=pathlib.Path, required=True)
    ap.add_argument("--target", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--sample-chars", type=int, default=160)
    ap.add_argument("--prompt", default="And God said")
    a = ap.parse_args()

    names = qat_methods.NAMES if a.methods == "all" else a.methods.split(",")
    for n in names:
        if n not in qat_methods.NAMES:
            ap.error(f"unknown method {n!r}; choose from "
                     f"{', '.join(qat_methods.NAMES)} or all")
    spec = json.loads((a.model_dir / "transformer.json").read_text())
    data = corpus.Corpus()
    if data.vocab != spec["config"]["vocab"]:
        ap.error(f"the model's vocabulary is {spec['config']['vocab']}, the "
                 f"corpus has {data.vocab} characters")
    a.out_dir.mkdir(parents=True, exist_ok=True)

    results, trained = {}, {}
    for n in names:
        method = qat_methods.make(n, a.model_dir, a.target)
        step, state, r = train_method(method, spec, data, a)
        results[n], trained[n] = r, (step, state)
        np.savez(a.out_dir / f"{n}.weights.npz",
                 **step.named_weights(state))
        step.save_packed(state, a.out_dir / f"{n}.packed.npz")
        (a.out_dir / "losses.json").write_text(json.dumps(results, indent=1))

    base = results.get("float")
    log("")
    log(f"{'method':<14} {'valid loss':>10} {'perplexity':>10} "
        f"{'vs float':>9} {'first':>8} {'tokens/s':>9} {'time':>7}")
    for n, r in results.items():
        v = r["evals"][-1][1]
        rel = f"{(v / base['evals'][-1][1] - 1) * 100:+8.1f}%" if base \
            else f"{'-':>9}"
        log(f"{n:<14} {v:10.4f} {math.exp(v):10.2f} {rel} "
            f"{r['evals'][0][1]:8.4f} {r['tokens_per_second']:9.0f} "
            f"{fmt_time(r['seconds']):>7}")
    plot(results, a.out_dir / "losses.png")
    log(f"\nwrote {a.out_dir}/losses.png, losses.json, *.weights.npz, "
        f"*.packed.npz")
    if a.sample_chars > 0:
        for n, (step, state) in trained.items():
            text = sample(step, state, spec, data, a.prompt, a.sample_chars,
                          0.8, a.seed)
            log(f"\n--- {n} ({step.sample_source}):\n{text}")


if __name__ == "__main__":
    main()
