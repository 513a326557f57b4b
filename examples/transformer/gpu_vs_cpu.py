"""The GPU route's training step against the CPU JIT's, from the same
weights on the same batches: the loss of each of the first steps, and after
the first AdamW step every parameter's first moment, which is (1 - beta1)
times its gradient.

    # on the GPU machine (artifacts of run.sh --compile-only; numpy, no LLVM)
    python3 examples/transformer/gpu_vs_cpu.py dump .device-carry/transformer OUT
    # here (LLVM and this build), with OUT brought back
    python3 examples/transformer/gpu_vs_cpu.py compare .device-carry/transformer OUT

`dump` writes OUT/gpu-<method>.npz; `compare` runs the same steps through
qat-to-cpu and prints the relative difference of each gradient, flagging
those above 1e-2.
"""

import argparse
import json
import pathlib
import sys
import types

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parents[1] / "python-bindings"))

import corpus  # noqa: E402
import methods  # noqa: E402

STEPS, LR, SEED = 3, 3e-3, 1


def batches(spec):
    cfg = spec["config"]
    data = corpus.Corpus()
    it = data.train_batches(cfg["batch"], cfg["context"], SEED)
    for _ in range(STEPS):
        x, y = next(it)
        yield corpus.one_hot(x, cfg["vocab"]), corpus.one_hot(y, cfg["vocab"])


def dump(art, out, names):
    import artifacts
    artifacts.link(art, names)
    rt = artifacts.open_runtime()
    spec = json.loads((art / "model/transformer.json").read_text())
    for name in names:
        step = artifacts.ArtifactStep(methods.make(name, art / "model", "cuda"),
                                      art, rt)
        state = step.initial_state(methods.init_weights(spec, SEED))
        result = {}
        for i, (tokens, targets) in enumerate(batches(spec)):
            result[f"loss{i}"] = np.float32(step.train(state, tokens, targets, LR))
            if i == 0:
                trained = [rt.download(d, ty) for (_, d), ty in
                           zip(state["device"], step.step_fn.args[2:])]
                n = len(trained) // 3
                for j, m in enumerate(trained[n:2 * n]):
                    result[f"m{j}"] = np.asarray(m)
        np.savez_compressed(out / f"gpu-{name}.npz", **result)
        print(f"{name}: wrote {out}/gpu-{name}.npz")


def compare(art, out, names):
    spec = json.loads((art / "model/transformer.json").read_text())
    worst = 0.0
    for name in names:
        gpu = np.load(out / f"gpu-{name}.npz")
        step = methods.Step(methods.make(name, art / "model", "cpu"),
                            types.SimpleNamespace(opt_level=2, weight_decay=0.0))
        state = step.initial_state(methods.init_weights(spec, SEED))
        labels = list(state["params"]) + list(state["steps"])
        for i, (tokens, targets) in enumerate(batches(spec)):
            loss = step.train(state, tokens, targets, LR)
            print(f"{name} step {i + 1}: loss CPU {loss:.6f} GPU "
                  f"{float(gpu[f'loss{i}']):.6f}")
            if i == 0:
                for j, label in enumerate(labels):
                    m, g = state["moments"][j], gpu[f"m{j}"]
                    rel = float(np.linalg.norm(m - g) /
                                max(np.linalg.norm(m), 1e-30))
                    worst = max(worst, rel)
                    flag = "  <- above 1e-2" if rel > 1e-2 else ""
                    print(f"  gradient of {label:<10} rel diff {rel:.2e}{flag}")
    print(f"worst gradient rel diff {worst:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["dump", "compare"])
    ap.add_argument("artifacts", type=pathlib.Path)
    ap.add_argument("out", type=pathlib.Path)
    ap.add_argument("--methods", default=None,
                    help="comma-separated (default: those in the artifacts)")
    a = ap.parse_args()
    index = json.loads((a.artifacts / "artifacts.json").read_text())
    names = a.methods.split(",") if a.methods else index["methods"]
    a.out.mkdir(parents=True, exist_ok=True)
    (dump if a.mode == "dump" else compare)(a.artifacts, a.out, names)


if __name__ == "__main__":
    main()
