#!/usr/bin/env python3
"""A linear layer's forward with bias and GELU, gelu(x w^T + b) rounded to
bf16, compiled with the bias and GELU in the contraction kernel's epilogue
(the default) and without (fuse-epilogues=0: the matmul stores f32, one more
kernel reads it back), side by side with PyTorch bf16 (cuBLAS + its own
bias/GELU kernels).

usage:
  epilogue_gpu.py emit OUT.mlir                                (here)
  scripts/gpu/compile.py OUT.mlir FUSED --chip sm_90a
  scripts/gpu/compile.py OUT.mlir UNFUSED --chip sm_90a --pipeline-options fuse-epilogues=0
  epilogue_gpu.py run --fused FUSED --unfused UNFUSED [--json PATH]   (GPU machine)

`run` checks both builds against a float64 reference on the GPU first
(bf16 products are exact in f32: the product's error is its f32
accumulation, at most K 2^-24 sum|x w| = 2^-13 sum|x w| at K = 2048 in any
order, GELU's slope is below
1.13, erf and the f32 operations add 1e-6 of (|pre-activation| + 1), and
the result is rounded once to bf16: 2^-8 of |ref| plus that error), then
times them (GPU time per call, run_gpu.bench_gpu).
"""

import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

M = 4096
SHAPES = [(2048, 2048), (11264, 2048)]


def t(*shape, dtype="bf16"):
    return "tensor<" + "".join(f"{d}x" for d in shape) + f"{dtype}>"


def function(n, k):
    x, w, b = t(M, k), t(n, k), t(n, dtype="f32")
    y, out = t(M, n, dtype="f32"), t(M, n)
    return f"""
func.func @linear_gelu_{M}x{n}x{k}(%x: {x}, %w: {w}, %b: {b}) -> {out} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {y}
  %z = linalg.fill ins(%zero : f32) outs(%e : {y}) -> {y}
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : {x}, {w}) outs(%z : {y}) -> {y}
  %bb = linalg.broadcast ins(%b : {b}) outs(%e : {y}) dimensions = [0]
  %s = linalg.add ins(%y, %bb : {y}, {y}) outs(%e : {y}) -> {y}
  %eo = tensor.empty() : {out}
  %g = linalg.generic {{indexing_maps = [affine_map<(m, n) -> (m, n)>,
      affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]}}
      ins(%s : {y}) outs(%eo : {out}) {{
  ^bb0(%v: f32, %o: bf16):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %rs2 = arith.constant 0.707106769 : f32
    %u = arith.mulf %v, %rs2 : f32
    %er = math.erf %u : f32
    %p = arith.addf %er, %one : f32
    %h = arith.mulf %v, %half : f32
    %r = arith.mulf %h, %p : f32
    %rb = arith.truncf %r : f32 to bf16
    linalg.yield %rb : bf16
  }} -> {out}
  return %g : {out}
}}
"""


def emit(out):
    pathlib.Path(out).write_text(
        "module {" + "".join(function(n, k) for n, k in SHAPES) + "}\n")


def run(args):
    import numpy as np
    import torch

    from run_gpu import QATKernels, bench_gpu

    import compiled  # on the path once run_gpu is imported

    builds = {"fused": QATKernels(pathlib.Path(args.fused)),
              "unfused": QATKernels(pathlib.Path(args.unfused))}
    print(f"device: {torch.cuda.get_device_name()}; torch {torch.__version__}")
    torch.manual_seed(0)
    rows, failures = [], 0
    for n, k in SHAPES:
        name = f"linear_gelu_{M}x{n}x{k}"
        flops = 2 * M * n * k
        x = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, device="cuda", dtype=torch.float32)
        pre = x.double() @ w.double().t() + b.double()
        ref = torch.nn.functional.gelu(pre)
        terms = x.double().abs() @ w.double().abs().t()
        err_in = 1.13 * 2.0 ** -13 * terms + 1e-6 * (pre.abs() + 1)
        bound = err_in + 2.0 ** -8 * (ref.abs() + err_in) + 1e-30
        del pre, terms
        row = {"shape": f"{M}x{n}x{k}"}
        for label, kernels in builds.items():
            (out,) = kernels.fetch(name, x, w, b)
            out = torch.from_numpy(compiled.from_bf16(out).astype(np.float32)).cuda().double()
            worst = ((out - ref).abs() / bound).max().item()
            ok = worst <= 1 and not torch.isnan(out).any().item()
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label} {name}: max error {worst:.3f} of the bound")
            row[label + "_us"] = 1e3 * bench_gpu(lambda: kernels.run(name, x, w, b))
        del ref, bound, err_in
        wb = w.t()
        bb = b.to(torch.bfloat16)
        row["torch_us"] = 1e3 * bench_gpu(
            lambda: torch.nn.functional.gelu(torch.addmm(bb, x, wb)))
        row["cublas_matmul_us"] = 1e3 * bench_gpu(lambda: x @ wb)
        row["tflops_fused"] = flops / row["fused_us"] / 1e6
        rows.append(row)

    print("\nGPU time per call (us), M = 4096, gelu(x w^T + b) -> bf16")
    print("| M x N x K | qat fused | qat unfused | unfused / fused | PyTorch bf16 "
          "(addmm + gelu) | cuBLAS matmul alone |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['fused_us']:.0f} | {r['unfused_us']:.0f} | "
              f"{r['unfused_us'] / r['fused_us']:.2f} | {r['torch_us']:.0f} | "
              f"{r['cublas_matmul_us']:.0f} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
             "rows": rows, "failures": failures}, indent=1))
    if failures:
        raise SystemExit(f"epilogue_gpu.py: {failures} checks failed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("emit")
    e.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("--fused", required=True)
    r.add_argument("--unfused", required=True)
    r.add_argument("--json")
    args = ap.parse_args()
    if args.command == "emit":
        emit(args.out)
    else:
        run(args)


if __name__ == "__main__":
    main()
