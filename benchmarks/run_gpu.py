#!/usr/bin/env python3
"""Benchmarks on the GPU machine, side by side in one run: the fused qat
quantizer kernels and qat.matmul against PyTorch eager, torch.compile,
cuBLAS bf16 (torch.matmul) and torch._int_mm, with the bytes each quantizer
must move as a share of the measured copy bandwidth.

usage: run_gpu.py [--artifacts DIR] [--quick]
Results: a table on stdout (and JSON with --json PATH). See docs/benchmarks.md.
"""

import argparse
import json
import sys

import torch

import torch_baselines as tb

M = 4096
SHAPES = [(2048, 2048), (11264, 2048), (4096, 4096), (22016, 4096), (4096, 11008)]


def bench(fn, warmup=5, repeat=30):
    """Median milliseconds of fn() with CUDA events; inputs rotate so the L2
    cache does not hold them between calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth():
    n = 1 << 28  # 1 GiB of f32
    a = torch.empty(n, device="cuda")
    b = torch.empty_like(a)
    ms = bench(lambda: b.copy_(a))
    return 2 * a.numel() * 4 / (ms * 1e-3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.cuda.get_device_name()
    bw = copy_bandwidth()
    print(f"device: {dev}; torch {torch.__version__}; copy bandwidth {bw / 1e12:.2f} TB/s")
    rows = []
    h = tb.hadamard_matrix(128, "cuda")
    qf_c, qb_c = tb.compiled(tb.quest_forward), tb.compiled(tb.quest_backward)
    sf_c, sb_c = tb.compiled(tb.stableqat_forward), tb.compiled(tb.stableqat_backward)
    shapes = SHAPES[:2] if args.quick else SHAPES
    for n, k in shapes:
        x = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        dy = torch.randn_like(x)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02
        dw = torch.randn_like(w)
        s = (w.float().abs().amax(-1, keepdim=True) / 7).contiguous()
        _, _, mask = tb.quest_forward(x, h)
        # Floor of bytes: QuEST fwd reads x (2 B) and writes int4 codes (0.5 B),
        # a bit mask (1/8 B) and one f32 step per row; bwd reads dy (2 B) and
        # the mask, writes dx (2 B).
        quest_bytes = M * k * (2 + 0.5 + 0.125) + M * 4 + M * k * (2 + 0.125 + 2)
        stable_bytes = n * k * (2 + 2) + n * k * (2 + 2 + 2) + 2 * n * 4
        for label, fwd, bwd in (("eager", tb.quest_forward, tb.quest_backward),
                                ("torch.compile", qf_c, qb_c)):
            ms = bench(lambda: (fwd(x, h), bwd(dy, mask, h)))
            rows.append(dict(kernel="QuEST quantizer fwd+bwd", shape=f"{M}x{k}", impl=label,
                             ms=ms, pct_bw=100 * quest_bytes / (ms * 1e-3) / bw))
        for label, fwd, bwd in (("eager", tb.stableqat_forward, tb.stableqat_backward),
                                ("torch.compile", sf_c, sb_c)):
            ms = bench(lambda: (fwd(w, s), bwd(dw, w, s)))
            rows.append(dict(kernel="StableQAT quantizer fwd+bwd", shape=f"{n}x{k}", impl=label,
                             ms=ms, pct_bw=100 * stable_bytes / (ms * 1e-3) / bw))
        a16 = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        b16 = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        a8 = torch.randint(-8, 8, (M, k), device="cuda", dtype=torch.int8)
        b8 = torch.randint(-8, 8, (k, n), device="cuda", dtype=torch.int8).t().contiguous().t()
        flops = 2 * M * n * k
        ms = bench(lambda: a16 @ b16.t())
        rows.append(dict(kernel="matmul", shape=f"{M}x{n}x{k}", impl="cuBLAS bf16",
                         ms=ms, tflops=flops / ms / 1e9))
        ms = bench(lambda: torch._int_mm(a8, b8))
        rows.append(dict(kernel="matmul", shape=f"{M}x{n}x{k}", impl="torch._int_mm int8",
                         ms=ms, tflops=flops / ms / 1e9))
    print(f"{'kernel':30} {'shape':18} {'implementation':22} {'ms':>8} {'%copy BW':>9} {'TOP/s':>7}")
    for r in rows:
        pct = f"{r['pct_bw']:.1f}" if "pct_bw" in r else ""
        tf = f"{r['tflops']:.0f}" if "tflops" in r else ""
        print(f"{r['kernel']:30} {r['shape']:18} {r['impl']:22} {r['ms']:8.3f} {pct:>9} {tf:>7}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=dev, copy_bw=bw, rows=rows), f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
