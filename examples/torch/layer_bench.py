#!/usr/bin/env python3
"""One linear layer's forward + backward (input and weight gradients), qat's
QATLinear next to PyTorch's bf16 layer, side by side in one run, with the
results in JSON.

Variants (rows that name a layer that cannot run here are left out):
  bf16               nn.Linear with bf16 weights (the bf16 layer; ratios are to it)
  bf16 autocast      F.linear on f32 weights cast to bf16 per call, f32 weight
                     gradient (what train.py's bf16 model does)
  compiled bf16      the bf16 layer under torch.compile (--compile: the first
                     shape only, where it compiles in seconds)
  qat quest W4A4     QATLinear, its GEMMs in its compiled functions (qat's
                     tensor-core contraction kernels)
  qat quest W4A4 dyn QATLinear(dynamic_rows=True): one artifact for every
                     number of rows, the GEMMs' kernels reading M at run time
  qat quest W4A4 packed  QATLinear(packed=True): 4-bit codes two a byte (on
                     Hopper the default stores one a byte)
  qat stableqat W4   the same for StableQAT (and its dyn)
  torch quest W4A4   the pure-PyTorch fake-quant layer (reference.py), eager

Times: `gpu_ms` is the GPU time per forward + backward with the host's launch
overhead hidden (benchmarks/run_gpu.py's bench_gpu: the calls are queued
behind a sleep kernel; median of 5 x 20); `ms` the time per iteration of
back-to-back iterations with the host included (CUDA events around 20,
median of 5), what a training loop sees when the host is the bottleneck;
`gemm_tflops` counts the three GEMMs' 6 M N K flops over `gpu_ms`.
Before timing, the qat layers' outputs and gradients are compared with the
dynamic-rows layer's (the same math, other kernels): relative errors go
into the JSON (`agree`), over 2e-2 fails the run.

The qat variants' artifacts come from examples/torch/build.py (its
--layer-bench shapes are these); where qat-opt is, missing ones compile on
first use.

usage:
  layer_bench.py [--shapes ...] [--compile] [--profile] [--json OUT.json]
                                              on the GPU machine
  layer_bench.py --device cpu --shapes 64x256x96                 a smoke run on the CPU
                                              (wall-clock times, CPU artifacts)
Shapes are MxKxN (x: M x K, weight: N x K); the default is QuEST's target
8192x2048x4096 and four of benchmarks/contraction_gpu.py's (M = 4096).
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python-bindings" / "qat"))
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

SHAPES = ["8192x2048x4096", "4096x2048x2048", "4096x2048x11264", "4096x4096x4096",
          "4096x11008x4096"]
# (name, method, bits, dynamic_rows)
# (name, method, bits, dynamic rows, packed codes; None: the chip's default)
QAT_VARIANTS = [("qat quest W4A4", "quest", 4, False, None),
                ("qat quest W4A4 dyn", "quest", 4, True, None),
                ("qat quest W4A4 packed", "quest", 4, False, True),
                ("qat stableqat W4", "stableqat", 4, False, None),
                ("qat stableqat W4 dyn", "stableqat", 4, True, None)]
AGREE_TOLERANCE = 2e-2


def parse(shape):
    m, k, n = map(int, shape.split("x"))
    return m, k, n


def layers(m, k, n, compile_bf16, device):
    """(name, module factory) per variant."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    import reference as ref
    from torch_layers import QATLinear

    class AutocastLinear(nn.Linear):
        def forward(self, x):
            return F.linear(x, self.weight.to(torch.bfloat16))

    def bf16():
        return nn.Linear(k, n, bias=False, device=device, dtype=torch.bfloat16)

    made = [("bf16", bf16),
            ("bf16 autocast", lambda: AutocastLinear(k, n, bias=False, device=device))]
    if compile_bf16:
        made.append(("compiled bf16", lambda: torch.compile(bf16())))
    made += [(name, lambda method=method, bits=bits, dynamic=dynamic, packed=packed: QATLinear(
        k, n, method=method, bits=bits, packed=packed, device=device, dynamic_rows=dynamic))
        for name, method, bits, dynamic, packed in QAT_VARIANTS]
    made.append(("torch quest W4A4",
                 lambda: ref.RefQuantLinear(k, n, method="quest", bits=4, device=device)))
    return made


def agreement(layer, reference, x, dy):
    """Relative errors of y, dx, dw (and ds) of `layer` against `reference`
    (same weights) on x, dy."""
    import torch

    with torch.no_grad():
        for p, q in zip(layer.parameters(), reference.parameters()):
            q.copy_(p)
    out = []
    for module in (layer, reference):
        xin = x.detach().clone().requires_grad_()
        y = module(xin)
        y.backward(dy)
        out.append([y, xin.grad] + [p.grad for p in module.parameters()])
        for p in module.parameters():
            p.grad = None
    names = ["y", "dx", "dw", "ds"]
    return {names[i]: ((a.double() - b.double()).norm() / b.double().norm()).item()
            for i, (a, b) in enumerate(zip(*out))}


