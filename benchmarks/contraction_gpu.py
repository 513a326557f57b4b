#!/usr/bin/env python3
"""Float contractions and qat.matmul s8 on the tensor cores, side by side with
cuBLAS bf16 and torch._int_mm, at the shapes of run_gpu.py (M = 4096).

usage:
  contraction_gpu.py emit OUT.mlir [--shapes NxK,...]                  (here)
  contraction_gpu.py run --artifacts DIR [--shapes NxK,...] [--json PATH]  (GPU)

`emit` writes one module for scripts/gpu/compile.py with, per (N, K):
- bf16_nt_MxNxK(a: M x K, b: N x K) -> M x N bf16: a b^T as linalg.matmul
  with a transposed B map (the forward of a linear layer, cuBLAS's a @ b.t());
- bf16_tn_MxNxK(dy: K' x M, x: K' x N) -> M x N: dy^T x, the weight gradient
  form of a backward pass (here K' = K rows of the reduction);
- bf16_nt_dyn_MxNxK, bf16_tn_dyn_MxNxK: the same two with the rows dynamic
  in the types (M of the first, the reduction's K' of the second), as a
  training step compiled for every batch size has them;
- matmul_s8_MxNxK: qat.matmul of signed 8-bit codes with per-row steps, bf16
  out (as benchmarks/qat_kernels.py --matmul-only);
- matmul_c4_MxNxK: the same on QuEST's centered 4-bit codes (one a byte, level
  code + 1/2), whose wgmma kernel reads the row sums of both operands' codes
  (a launch of the row-sum kernel each; their time is in the row);
- matmul_p4_MxNxK: the same codes packed two a byte, as stored weights come
  (function arguments): a launch of the unpacking kernel per operand, then
  the s8 wgmma kernel (their time is in the row);
- matmul_e4m3_MxNxK: qat.matmul of fp8 e4m3 codes with per-row steps, bf16
  out, next to torch._scaled_mm with the same row-wise scales.

`run` checks every function on random data against a float64 product on the
GPU (bf16 products are exact in f32: the error is the f32 accumulation and
one bf16 rounding of the result, bound 2^-8 |ref| + 2^-14 sum|a b|; the s8
sum is exact, bound 2^-8 |ref|), then times them (GPU time per call,
run_gpu.bench_gpu) with cuBLAS bf16 and torch._int_mm on the same shapes and
prints TFLOP/s (TOP/s for integers) and ratios. fp8 sums in f32 on
Hopper's tensor cores, which keep fewer bits: bound 2^-8 |ref| + 2^-10
sum|a b|.
"""

import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

M = 4096
SHAPES = [(2048, 2048), (11264, 2048), (4096, 4096), (22016, 4096), (4096, 11008)]
S8 = "<signed, 8 bits, absmax, per_row>"
E4M3 = "<e4m3, 8 bits, absmax, per_row>"
C4 = "<centered, 4 bits, rms_gaussian, per_row>"


def t(*shape, dtype="bf16"):
    return "tensor<" + "x".join(map(str, shape)) + f"x{dtype}>"


