#!/usr/bin/env python3
"""Fidelity of the qat-compiled transformer against its PyTorch reference.

  fidelity.py forward   the float forward compiled by qat-to-cpu gives the
                        loss PyTorch computes, on several batches and random
                        weights (relative error < 1e-5 each);
  fidelity.py train     training curves of float, QuEST W4A4 and StableQAT
                        W4 from the same weights and batches, compiled by qat
                        (qat-quantize, qat-differentiate, qat-training-step)
                        and in PyTorch (reference.py, written from DESIGN.md):
                        within --tolerance (1%) at every logged step.

The seed is printed; --seed replays a run.
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import methods  # noqa: E402
import reference  # noqa: E402

import qat  # noqa: E402


def forward(a, spec, data):
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    fn = qat.compile(qat.Module.parse_file(
        str(a.model_dir / "transformer.mlir")))["transformer_loss"]
    rng = np.random.default_rng(a.seed)
    batches = data.train_batches(B, T, a.seed)
    worst = 0.0
    for trial in range(a.trials):
        w = methods.init_weights(spec, int(rng.integers(1 << 30)))
        # Perturb every weight (layer norm's ones and zeros too), so that
        # no term of the model is trivially 0 or 1.
        w = {k: v + rng.normal(0, 0.05, v.shape).astype(np.float32)
             for k, v in w.items()}
        x, y = next(batches)
        got = float(fn(corpus.one_hot(x, V), corpus.one_hot(y, V), *w.values()))
        model = reference.Transformer(cfg, w, reference.Method("float"))
        with torch.no_grad():
            want = float(model.loss(torch.tensor(x), torch.tensor(y)))
        rel = abs(got - want) / abs(want)
        worst = max(worst, rel)
        print(f"trial {trial}: qat {got:.6f} torch {want:.6f} relative "
              f"error {rel:.2e}")
        if not np.isfinite(got) or rel > 1e-5:
            print("FAIL: the compiled forward differs from PyTorch's")
            return 1
    print(f"forward matches PyTorch: worst relative error {worst:.2e}")
    return 0


REFERENCE = {"float": lambda: reference.Method("float"),
             "quest_w4a4": lambda: reference.Method("quest", bits=4),
             "stableqat_w4": lambda: reference.Method("stableqat", bits=4)}


def train(a, spec, data):
    """Training curves of qat's compiled steps against reference.py."""
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    quantized = [f"l{i}.{w}" for i in range(cfg["layers"])
                 for w in methods.QUANTIZED]
    args = argparse.Namespace(weight_decay=0.0)
    worst_all, ok = 0.0, True
    for name in a.methods.split(","):
        step = methods.make(name, a.model_dir).compile(args)
        weights = methods.init_weights(spec, a.seed)
        state = step.initial_state(weights)
        steps = dict(zip(quantized, state["steps"].values())) \
            if state["steps"] else None
        model = reference.Transformer(cfg, weights, REFERENCE[name](),
                                      quantized if name != "float" else (),
                                      steps)
        ref_log = reference.train(model, data.train_batches(B, T, a.seed),
                                  a.steps, a.lr, log_every=1)
        batches = data.train_batches(B, T, a.seed)
        worst = 0.0
        for i in range(a.steps):
            x, y = next(batches)
            got = step.train(state, corpus.one_hot(x, V),
                             corpus.one_hot(y, V), a.lr)
            want = ref_log[i][1]
            rel = abs(got - want) / abs(want)
            worst = max(worst, rel)
            if i % a.log_every == 0 or i == a.steps - 1:
                print(f"{name} step {i}: qat {got:.5f} torch {want:.5f} "
                      f"relative {rel:.2e}")
            if not np.isfinite(got) or rel > a.tolerance:
                print(f"FAIL: {name} differs by {rel:.2e} at step {i}")
                ok = False
                break
        print(f"{name}: worst relative difference {worst:.2e} over "
              f"{a.steps} steps")
        worst_all = max(worst_all, worst)
    print(("training curves match PyTorch" if ok else "FAIL") +
          f": worst relative difference {worst_all:.2e}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["forward", "train"])
    ap.add_argument("--model-dir", type=pathlib.Path, default=HERE)
    ap.add_argument("--seed", type=int,
                    default=int(np.random.default_rng().integers(1 << 30)))
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--methods", default="float,quest_w4a4,stableqat_w4")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--tolerance", type=float, default=0.01)
    a = ap.parse_args()
    print(f"seed {a.seed} (replay with --seed={a.seed})")
    torch.manual_seed(a.seed)
    spec = json.loads((a.model_dir / "transformer.json").read_text())
    data = corpus.Corpus()
    if a.mode == "forward":
        return forward(a, spec, data)
    return train(a, spec, data)


if __name__ == "__main__":
    sys.exit(main())
