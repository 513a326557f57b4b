#!/usr/bin/env python3
"""The float element formats on the GPU: qat's fused quantizer kernels for
fp8 (e4m3, a step per row or tensor), MXFP4 (e2m1, a power-of-two step per
32 elements) and NVFP4 (e2m1, an e4m3 step per 16), checked bit for bit against PyTorch and timed side by side with
what users would write instead (the same math in PyTorch eager and under
torch.compile), with the share of the copy bandwidth each one reaches.

usage: formats_gpu.py module OUT.mlir        (here, with LLVM: the functions)
       formats_gpu.py run DIR [--json PATH]  (on the GPU machine: DIR is
                                              OUT.mlir compiled by
                                              scripts/gpu/compile.py)

Functions, on bf16 x and dy of M x K (M = 4096):
- fp8_quant: e4m3 codes (one byte each, the float8_e4m3fn encoding) and the
  per-row steps absmax/448;
- fp8_fq: the fake-quantized x (the forward of fp8 QAT), bf16;
- fp8t_fq: the same with one step for the whole tensor (two passes over x:
  the tensor's absmax first);
- mxfp4_quant: e2m1 codes packed two a byte and the e8m0 steps as f32;
- mxfp4_fq: the fake-quantized x, bf16;
- nvfp4_fq: NVFP4 fake quantization (e2m1, an e4m3 step per 16 under the
  tensor's scale: the tensor's absmax first);
- mxfp4_clip_bwd: dx of the clip estimator (dy where |x/step| <= 6);
- nvfp4_sr_fq: NVFP4 fake quantization with stochastic rounding (seed 2026).
The PyTorch side: fp8 through torch's own float8_e4m3fn conversion (its codes
must equal qat's), MXFP4 and NVFP4 written with torch.frexp (their results
must equal qat's bit for bit); stochastic NVFP4 as a user writes it with
torch.rand draws (timed), and with qat's draws (test/Integration/reference.py)
for the bit-for-bit check.
"""

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
M = 4096
KS = [2048, 4096, 11008]
FP8 = "<e4m3, 8 bits, absmax, per_row>"
FP8_TENSOR = "<e4m3, 8 bits, absmax, per_tensor>"
MXFP4 = "<e2m1, 4 bits, mx, per_group<32>>"
NVFP4 = "<e2m1, 4 bits, nvfp4, per_group<16>>"
NVFP4_SR = "<e2m1, 4 bits, nvfp4, per_group<16>, stochastic>"
SR_SEED = 2026


def t(*shape, dtype="bf16"):
    return "tensor<" + "x".join(map(str, shape)) + f"x{dtype}>"


