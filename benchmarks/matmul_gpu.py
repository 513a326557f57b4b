#!/usr/bin/env python3
"""qat.matmul alone on the GPU machine: checks and times the matmul_s4_* and
matmul_s8_* functions of one or more compiled modules next to cuBLAS bf16 and
torch._int_mm, at the shapes of run_gpu.py (M = 4096).

usage: matmul_gpu.py --artifacts [LABEL=]DIR [--artifacts ...] [--json PATH]

Each DIR holds `qat_kernels.py OUT --matmul-only` compiled by
scripts/gpu/compile.py (several DIRs compare variants of the kernels in one
run). Before timing, every function's result on fresh random codes is
compared element by element with a float64 product of the codes on the GPU
(exact: all partial sums are integers or quarters far below 2^53): the bf16
output may differ from it by one bf16 rounding (2^-8 relative) and the fp32
roundings of the epilogue, nothing more; zero where the exact sum is zero.
Times are GPU times per call (run_gpu.bench_gpu).
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import torch

from run_gpu import M, SHAPES, QATKernels, bench_gpu

TOLERANCE = 2.0 ** -8 + 1e-6


def unpack(packed):
    """Codes of a packed i8 tensor (element 2j in the low nibble of byte j)."""
    b = packed.to(torch.int16)
    low = ((b & 0xF) ^ 8) - 8
    high = b >> 4
    return torch.stack((low, high), dim=-1).flatten(-2)


def check(out, exact, sa, sb):
    ref = exact * sa.double() * sb.double().t()
    err = (out.double() - ref).abs()
    worst = (err / ref.abs().clamp_min(1e-300)).max().item()
    return worst, worst <= TOLERANCE and not torch.isnan(out).any().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", action="append", required=True)
    ap.add_argument("--json")
    args = ap.parse_args()
    variants = []
    for spec in args.artifacts:
        label, _, path = spec.rpartition("=")
        path = pathlib.Path(path)
        variants.append((label or path.name, QATKernels(path)))
    print(f"device: {torch.cuda.get_device_name()}; torch {torch.__version__}")
    torch.manual_seed(0)
    rows, failures = [], 0
    for n, k in SHAPES:
        flops = 2 * M * n * k
        shape = f"{M}x{n}x{k}"
        a16 = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        b16 = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        rows.append((shape, "cuBLAS bf16", flops / bench_gpu(lambda: a16 @ b16.t()) / 1e9, ""))
        a8 = torch.randint(-128, 128, (M, k), device="cuda", dtype=torch.int8)
        b8 = torch.randint(-128, 128, (n, k), device="cuda", dtype=torch.int8)
        b8t = b8.t()
        rows.append((shape, "torch._int_mm", flops / bench_gpu(lambda: torch._int_mm(a8, b8t)) / 1e9,
                     ""))
        a4 = torch.randint(-128, 128, (M, k // 2), device="cuda", dtype=torch.int8)
        b4 = torch.randint(-128, 128, (n, k // 2), device="cuda", dtype=torch.int8)
        sa = torch.rand(M, 1, device="cuda") * 0.1 + 0.01
        sb = torch.rand(n, 1, device="cuda") * 0.1 + 0.01
        # s4: centered x centered, levels code + 1/2; s8: signed x signed.
        exact4 = (unpack(a4).double() + 0.5) @ (unpack(b4).double() + 0.5).t()
        exact8 = a8.double() @ b8.double().t()
        for label, qat in variants:
            for kind, operands, exact in (("s4", (a4, b4), exact4), ("s8", (a8, b8), exact8)):
                name = f"matmul_{kind}_{shape}"
                if name not in qat:
                    continue
                (bits,) = qat.fetch(name, *operands, sa, sb)  # bf16 as uint16
                out = torch.from_numpy(bits.view(np.int16)).cuda().view(torch.bfloat16)
                worst, ok = check(out, exact, sa, sb)
                failures += not ok
                tops = flops / bench_gpu(lambda: qat.run(name, *operands, sa, sb)) / 1e9
                rows.append((shape, f"qat {kind} {label}", tops,
                             f"max rel err {worst:.2g}" + ("" if ok else " FAIL")))
        del exact4, exact8
        torch.cuda.empty_cache()
    print(f"{'shape':18} {'implementation':28} {'TOP/s':>7}  check")
    for shape, impl, tops, note in rows:
        print(f"{shape:18} {impl:28} {tops:7.0f}  {note}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            dict(device=torch.cuda.get_device_name(), rows=rows), indent=1))
    print("all checks pass" if not failures else f"{failures} checks FAIL")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
