#!/usr/bin/env python3
"""The transformer's training step on a GPU machine without LLVM, side by
side with PyTorch (docs/training.md, "On the GPU").

Here (where qat-opt and LLVM are), `--compile-only` writes the artifacts:
qat-quantize + qat-training-step (AdamW) of examples/transformer's float
graph for each method, compiled whole by qat-to-nvptx (scripts/gpu/compile.py)
into ARTIFACTS/<method>/ (module.o and manifest.json; carry the folder).

On the GPU machine (CUDA, PyTorch, numpy; no LLVM), without --compile-only:
links each artifact with the qat CUDA runtime (scripts/gpu/link.sh), trains
--steps steps of every method on the corpus from the same weights and
batches, weights and AdamW moments staying on the GPU, and times the step;
then times the same model's training step (forward, backward, AdamW) in
PyTorch: float in bf16 autocast eager and under torch.compile, and with the
methods' fake quantizers (examples/transformer/reference.py: QuEST's
Hadamard + rms_gaussian + trust, StableQAT's LSQ + Fourier) eager. Prints a
table (ms per step, tokens/s, first and last loss) and writes --json.

    examples/transformer/gpu_run.py --compile-only              # here
    python3 examples/transformer/gpu_run.py --json $OUT/r.json  # GPU machine
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "python-bindings"))

import corpus  # noqa: E402
import methods  # noqa: E402

# The model of run.sh --full (the example size).
FULL = ["--d-model=128", "--heads=4", "--layers=2", "--mlp=512",
        "--context=64", "--batch=16"]
QAT_METHODS = ["float", "quest_w4a4"]


def compile_artifacts(a):
    model = a.artifacts / "model"
    subprocess.run([sys.executable, str(HERE / "generate.py"),
                    f"--out-dir={model}"] + FULL, check=True)
    qat_opt = ROOT / "build" / "bin" / "qat-opt"
    for name in a.methods.split(","):
        desc, opts = methods.lookup(name)
        # The step calls the gradient function, which calls the forward;
        # inlined into one function (qat-to-nvptx rejects the call's
        # buffer-deallocation helper, which stores on the host; the
        # reproducer is in docs/training.md).
        passes = ([f"--qat-quantize={opts}"] if opts else []) + \
            ["--qat-training-step=optimizer=adamw",
             "--symbol-privatize=exclude=transformer_loss_train_step",
             "--inline", "--symbol-dce"]
        step = subprocess.run([str(qat_opt), str(model / "transformer.mlir")]
                              + passes, check=True, capture_output=True,
                              text=True).stdout
        src = a.artifacts / f"{name}.step.mlir"
        src.write_text(step)
        out = a.artifacts / name
        t0 = time.time()
        subprocess.run([sys.executable, str(ROOT / "scripts/gpu/compile.py"),
                        str(src), str(out), "--chip", a.chip], check=True)
        for f in ("module.ll", "module.llvm.mlir", "module.mlir"):
            (out / f).unlink(missing_ok=True)
        src.unlink()
        print(f"{name}: compiled for {a.chip} in {time.time() - t0:.0f} s")


def call(fn, pointers, t, lr):
    """The step's C interface: the tensors (device pointers) as memref
    descriptors, then AdamW's step count and learning rate as f32 scalars
    (the manifest lists the tensors only)."""
    import ctypes
    descs = [ty.describe(p) for ty, p in zip(fn.args, pointers)]
    out = fn.result_type()
    fn.entry(ctypes.byref(out), *[ctypes.byref(d) for d in descs],
             ctypes.c_float(t), ctypes.c_float(lr))
    return [getattr(out, f"r{i}") for i in range(len(fn.results))]


def qat_run(a, name, spec, data):
    """Trains `name` with its artifact; returns (ms per step, losses)."""
    from qat import compiled
    art = a.artifacts / name
    lib = subprocess.run(["bash", str(ROOT / "scripts/gpu/link.sh"),
                          str(art)], check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    rt_path = pathlib.Path(os.environ.get("QAT_RUNTIME_BUILD",
                                          "/tmp/qat-runtime"))
    rt = compiled.CUDARuntime(rt_path / "lib" / "libqat_cuda_runtime.so")
    module = compiled.CompiledModule(lib, art / "manifest.json", rt)
    fn = module["transformer_loss_train_step"]
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    weights = list(methods.init_weights(spec, a.seed).values())
    if len(fn.args) != 2 + 3 * len(weights):
        raise SystemExit(f"{name}: the step takes {len(fn.args)} arguments; "
                         "methods with learned steps are not wired here")
    n = len(weights)
    state = [rt.upload(w, t) for w, t in zip(weights, fn.args[2:2 + n])]
    state += [rt.upload(np.zeros_like(w), t)
              for w, t in zip(weights * 2, fn.args[2 + n:2 + 3 * n])]
    batches = data.train_batches(B, T, a.seed)
    losses, times = [], []
    for i in range(a.steps):
        x, y = next(batches)
        ins = [rt.upload(corpus.one_hot(x, V), fn.args[0]),
               rt.upload(corpus.one_hot(y, V), fn.args[1])]
        start = time.perf_counter()
        outs = call(fn, ins + state, i + 1, a.lr)
        rt.check()
        loss = float(rt.download(outs[0].aligned, fn.results[0]))
        times.append(time.perf_counter() - start)
        losses.append(loss)
        keep = {o.allocated for o in outs}
        for p in ins + state:
            if p not in keep:
                rt.free(p)
        rt.free(outs[0].allocated)
        state = [o.allocated for o in outs[1:]]
    # The first steps load the module and warm up.
    ms = float(np.median(times[min(5, len(times) - 1):])) * 1e3
    return ms, losses


def torch_run(a, cfg, w, method, q, use_compile, data):
    """ms per step and losses of one PyTorch variant: forward under bf16
    autocast, backward, torch.optim.AdamW."""
    import torch
    import reference
    B, T = cfg["batch"], cfg["context"]
    dev = a.torch_device
    steps = None
    if method.name == "stableqat":
        qp = 2 ** (method.bits - 1) - 1  # LSQ's init: absmax / qp per row
        steps = {k: (np.abs(w[k]).max(1, keepdims=True) / qp)
                 .astype(np.float32) for k in q}
    model = reference.Transformer(cfg, w, method, q, steps).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    loss_fn = torch.compile(model.loss) if use_compile else model.loss
    batches = data.train_batches(B, T, a.seed)
    losses, times = [], []
    for _ in range(a.steps):
        x, y = next(batches)
        x, y = torch.tensor(x).to(dev), torch.tensor(y).to(dev)
        if dev == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(dev, dtype=torch.bfloat16):
            loss = loss_fn(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        times.append(time.perf_counter() - start)
    return float(np.median(times[min(5, len(times) - 1):])) * 1e3, losses


def torch_runs(a, spec, data):
    """ms per step and losses of the PyTorch variants."""
    import reference
    cfg = spec["config"]
    quantized = [f"l{i}.{w}" for i in range(cfg["layers"])
                 for w in methods.QUANTIZED]
    w = methods.init_weights(spec, a.seed)
    variants = [("torch bf16 eager", reference.Method("float"), (), False),
                ("torch bf16 compile", reference.Method("float"), (), True),
                ("torch QuEST W4A4 eager", reference.Method("quest", bits=4),
                 quantized, False),
                ("torch StableQAT W4 eager",
                 reference.Method("stableqat", bits=4), quantized, False)]
    out = {}
    dev = a.torch_device
    for label, method, q, use_compile in variants:
        try:
            out[label] = torch_run(a, cfg, w, method, q, use_compile, data)
            print(f"{label}: {out[label][0]:.2f} ms/step", flush=True)
        except Exception as e:  # report it, run the others
            print(f"{label}: failed on {dev}: {type(e).__name__}: {e}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--artifacts", type=pathlib.Path,
                    default=ROOT / ".device-carry" / "transformer")
    ap.add_argument("--compile-only", action="store_true")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--methods", default=",".join(QAT_METHODS))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=pathlib.Path)
    ap.add_argument("--torch-device", default="cuda",
                    help="where the PyTorch runs go (cpu: a smoke test)")
    a = ap.parse_args()
    if a.compile_only:
        compile_artifacts(a)
        return 0
    spec = json.loads((a.artifacts / "model" / "transformer.json").read_text())
    cfg = spec["config"]
    tokens = cfg["batch"] * cfg["context"]
    data = corpus.Corpus()
    rows = {}
    for name in a.methods.split(","):
        if not (a.artifacts / name / "module.o").exists():
            print(f"{name}: no artifact in {a.artifacts / name}; skipped")
            continue
        ms, losses = qat_run(a, name, spec, data)
        rows[f"qat {name}"] = (ms, losses)
        print(f"qat {name}: {ms:.2f} ms/step", flush=True)
    rows.update(torch_runs(a, spec, data))
    import torch
    device = torch.cuda.get_device_name() if torch.cuda.is_available() \
        else "no CUDA device"
    print(f"\n{device}; model {cfg}; {a.steps} steps, median step after 5")
    print(f"{'run':<28} {'ms/step':>9} {'tokens/s':>10} {'first':>8} "
          f"{'last':>8}")
    for label, (ms, losses) in rows.items():
        print(f"{label:<28} {ms:9.2f} {tokens / ms * 1e3:10.0f} "
              f"{losses[0]:8.4f} {losses[-1]:8.4f}")
    if a.json:
        a.json.write_text(json.dumps(
            {"device": device, "date": time.strftime("%Y-%m-%d"),
             "torch": torch.__version__, "config": cfg, "steps": a.steps,
             "runs": {k: {"ms_per_step": v[0], "losses": v[1]}
                      for k, v in rows.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
