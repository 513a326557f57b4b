#!/usr/bin/env python3
"""Times QuEST's qat.matmul alone (centered 4-bit codes, per-row steps, bf16
result) with the codes stored one per byte (s8 tensor cores) and two per byte
(s4 tensor cores), next to cuBLAS's bf16 GEMM of the same shape and
torch._int_mm (cuBLASLt int8, int32 result), on the shapes of train.py's
models. Both qat variants get the same codes, so their results must agree
exactly; that is checked too.

usage: matmul_bench.py [--models base,small]
"""

import argparse
import pathlib
import statistics
import sys
import time

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python-bindings" / "qat"))

import shapes  # noqa: E402
import torch_mlir  # noqa: E402
from torch_layers import load_kernels  # noqa: E402


def median_ms(fn, repeat=20, rounds=5):
    for _ in range(3):
        fn()
    samples = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeat):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / repeat)
    return statistics.median(samples)


def pack(codes):
    """Two 4-bit codes per byte: element 2j in the low nibble."""
    low, high = codes[:, 0::2].to(torch.int16), codes[:, 1::2].to(torch.int16)
    return ((low & 0xF) | ((high & 0xF) << 4)).to(torch.uint8).view(torch.int8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(shapes.MODELS))
    args = ap.parse_args()
    gen = torch.Generator(device="cuda").manual_seed(2)
    print(f"{'M x N x K':22s}{'qat s8':>10s}{'qat s4':>10s}{'bf16 mm':>10s}{'int8 mm':>10s}"
          f"   (ms; TOP/s in brackets)   s8 == s4")
    for m, n, k in shapes.matmul_shapes(args.models.split(",")):
        a = torch.randint(-8, 8, (m, k), device="cuda", generator=gen, dtype=torch.int8)
        b = torch.randint(-8, 8, (n, k), device="cuda", generator=gen, dtype=torch.int8)
        sa = torch.rand(m, 1, device="cuda", generator=gen) + 0.5
        sb = torch.rand(n, 1, device="cuda", generator=gen) + 0.5
        s8 = load_kernels(*torch_mlir.matmul_module(m, n, k, 4, False), "cuda")["matmul"]
        s4 = load_kernels(*torch_mlir.matmul_module(m, n, k, 4, True), "cuda")["matmul"]
        ap_, bp = pack(a), pack(b)
        same = torch.equal(s8(a, b, sa, sb)[0], s4(ap_, bp, sa, sb)[0])
        xb = torch.randn(m, k, device="cuda", generator=gen, dtype=torch.bfloat16)
        wb = torch.randn(n, k, device="cuda", generator=gen, dtype=torch.bfloat16)
        times = [median_ms(lambda: s8(a, b, sa, sb)), median_ms(lambda: s4(ap_, bp, sa, sb)),
                 median_ms(lambda: torch.mm(xb, wb.t()))]
        try:  # b.t() is column-major, as cuBLASLt's int8 GEMM wants it
            times.append(median_ms(lambda: torch._int_mm(a, b.t())))
        except RuntimeError:
            times.append(float("nan"))
        ops = 2 * m * n * k
        print(f"{f'{m} x {n} x {k}':22s}" + "".join(f"{t:10.3f}" for t in times)
              + "   [" + " ".join(f"{ops / t / 1e9:.0f}" for t in times) + f"]   {same}")

    # Host cost of one call from Python (argument checks, descriptors, the
    # call, wrapping 5 results as tensors), on a small QuEST forward whose GPU
    # work is shorter than that.
    fwd = load_kernels(*torch_mlir.layer_artifact("quest", 4, 200, 320, 512), "cuda")["forward"]
    x = torch.randn(200, 512, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(320, 512, device="cuda")
    for _ in range(10):
        fwd(x, w)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(1000):
        fwd(x, w)
    host = (time.perf_counter() - start) / 1000 * 1e6
    torch.cuda.synchronize()
    # The same without making tensors of the results: the compiled function
    # and the runtime alone (results freed at once).
    free = fwd.runtime.lib.qat_cuda_free
    start = time.perf_counter()
    for _ in range(1000):
        fwd.runtime.enter(0)
        fwd.function.entry(fwd.out_ref, *fwd.refs)
        for d in fwd.out_descs:
            free(d.allocated)
    raw = (time.perf_counter() - start) / 1000 * 1e6
    torch.cuda.synchronize()
    print(f"host time of one qat call from Python (QuEST forward: 3 kernels, 2 inputs, "
          f"5 results): {host:.1f} us, of which the compiled function and runtime "
          f"{raw:.1f} us")


if __name__ == "__main__":
    main()