def functions(n, k):
    a, b, bt, y = t(M, k), t(n, k), t(k, n), t(M, n)
    dy = t(k, M)
    sa, sb = t(M, 1, dtype="f32"), t(n, 1, dtype="f32")
    a8, b8 = t(M, k, dtype="i8"), t(n, k, dtype="i8")
    a4, b4 = t(M, k // 2, dtype="i8"), t(n, k // 2, dtype="i8")
    shape = f"{M}x{n}x{k}"
    fill = (f"  %zero = arith.constant 0.0 : bf16\n  %e = tensor.empty() : {y}\n"
            f"  %z = linalg.fill ins(%zero : bf16) outs(%e : {y}) -> {y}\n")
    return f"""
func.func @bf16_nt_{shape}(%a: {a}, %b: {b}) -> {y} {{
{fill}  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : {a}, {b}) outs(%z : {y}) -> {y}
  return %y : {y}
}}
func.func @bf16_tn_{shape}(%dy: {dy}, %x: {bt}) -> {y} {{
{fill}  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
      affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%dy, %x : {dy}, {bt}) outs(%z : {y}) -> {y}
  return %y : {y}
}}
func.func @bf16_nt_dyn_{shape}(%a: {t("?", k)}, %b: {b}) -> {t("?", n)} {{
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : {t("?", k)}
  %zero = arith.constant 0.0 : bf16
  %e = tensor.empty(%m) : {t("?", n)}
  %z = linalg.fill ins(%zero : bf16) outs(%e : {t("?", n)}) -> {t("?", n)}
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : {t("?", k)}, {b}) outs(%z : {t("?", n)}) -> {t("?", n)}
  return %y : {t("?", n)}
}}
func.func @bf16_tn_dyn_{shape}(%dy: {t("?", M)}, %x: {t("?", n)}) -> {y} {{
{fill}  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
      affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%dy, %x : {t("?", M)}, {t("?", n)}) outs(%z : {y}) -> {y}
  return %y : {y}
}}
func.func @matmul_s8_{shape}(%a: {a8}, %b: {b8}, %sa: {sa}, %sb: {sb}) -> {y} {{
  %y = qat.matmul %a, %b, %sa, %sb as {S8}, {S8} : {a8}, {b8}, {sa}, {sb} -> {y}
  return %y : {y}
}}
func.func @matmul_c4_{shape}(%a: {a8}, %b: {b8}, %sa: {sa}, %sb: {sb}) -> {y} {{
  %y = qat.matmul %a, %b, %sa, %sb as {C4}, {C4} : {a8}, {b8}, {sa}, {sb} -> {y}
  return %y : {y}
}}
func.func @matmul_e4m3_{shape}(%a: {a8}, %b: {b8}, %sa: {sa}, %sb: {sb}) -> {y} {{
  %y = qat.matmul %a, %b, %sa, %sb as {E4M3}, {E4M3} : {a8}, {b8}, {sa}, {sb} -> {y}
  return %y : {y}
}}
func.func @matmul_p4_{shape}(%a: {a4}, %b: {b4}, %sa: {sa}, %sb: {sb}) -> {y} {{
  %y = qat.matmul %a, %b, %sa, %sb as {C4}, {C4} packed : {a4}, {b4}, {sa}, {sb} -> {y}
  return %y : {y}
}}
"""


def parse_shapes(text):
    """`N1xK1,N2xK2,...` (M stays 4096); empty: the issue's five shapes."""
    if not text:
        return SHAPES
    try:
        return [tuple(int(d) for d in s.split("x")) for s in text.split(",")]
    except ValueError:
        raise SystemExit(f"contraction_gpu.py: --shapes {text!r} is not NxK[,NxK...]")


def emit(out, shapes):
    pathlib.Path(out).write_text(
        "module {" + "".join(functions(n, k) for n, k in shapes) + "}\n")


def run(args):
    import numpy as np
    import torch

    from run_gpu import QATKernels, bench_gpu

    import compiled  # on the path once run_gpu is imported

    qat = QATKernels(pathlib.Path(args.artifacts))
    print(f"device: {torch.cuda.get_device_name()}; torch {torch.__version__}")
    torch.manual_seed(0)
    rows, failures = [], 0

    def checked(name, out, ref, terms, rel_terms):
        nonlocal failures
        if out.dtype == np.uint16:  # bf16 bit patterns
            out = compiled.from_bf16(out)
        out = torch.from_numpy(np.asarray(out, np.float32)).cuda().double()
        err = (out - ref).abs()
        bound = 2.0 ** -8 * ref.abs() + rel_terms * terms + 1e-30
        worst = (err / bound).max().item()
        ok = worst <= 1 and not torch.isnan(out).any().item()
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max error {worst:.3f} of the bound")

    for n, k in parse_shapes(args.shapes):
        flops = 2 * M * n * k
        shape = f"{M}x{n}x{k}"
        a16 = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        b16 = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        dy16 = torch.randn(k, M, device="cuda", dtype=torch.bfloat16)
        x16 = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
        cublas_nt = flops / bench_gpu(lambda: a16 @ b16.t()) / 1e9
        cublas_tn = flops / bench_gpu(lambda: dy16.t() @ x16) / 1e9
        a8 = torch.randint(-128, 128, (M, k), device="cuda", dtype=torch.int8)
        b8 = torch.randint(-128, 128, (n, k), device="cuda", dtype=torch.int8)
        b8t = b8.t()
        int_mm = flops / bench_gpu(lambda: torch._int_mm(a8, b8t)) / 1e9
        sa = torch.rand(M, 1, device="cuda") * 0.1 + 0.01
        sb = torch.rand(n, 1, device="cuda") * 0.1 + 0.01

        ref = a16.double() @ b16.double().t()
        terms = a16.double().abs() @ b16.double().abs().t()
        (out,) = qat.fetch(f"bf16_nt_{shape}", a16, b16)
        checked(f"bf16_nt_{shape}", out, ref, terms, 2.0 ** -14)
        ref = dy16.double().t() @ x16.double()
        terms = dy16.double().abs().t() @ x16.double().abs()
        (out,) = qat.fetch(f"bf16_tn_{shape}", dy16, x16)
        checked(f"bf16_tn_{shape}", out, ref, terms, 2.0 ** -14)
        (out,) = qat.fetch(f"bf16_tn_dyn_{shape}", dy16, x16)
        checked(f"bf16_tn_dyn_{shape}", out, ref, terms, 2.0 ** -14)
        ref = a16.double() @ b16.double().t()
        terms = a16.double().abs() @ b16.double().abs().t()
        (out,) = qat.fetch(f"bf16_nt_dyn_{shape}", a16, b16)
        checked(f"bf16_nt_dyn_{shape}", out, ref, terms, 2.0 ** -14)
        ref = (a8.double() @ b8.double().t()) * sa.double() * sb.double().t()
        (out,) = qat.fetch(f"matmul_s8_{shape}", a8, b8, sa, sb)
        checked(f"matmul_s8_{shape}", out, ref, ref.abs(), 1e-6)
        c4a = torch.randint(-8, 8, (M, k), device="cuda", dtype=torch.int8)
        c4b = torch.randint(-8, 8, (n, k), device="cuda", dtype=torch.int8)
        ref = ((c4a.double() + 0.5) @ (c4b.double() + 0.5).t()) * sa.double() * sb.double().t()
        (out,) = qat.fetch(f"matmul_c4_{shape}", c4a, c4b, sa, sb)
        checked(f"matmul_c4_{shape}", out, ref, ref.abs(), 1e-6)
        # Two codes a byte, element 2j in the low nibble (docs/semantics.md).
        p4a = ((c4a[:, 0::2] & 15) | (c4a[:, 1::2] << 4)).to(torch.int8)
        p4b = ((c4b[:, 0::2] & 15) | (c4b[:, 1::2] << 4)).to(torch.int8)
        (out,) = qat.fetch(f"matmul_p4_{shape}", p4a, p4b, sa, sb)
        checked(f"matmul_p4_{shape}", out, ref, ref.abs(), 1e-6)
        f8a = (torch.randn(M, k, device="cuda") * 4).to(torch.float8_e4m3fn)
        f8b = (torch.randn(n, k, device="cuda") * 4).to(torch.float8_e4m3fn)
        ref = (f8a.double() @ f8b.double().t()) * sa.double() * sb.double().t()
        terms = (f8a.double().abs() @ f8b.double().abs().t()) * sa.double() * sb.double().t()
        e4a, e4b = f8a.view(torch.int8), f8b.view(torch.int8)
        (out,) = qat.fetch(f"matmul_e4m3_{shape}", e4a, e4b, sa, sb)
        checked(f"matmul_e4m3_{shape}", out, ref, terms, 2.0 ** -10)
        f8bt, sbt = f8b.t(), sb.t().contiguous()
        scaled = torch._scaled_mm(f8a, f8bt, scale_a=sa, scale_b=sbt, out_dtype=torch.bfloat16)
        checked(f"torch._scaled_mm_{shape}", scaled.float().cpu().numpy(), ref, terms,
                2.0 ** -10)
        del ref, terms

        nt = flops / bench_gpu(lambda: qat.run(f"bf16_nt_{shape}", a16, b16)) / 1e9
        tn = flops / bench_gpu(lambda: qat.run(f"bf16_tn_{shape}", dy16, x16)) / 1e9
        nt_dyn = flops / bench_gpu(lambda: qat.run(f"bf16_nt_dyn_{shape}", a16, b16)) / 1e9
        tn_dyn = flops / bench_gpu(lambda: qat.run(f"bf16_tn_dyn_{shape}", dy16, x16)) / 1e9
        s8 = flops / bench_gpu(lambda: qat.run(f"matmul_s8_{shape}", a8, b8, sa, sb)) / 1e9
        c4 = flops / bench_gpu(lambda: qat.run(f"matmul_c4_{shape}", c4a, c4b, sa, sb)) / 1e9
        p4 = flops / bench_gpu(lambda: qat.run(f"matmul_p4_{shape}", p4a, p4b, sa, sb)) / 1e9
        e4 = flops / bench_gpu(lambda: qat.run(f"matmul_e4m3_{shape}", e4a, e4b, sa, sb)) / 1e9
        scaled_mm = flops / bench_gpu(lambda: torch._scaled_mm(
            f8a, f8bt, scale_a=sa, scale_b=sbt, out_dtype=torch.bfloat16)) / 1e9
        rows.append({"shape": shape, "cublas_bf16_nt": cublas_nt, "cublas_bf16_tn": cublas_tn,
                     "torch_int_mm": int_mm, "qat_bf16_nt": nt, "qat_bf16_tn": tn,
                     "qat_bf16_nt_dyn_m": nt_dyn, "qat_bf16_tn_dyn_k": tn_dyn,
                     "qat_s8": s8, "qat_c4": c4, "qat_p4": p4,
                     "torch_scaled_mm_e4m3": scaled_mm, "qat_e4m3": e4})

    print("\nTFLOP/s (TOP/s for s8), M = 4096, GPU time per call")
    print("| M x N x K | cuBLAS bf16 a@b.t() | qat bf16 (same) | ratio | cuBLAS bf16 "
          "a.t()@b | qat bf16 (same) | ratio | torch._int_mm | qat s8 | s8 / cuBLAS bf16 "
          "| s8 / _int_mm | qat c4 | c4 / cuBLAS bf16 | qat p4 | p4 / cuBLAS bf16 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['cublas_bf16_nt']:.0f} | {r['qat_bf16_nt']:.0f} | "
              f"{r['qat_bf16_nt'] / r['cublas_bf16_nt']:.2f} | {r['cublas_bf16_tn']:.0f} | "
              f"{r['qat_bf16_tn']:.0f} | {r['qat_bf16_tn'] / r['cublas_bf16_tn']:.2f} | "
              f"{r['torch_int_mm']:.0f} | {r['qat_s8']:.0f} | "
              f"{r['qat_s8'] / r['cublas_bf16_nt']:.2f} | {r['qat_s8'] / r['torch_int_mm']:.2f} | "
              f"{r['qat_c4']:.0f} | {r['qat_c4'] / r['cublas_bf16_nt']:.2f} | "
              f"{r['qat_p4']:.0f} | {r['qat_p4'] / r['cublas_bf16_nt']:.2f} |")
    print("\nfp8 e4m3 with row-wise steps, bf16 out (TFLOP/s)")
    print("| M x N x K | cuBLAS bf16 | torch._scaled_mm | qat e4m3 | e4m3 / cuBLAS bf16 "
          "| e4m3 / _scaled_mm |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['cublas_bf16_nt']:.0f} | {r['torch_scaled_mm_e4m3']:.0f} | "
              f"{r['qat_e4m3']:.0f} | {r['qat_e4m3'] / r['cublas_bf16_nt']:.2f} | "
              f"{r['qat_e4m3'] / r['torch_scaled_mm_e4m3']:.2f} |")
    print("\nbf16 with the rows dynamic (M of a@b.t(), K of a.t()@b), ratio to cuBLAS")
    print("| M x N x K | a@b.t() static | dynamic M | a.t()@b static | dynamic K |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['shape']} | {r['qat_bf16_nt'] / r['cublas_bf16_nt']:.2f} | "
              f"{r['qat_bf16_nt_dyn_m'] / r['cublas_bf16_nt']:.2f} | "
              f"{r['qat_bf16_tn'] / r['cublas_bf16_tn']:.2f} | "
              f"{r['qat_bf16_tn_dyn_k'] / r['cublas_bf16_tn']:.2f} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
             "rows": rows, "failures": failures}, indent=1))
    if failures:
        raise SystemExit(f"contraction_gpu.py: {failures} checks failed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("emit")
    e.add_argument("out")
    e.add_argument("--shapes", default="", help="NxK,... (M = 4096); default: the five of the issue")
    r = sub.add_parser("run")
    r.add_argument("--artifacts", required=True)
    r.add_argument("--json")
    r.add_argument("--shapes", default="", help="as given to emit")
    args = ap.parse_args()
    if args.command == "emit":
        emit(args.out, parse_shapes(args.shapes))
    else:
        run(args)


if __name__ == "__main__":
    main()