def functions(k):
    x, s8, s4 = t(M, k), t(M, 1, dtype="f32"), t(M, k // 32, dtype="f32")
    s16 = t(M, k // 16, dtype="f32")
    c8, c4 = t(M, k, dtype="i8"), t(M, k // 2, dtype="i8")
    return f"""
func.func @fp8_quant_{M}x{k}(%x: {x}) -> ({c8}, {s8}) {{
  %s = qat.scale %x as {FP8} : {x} -> {s8}
  %q = qat.quantize %x, %s as {FP8} : {x}, {s8} -> {c8}
  return %q, %s : {c8}, {s8}
}}
func.func @fp8_fq_{M}x{k}(%x: {x}) -> {x} {{
  %s = qat.scale %x as {FP8} : {x} -> {s8}
  %f = qat.fake_quant %x, %s as {FP8} with ste : {x}, {s8}
  return %f : {x}
}}
func.func @fp8t_fq_{M}x{k}(%x: {x}) -> {x} {{
  %s = qat.scale %x as {FP8_TENSOR} : {x} -> {t(1, 1, dtype="f32")}
  %f = qat.fake_quant %x, %s as {FP8_TENSOR} with ste : {x}, {t(1, 1, dtype="f32")}
  return %f : {x}
}}
func.func @mxfp4_quant_{M}x{k}(%x: {x}) -> ({c4}, {s4}) {{
  %s = qat.scale %x as {MXFP4} : {x} -> {s4}
  %q = qat.quantize %x, %s as {MXFP4} packed : {x}, {s4} -> {c4}
  return %q, %s : {c4}, {s4}
}}
func.func @mxfp4_fq_{M}x{k}(%x: {x}) -> {x} {{
  %s = qat.scale %x as {MXFP4} : {x} -> {s4}
  %f = qat.fake_quant %x, %s as {MXFP4} with ste : {x}, {s4}
  return %f : {x}
}}
func.func @nvfp4_fq_{M}x{k}(%x: {x}) -> {x} {{
  %s = qat.scale %x as {NVFP4} : {x} -> {s16}
  %f = qat.fake_quant %x, %s as {NVFP4} with ste : {x}, {s16}
  return %f : {x}
}}
func.func @nvfp4_sr_fq_{M}x{k}(%x: {x}) -> {x} {{
  %seed = arith.constant {SR_SEED} : i64
  %s = qat.scale %x as {NVFP4_SR} : {x} -> {s16}
  %f = qat.fake_quant %x, %s as {NVFP4_SR} seed %seed with ste : {x}, {s16}
  return %f : {x}
}}
func.func @mxfp4_clip_bwd_{M}x{k}(%dy: {x}, %x: {x}) -> {x} {{
  %s = qat.scale %x as {MXFP4} : {x} -> {s4}
  %dx = qat.fake_quant_grad %dy, %x, %s as {MXFP4} with clip : {x}, {s4}
  return %dx : {x}
}}
"""


def write_module(path):
    pathlib.Path(path).write_text("".join(functions(k) for k in KS))


# --- PyTorch: what users would write instead ---------------------------------


def torch_fp8_quant(x, per_tensor=False):
    import torch
    xf = x.float()
    amax = xf.abs().amax() if per_tensor else xf.abs().amax(-1, keepdim=True)
    # Divided by a tensor: PyTorch divides by a Python float as a product
    # with its reciprocal, which is not the IEEE quotient (1/448 is inexact).
    s = amax / torch.full_like(amax, 448.0)
    q = torch.clamp(xf / s, -448.0, 448.0).to(torch.float8_e4m3fn)
    return q, s


def torch_fp8_fq(x, per_tensor=False):
    q, s = torch_fp8_quant(x, per_tensor)
    return (q.float() * s).to(x.dtype)


def torch_mxfp4_fq(x, clip_dy=None):
    """MXFP4 fake quantization (or, given dy, the clip estimator's dx)."""
    import torch
    m, k = x.shape
    v = x.float().reshape(m, k // 32, 32)
    _, e = torch.frexp(v.abs().amax(-1, keepdim=True))
    step = torch.clamp(torch.pow(2.0, (e - 3).float()), min=2.0 ** -126)
    r = v / step
    if clip_dy is not None:
        keep = (r.abs() <= 6.0).reshape(m, k)
        return torch.where(keep, clip_dy, torch.zeros_like(clip_dy))
    w = torch.clamp(r, -6.0, 6.0)
    _, we = torch.frexp(w)
    spacing = torch.pow(2.0, (torch.clamp(we - 1, min=0) - 1).float())
    return (torch.round(w / spacing) * spacing * step).reshape(m, k).to(x.dtype)


def _round_to(w, mantissa_bits, min_exponent, u=None):
    """w rounded to the format (to nearest, or stochastically with draws u)."""
    import torch
    _, e = torch.frexp(w)
    spacing = torch.pow(2.0, (torch.clamp(e - 1, min=min_exponent) - mantissa_bits).float())
    y = w / spacing
    if u is None:
        return torch.round(y) * spacing
    below = torch.floor(y)
    # A zero keeps w's sign, as torch.round's does (floor(-0.3) + 1 is +0).
    return torch.copysign(torch.where(u < y - below, below + 1, below), w) * spacing


def torch_nvfp4_fq(x, u=None):
    """NVFP4 fake quantization in the f32 order of docs/semantics.md."""
    import torch
    m, k = x.shape
    v = x.float().reshape(m, k // 16, 16)
    a = v.abs().amax(-1, keepdim=True) / torch.tensor(6.0, device=x.device)
    t = v.abs().amax() / torch.tensor(6.0, device=x.device)
    g = torch.tensor(448.0, device=x.device) / t
    sb = torch.clamp(_round_to(torch.clamp(a * g, max=448.0), 3, -6), min=2.0 ** -9)
    step = torch.where(t == 0, torch.ones_like(sb), sb / g)
    w = torch.clamp(v / step, -6.0, 6.0)
    if u is not None:
        u = u.reshape(w.shape)
    return (_round_to(w, 1, 0, u) * step).reshape(m, k).to(x.dtype)


def torch_nvfp4_sr_fq(x):
    """Stochastic NVFP4 as a user writes it: uniform draws from torch.rand."""
    import torch
    return torch_nvfp4_fq(x, torch.rand(x.shape, device=x.device))


def run(directory, json_path):
    import numpy as np
    import torch

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from profile_rows import Variant, link, make_runtime, same
    from run_gpu import bench_gpu, copy_bandwidth
    from compiled import from_bf16

    link(f"qat={directory}")
    rt = make_runtime()
    qat = Variant(f"qat={directory}", rt)
    bw = copy_bandwidth()
    dev = torch.cuda.get_device_name()
    print(f"device: {dev}; torch {torch.__version__}; copy bandwidth {bw / 1e12:.2f} TB/s")
    compiled = {name: torch.compile(fn) for name, fn in
                [("fp8_quant", torch_fp8_quant), ("fp8_fq", torch_fp8_fq),
                 ("nvfp4_fq", torch_nvfp4_fq), ("nvfp4_sr_fq", torch_nvfp4_sr_fq),
                 ("fp8t_fq", lambda x: torch_fp8_fq(x, per_tensor=True)),
                 ("mxfp4_fq", torch_mxfp4_fq)]}
    rows, failures = [], 0
    for k in KS:
        g = torch.Generator(device="cuda").manual_seed(k)
        x = torch.randn(M, k, device="cuda", dtype=torch.bfloat16, generator=g)
        dy = torch.randn(M, k, device="cuda", dtype=torch.bfloat16, generator=g)
        n = M * k
        # name: (qat args, torch eager, torch.compile or None, bytes moved)
        cases = {
            "fp8_quant": ((x,), lambda: torch_fp8_quant(x),
                          lambda: compiled["fp8_quant"](x), 3 * n + 4 * M),
            "fp8_fq": ((x,), lambda: torch_fp8_fq(x), lambda: compiled["fp8_fq"](x), 4 * n),
            "fp8t_fq": ((x,), lambda: torch_fp8_fq(x, per_tensor=True),
                        lambda: compiled["fp8t_fq"](x), 4 * n),
            "mxfp4_quant": ((x,), None, None, 2.5 * n + n / 8),
            "mxfp4_fq": ((x,), lambda: torch_mxfp4_fq(x), lambda: compiled["mxfp4_fq"](x),
                         4 * n),
            "nvfp4_fq": ((x,), lambda: torch_nvfp4_fq(x), lambda: compiled["nvfp4_fq"](x),
                         4 * n),
            "nvfp4_sr_fq": ((x,), lambda: torch_nvfp4_sr_fq(x),
                            lambda: compiled["nvfp4_sr_fq"](x), 4 * n),
            "mxfp4_clip_bwd": ((dy, x), lambda: torch_mxfp4_fq(x, dy),
                               lambda: compiled["mxfp4_fq"](x, dy), 6 * n),
        }
        for kind, (argv, eager, comp, nbytes) in cases.items():
            name = f"{kind}_{M}x{k}"
            outs = qat.fetch(name, *argv)
            # Bit for bit against PyTorch.
            if kind == "fp8_quant":
                q, s = torch_fp8_quant(x)
                ref = [q.view(torch.int8).cpu().numpy(), s.cpu().numpy()]
            elif kind == "mxfp4_quant":
                # The packed codes decoded (low nibble first) times the steps
                # must be mxfp4_fq's values.
                table = np.array([0, .5, 1, 1.5, 2, 3, 4, 6, -0., -.5, -1, -1.5, -2, -3, -4, -6],
                                 np.float32)
                b = outs[0].astype(np.uint8)
                codes = np.stack([b & 15, b >> 4], -1).reshape(M, k)
                values = table[codes] * np.repeat(outs[1], 32, axis=1)
                want = torch_mxfp4_fq(x).float().cpu().numpy()
                outs = [torch.from_numpy(values).to(torch.bfloat16).float().numpy()]
                ref = [want]
            elif kind == "nvfp4_sr_fq":
                # PyTorch's formulation on qat's draws.
                sys.path.insert(0, str(ROOT / "test" / "Integration"))
                import reference
                u = torch.from_numpy(reference.uniform_draws(SR_SEED, (M, k)).astype(np.float32))
                ref = [torch_nvfp4_fq(x, u.cuda()).float().cpu().numpy()]
                outs = [from_bf16(outs[0])]
            else:
                ref = [eager().float().cpu().numpy()]
                outs = [from_bf16(outs[0])]
            differing = max(same(a, b) for a, b in zip(outs, ref))
            failures += differing != 0
            entry = dict(function=name, bytes=nbytes, differing=differing)
            entry["qat_us"] = 1e3 * bench_gpu(lambda: qat.run(name, *argv))
            if eager:
                entry["eager_us"] = 1e3 * bench_gpu(eager)
                entry["compile_us"] = 1e3 * bench_gpu(comp)
            line = f"{name:26} differing {differing:.1g}  qat {entry['qat_us']:7.1f} us " \
                   f"({100 * nbytes / (entry['qat_us'] * 1e-6) / bw:4.1f}% of copy)"
            if eager:
                line += (f"  eager {entry['eager_us']:7.1f} us (x{entry['eager_us'] / entry['qat_us']:.2f})"
                         f"  torch.compile {entry['compile_us']:7.1f} us "
                         f"(x{entry['compile_us'] / entry['qat_us']:.2f})")
            print(line, flush=True)
            rows.append(entry)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(dict(device=dev, torch=torch.__version__, copy_bw=bw, rows=rows), f, indent=1)
    print("formats: all outputs equal PyTorch's" if not failures else
          f"formats: {failures} functions differ from PyTorch")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["module", "run"])
    ap.add_argument("path")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.mode == "module":
        write_module(args.path)
        return 0
    return run(args.path, args.json)


if __name__ == "__main__":
    sys.exit(main())
