#!/usr/bin/env python3
"""CPU time of one training step of examples/transformer, qat-to-cpu's
default (vectorized matmuls) against vectorize-contractions=0.

Compiles the method's AdamW step twice (a few minutes each on 2 cores), runs
a few steps on random batches and prints the median CPU time of the calling
thread (the compiled step is single-threaded) after one warm-up step, and the
last loss, which the two pipelines should agree on to rounding.

  PYTHONPATH=build/python-packages /usr/bin/python3 \\
    benchmarks/cpu_train_step.py [float|quest_w4a4|...] [--steps 4]
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "transformer"
sys.path.insert(0, str(MODEL))

import qat  # noqa: E402
import corpus  # noqa: E402
import methods  # noqa: E402


def step_times(name, options, steps):
    compile_fn = qat.compile
    qat.compile = lambda m, **kw: compile_fn(m, pipeline_options=options, **kw)
    try:
        spec = json.loads((MODEL / "transformer.json").read_text())
        cfg = spec["config"]
        B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
        t0 = time.time()
        step = methods.make(name, MODEL).compile(
            argparse.Namespace(weight_decay=0.0))
        compile_s = time.time() - t0
    finally:
        qat.compile = compile_fn
    state = step.initial_state(methods.init_weights(spec, 1))
    rng = np.random.default_rng(0)
    times = []
    for _ in range(steps):
        x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
        t = time.thread_time()
        loss = step.train(state, corpus.one_hot(x, V), corpus.one_hot(y, V),
                          3e-3)
        times.append(time.thread_time() - t)
    med = float(np.median(times[1:]))
    print(f"{name} [{options or 'default'}]: compiled in {compile_s:.0f} s; "
          f"step {med * 1e3:.0f} ms CPU time (median of {steps - 1}), "
          f"{B * T / med:.0f} tokens/s; loss {loss:.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("method", nargs="?", default="float",
                    choices=methods.NAMES)
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    for options in ["", "vectorize-contractions=0"]:
        step_times(a.method, options, a.steps)


if __name__ == "__main__":
    main()