def bench_layer(make, x, dy, repeat=20):
    import torch

    layer = make()
    params = list(layer.parameters())

    def step():
        y = layer(x)
        y.backward(dy)
        x.grad = None
        for p in params:
            p.grad = None

    for _ in range(3):
        step()
    if not x.is_cuda:
        start = time.perf_counter()
        step()
        ms = (time.perf_counter() - start) * 1e3
        return layer, ms, ms, step

    from run_gpu import bench_gpu

    torch.cuda.synchronize()
    gpu_ms = bench_gpu(step)
    samples = []
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeat):
            step()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / repeat)
    return layer, gpu_ms, statistics.median(samples), step


def bench_shape(m, k, n, where="cuda", compile_bf16=False, failed=None, profile=False):
    """The rows (one dict per variant) of one shape; ratios are to the first
    (bf16). Failures (a variant that cannot run, a qat layer that disagrees
    with its dynamic-rows twin) go to `failed`. With `profile`, the bf16 and
    qat rows get their kernels' GPU times (`kernels_us`)."""
    import torch

    from torch_layers import QATLinear

    failed = [] if failed is None else failed
    gen = torch.Generator(device=where).manual_seed(1)
    x = torch.randn(m, k, device=where, generator=gen).to(torch.bfloat16).requires_grad_()
    dy = torch.randn(m, n, device=where, generator=gen).to(torch.bfloat16)
    shape = f"{m}x{k}x{n}"
    rows = []
    for name, make in layers(m, k, n, compile_bf16, where):
        try:
            layer, gpu_ms, ms, step = bench_layer(make, x, dy)
        except Exception as e:  # noqa: BLE001 -- reported, the others still run
            print(f"  {name:24s} failed: {e}", flush=True)
            failed.append(f"{shape} {name}: {e}")
            continue
        # The three GEMMs of forward + backward, 2 m n k each.
        row = {"variant": name, "gpu_ms": gpu_ms, "ms": ms,
               "gemm_tflops": 6 * m * n * k / (gpu_ms * 1e9)}
        if isinstance(layer, QATLinear) and not layer.dynamic_rows:
            reference = QATLinear(k, n, method=layer.method, bits=layer.bits,
                                  device=where, dynamic_rows=True)
            row["agree"] = agreement(layer, reference, x, dy)
            worst = max(row["agree"].values())
            if not worst <= AGREE_TOLERANCE:  # NaN fails
                failed.append(f"{shape} {name}: differs from dynamic rows by {worst:.3e}")
        if profile and where == "cuda" and (name == "bf16" or name.startswith("qat")):
            from run_gpu import kernel_times

            row["kernels_us"] = kernel_times(step)
        rows.append(row)
        del layer, step
    for row in rows:
        row["gpu_vs_bf16"] = row["gpu_ms"] / rows[0]["gpu_ms"]
        row["vs_bf16"] = row["ms"] / rows[0]["ms"]
        agree = (" agree " + " ".join(f"{k} {v:.1e}" for k, v in row["agree"].items())
                 if "agree" in row else "")
        print(f"  {row['variant']:24s} gpu {row['gpu_ms']:8.3f} ms {row['gpu_vs_bf16']:6.2f}x"
              f" {row['gemm_tflops']:6.1f} TFLOP/s   iter {row['ms']:8.3f} ms"
              f" {row['vs_bf16']:6.2f}x{agree}", flush=True)
    for row in rows:
        if row.get("kernels_us"):
            print(f"\n  kernels of {row['variant']} (torch.profiler, us per iteration, launches):")
            for kernel, us, count in row["kernels_us"]:
                print(f"    {us:9.1f}  {count:4.1f}  {kernel[:100]}")
            print(f"    {sum(r[1] for r in row['kernels_us']):9.1f}  in all", flush=True)
    if where == "cuda":
        torch.cuda.empty_cache()
    return rows


def run(args):
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    where = args.device
    device = torch.cuda.get_device_name() if where == "cuda" else "cpu"
    print(f"device: {device}, torch {torch.__version__}; forward + backward of one layer, "
          "GPU ms (host hidden) and ms per iteration (host included)", flush=True)
    results = {"device": device, "torch": torch.__version__,
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "shapes": []}
    failed = []
    for index, shape in enumerate(args.shapes):
        m, k, n = parse(shape)
        print(f"\nx {m}x{k} -> {n} (weight {n}x{k})", flush=True)
        rows = bench_shape(m, k, n, where, args.compile and index == 0, failed, args.profile)
        results["shapes"].append({"m": m, "k": k, "n": n, "rows": rows})
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"\nwrote {args.json}")
    if failed:
        print("FAILED: " + "; ".join(failed))
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default=",".join(SHAPES), help="MxKxN,...")
    ap.add_argument("--compile", action="store_true",
                    help="add the bf16 layer under torch.compile (first shape)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--profile", action="store_true",
                    help="the bf16 and qat layers' kernel times (torch.profiler)")
    args = ap.parse_args()
    args.shapes = args.shapes.split(",")
    run(args)


if __name__ == "__main__":
    main()
