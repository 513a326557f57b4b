#!/usr/bin/env python3
"""The whole compiled QuEST training step (examples/quest_linear.mlir scaled
to M = 4096 tokens, K = 2048 inputs, N = 4096 outputs) against PyTorch's bf16
step of the same plain linear layer, side by side in one run (issue 16).

usage:
  quest_step_gpu.py emit OUT.mlir [--tokens M --inputs K --outputs N]
                    [--output-type f32|bf16]                            (here)
  quest_step_gpu.py run --artifacts DIR [--json PATH] [--no-compile]   (on the GPU)
  quest_step_gpu.py cpu-check --qat-run PATH [--tokens ... --output-type ...]  (CI)

`emit` writes the step with examples/quest_linear.py (the example's own
generator, so the math is the example's): quantizers (Hadamard, rms_gaussian
scale, 4-bit centered codes), qat.matmul, MSE loss and its gradient, the two
backward matmuls, trust masks, SGD update. It takes s8 codes (one 4-bit code
per byte; --codes packed: two a byte, which qat.matmul's lowering for sm_90a
makes one a byte again, since wgmma has no 4-bit integers) and bf16 operands
for the backward matmuls (dy rounded
to bf16, the codes dequantized to bf16; f32 accumulation), so that the
contraction kernels load them as they are. The master weight, the loss, the
gradients and the update are f32; y (qat.matmul's result) and the target are
f32 as in the example, or bf16 with --output-type bf16 (a bf16 model's: the
loss reads half the bytes). scripts/gpu/compile.py compiles it (--chip
sm_90a); scripts/gpu/quest-step.sh prepare compiles the forms of FORMS into
DIR/f32y, DIR/bf16y and DIR/bf16y-packed, and runs them there.

`run` (CUDA, PyTorch, numpy; no LLVM) links the artifacts with the qat CUDA
runtime, checks one step of each form against a float64 reference on the
GPU, then times them (median GPU time per step, run_gpu.bench_gpu: the launches are queued
behind a sleep kernel, so host overhead is not counted) beside PyTorch's step
of y = x w^T, MSE loss, backward (dx and dw: three GEMMs, as qat's) and SGD:
pure bf16 (weight, input, target bf16) and bf16 autocast with f32 master
weight and f32 input and target (what qat's f32 form reads), each eager and under
torch.compile (the loss function compiled, backward by AOTAutograd,
torch.optim.SGD). It prints ms/step and qat / PyTorch, then where the time
goes: each kernel's GPU time per step (torch.profiler) of the qat steps and
of PyTorch's bf16 eager step.

The check. The data are drawn so that no element of x H or w H lies within
2^-9 of a step of a rounding boundary of its code (a half-integer of
u = xh/step + 1/2); the trust mask |xq - xh| <= T std with T std = step/2
(up to the 1e-8 of the clip) changes at the same boundaries. An f32
computation of u errs by at most about 8 (n u_f32) <= 1e-3 steps (the row's
sum of 2048 squares in the step, n u_f32 = 1.2e-4 in the worst case, times
|u| <= 8.5; the Hadamard rotation's error is smaller), below 2^-9, so qat's
codes and masks are the reference's exactly. What is left: f32 against
float64 arithmetic (at most 1.2e-4 relative, about 1e-6 in practice) and the
bf16 roundings of dy and of the dequantized operands, which the reference
applies to its own values: where the f32 and the float64 value straddle a
rounding midpoint the two differ by one bf16 ulp (at most 2^-7 relative), on
a share of elements of at most the relative error over half an ulp, 2.5% in
the worst case, so the operands differ by at most sqrt(0.025) 2^-7 = 1.2e-3
in the Frobenius norm; the products and the masked, rotated gradients
inherit that. Bounds: dx and the update lr dw within 2^-8 of the
reference in the Frobenius norm, the loss within 2^-10 (its f32 sum of
M N = 2^24 squares in per-column partials then one sum of the partials:
(M + N) u_f32 = 4.9e-4). `cpu-check` runs the same check on the step that
qat-to-cpu compiles (qat-run), at a small odd shape, in CI.
"""

import argparse
import ctypes
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "examples"))

import quest_linear  # noqa: E402

M, K, N = 4096, 2048, 4096
LR = 64.0  # makes lr dw about 3% of w: the f32 rounding of w - lr dw stays far below the bound
ALPHA4 = 2.513930578568423
BLOCK = 128
MARGIN = 2.0 ** -9  # the data keep u this far from a rounding boundary
TOL_GRAD = 2.0 ** -8
TOL_LOSS = 2.0 ** -10


# The variants timed: the element type of y and the target (the example's
# f32, or bf16 as in a bf16 model: half the bytes of the loss's reads).
OUTPUT_TYPES = ("f32", "bf16")
# The forms timed: (y and target type, codes), each in its own folder.
FORMS = (("f32", "s8"), ("bf16", "s8"), ("bf16", "packed"))


def form_dir(output_type, codes):
    return f"{output_type}y" + ("-packed" if codes == "packed" else "")


def emit(out, tokens=M, inputs=K, outputs=N, output_type="f32", codes="s8"):
    pathlib.Path(out).write_text(quest_linear.step(tokens, inputs, outputs, codes=codes,
                                                   backward="bf16", output_type=output_type))


# --- the float64 reference (torch, any device) -------------------------------

def hadamard(n, device):
    import torch
    h = torch.ones(1, 1, dtype=torch.float64, device=device)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / math.sqrt(n)


def rotate(a, h):
    rows, cols = a.shape
    return (a.reshape(rows, cols // BLOCK, BLOCK) @ h).reshape(rows, cols)


def quantizer(xh):
    """QuEST's 4-bit centered grid with the rms_gaussian step, in float64:
    (u, level k - 1/2, step, trust mask) per element (docs/semantics.md)."""
    import torch
    rms = xh.square().mean(-1, keepdim=True).sqrt()
    c = ALPHA4 * rms + 1e-8
    step = 2 * c / 15
    u = xh / step + 0.5
    k = torch.round(torch.minimum(torch.maximum(xh, -c), c) / step + 0.5)  # half to even
    level = k - 0.5
    mask = (level * step - xh).abs() <= (ALPHA4 / 15) * rms
    return u, level, step, mask


def near_boundary(u, margin):
    """Where u is within `margin` of a half-integer (a code's rounding
    boundary, and the trust mask's)."""
    return ((u - u.floor()) - 0.5).abs() < margin


def safe_matrix(rows, cols, scale, gen, device, h):
    """f32 values (as float64) of N(0, scale^2) samples moved where needed so
    that no element of their rotation is within MARGIN of a boundary; moved
    elements go 2 MARGIN from it, in the rotated domain (H is its own
    inverse), which changes the row's step by far less than MARGIN."""
    import torch
    x = torch.randn(rows, cols, generator=gen, dtype=torch.float64, device=device) * scale
    for _ in range(8):
        x = x.float().double()
        xh = rotate(x, h)
        u, _, step, _ = quantizer(xh)
        d = (u - u.floor()) - 0.5
        bad = near_boundary(u, MARGIN)
        if not bad.any():
            return x
        shift = torch.where(d >= 0, 2 * MARGIN - d, -2 * MARGIN - d)
        x = rotate(xh + torch.where(bad, shift * step, torch.zeros_like(xh)), h)
    raise RuntimeError("quest_step_gpu.py: could not move the data off the rounding boundaries")


def make_data(tokens, inputs, outputs, seed, device, output_type="f32"):
    """x, w (f32) and the target (f32 or bf16) of one step."""
    import torch
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    h = hadamard(BLOCK, device)
    x = safe_matrix(tokens, inputs, 1.0, gen, device, h)
    w = safe_matrix(outputs, inputs, inputs ** -0.5, gen, device, h)
    t = torch.randn(tokens, outputs, generator=gen, dtype=torch.float64, device=device).float()
    return x.float(), w.float(), t.to(torch.bfloat16) if output_type == "bf16" else t


def bf16(a):
    import torch
    return a.float().to(torch.bfloat16).double()


def reference(x, w, t, lr):
    """One step of examples/quest_linear.py's s8/bf16 variant in float64,
    rounding to bf16 where the program stores bf16 (dy, the dequantized
    operands, y when the target is bf16): (w_new, dx, loss) and the
    boundary count (zero for make_data's data)."""
    import torch
    bf16_y = t.dtype == torch.bfloat16
    h = hadamard(BLOCK, x.device)
    x, w, t = x.double(), w.double(), t.double()
    ux, lx, sx, mx = quantizer(rotate(x, h))
    uw, lw, sw, mw = quantizer(rotate(w, h))
    near = int(near_boundary(ux, MARGIN).sum()) + int(near_boundary(uw, MARGIN).sum())
    y = (lx @ lw.t()) * sx * sw.t()
    if bf16_y:
        y = bf16(y)
    loss = (y - t).square().mean()
    dy = bf16(2 * (y - t) / y.numel())
    dxq = dy @ bf16(lw * sw)
    dwq = dy.t() @ bf16(lx * sx)
    dx = rotate(dxq * mx, h)
    dw = rotate(dwq * mw, h)
    return w - lr * dw, dx, loss, near


def compare(x, w, lr, got, ref):
    """Prints and returns the failures: got = (w_new, dx, loss) of qat."""
    w_new, dx, loss = (a.double() for a in got)
    r_new, r_dx, r_loss, near = ref
    rel = lambda a, b: ((a - b).norm() / b.norm()).item()  # noqa: E731
    errors = {"loss": abs(loss.item() - r_loss.item()) / r_loss.item(),
              "dx": rel(dx, r_dx),
              "update": rel(w.double() - w_new, w.double() - r_new)}
    bounds = {"loss": TOL_LOSS, "dx": TOL_GRAD, "update": TOL_GRAD}
    failures = 0
    for name in errors:
        bad = not errors[name] <= bounds[name]  # NaN fails
        failures += bad
        print(f"{'FAIL' if bad else 'ok  '} {name}: relative error {errors[name]:.3g} "
              f"(bound {bounds[name]:.3g})")
    print(f"loss: qat {loss.item():.6f}, float64 reference {r_loss.item():.6f}; "
          f"elements within {MARGIN:g} of a rounding boundary: {near}")
    if near:
        failures += 1
        print("FAIL: the data have elements at a rounding boundary")
    return failures


def call_step(fn, pointers, lr):
    """quest_linear_step through its C interface: the tensors' (device or
    host) pointers as memref descriptors, then the learning rate by value
    (compile.py's manifest lists the tensors only); the result descriptors."""
    descs = [ty.describe(p) for ty, p in zip(fn.args, pointers)]
    out = fn.result_type()
    fn.entry(ctypes.byref(out), *[ctypes.byref(d) for d in descs], ctypes.c_float(lr))
    return [getattr(out, f"r{i}") for i in range(len(fn.results))]


# --- CI: the same check on the CPU ------------------------------------------

def cpu_check(a):
    """The step compiled by qat-to-cpu into a shared library (qat-run
    --emit-object), called through call_step as the GPU run calls it."""
    import numpy as np
    import torch
    sys.path.insert(0, str(ROOT / "python-bindings" / "qat"))
    import compiled

    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}; {a.tokens} x {a.inputs} -> {a.outputs}, y and target {a.output_type},"
          f" {a.codes} codes")
    x, w, t = make_data(a.tokens, a.inputs, a.outputs, seed, "cpu", a.output_type)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        emit(tmp / "step.mlir", a.tokens, a.inputs, a.outputs, a.output_type, a.codes)
        for cmd in ([a.qat_run, tmp / "step.mlir", "--entry=quest_linear_step",
                     f"--emit-object={tmp / 'module.o'}", "--opt-level=2"],
                    [os.environ.get("CC", "cc"), "-shared", "-o", tmp / "module.so",
                     tmp / "module.o", "-lm"]):
            proc = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"quest_step_gpu.py: {cmd[0]} failed:\n{proc.stderr}")
        spec = [[list(v.shape), "f32"] for v in (x, w)] + [[list(t.shape), a.output_type]]
        (tmp / "manifest.json").write_text(json.dumps({"functions": [{
            "name": "quest_linear_step", "args": spec,
            "results": [spec[1], spec[0], [[], "f32"]]}]}))  # w_new, dx, loss
        fn = compiled.CompiledModule(tmp / "module.so", tmp / "manifest.json")["quest_linear_step"]
        libc = ctypes.CDLL(None)
        libc.free.argtypes = [ctypes.c_void_p]
        got = []
        for d, ty in zip(call_step(fn, [v.data_ptr() for v in (x, w, t)], LR), fn.results):
            n = int(np.prod(ty.shape, dtype=np.int64))
            buf = (ctypes.c_float * n).from_address(d.aligned + d.offset * 4)
            got.append(torch.tensor(np.frombuffer(buf, np.float32).reshape(ty.shape)))
            libc.free(d.allocated)
    failures = compare(x, w, LR, got, reference(x, w, t, LR))
    if failures:
        sys.exit(f"quest_step_gpu.py: {failures} checks failed (seed {seed})")


# --- the GPU run ----------------------------------------------------------------

class Step:
    """The compiled step on torch tensors, on torch's stream (run_gpu.QATKernels)."""

    def __init__(self, artifacts):
        from run_gpu import QATKernels
        self.qat = QATKernels(pathlib.Path(artifacts))
        self.fn = self.qat.module["quest_linear_step"]

    def call(self, x, w, t, lr):
        return call_step(self.fn, [v.data_ptr() for v in (x, w, t)], lr)

    def run(self, x, w, t, lr):
        self.qat.free(self.call(x, w, t, lr))

    def fetch(self, x, w, t, lr):
        import numpy as np
        import torch
        descs = self.call(x, w, t, lr)
        torch.cuda.synchronize()
        outs = [torch.from_numpy(np.asarray(self.qat.rt.download(d.aligned + d.offset * 4, ty)))
                for d, ty in zip(descs, self.fn.results)]
        self.qat.free(descs)
        self.qat.rt.check()
        return outs


def torch_steps(x32, w32, t32, lr, compile_too):
    """PyTorch's steps of the plain linear layer: name -> (callable, error)."""
    import torch
    import torch.nn.functional as F

    def loss_fn(x, w, t):
        return F.mse_loss(x @ w.t(), t)

    def make(name, dtype, autocast, compiled):
        x = x32.to(dtype).clone().requires_grad_(True)
        w = torch.nn.Parameter(w32.to(dtype).clone())
        t = t32.to(dtype).clone()
        opt = torch.optim.SGD([w], lr=lr)
        fwd = torch.compile(loss_fn) if compiled else loss_fn

        def step():
            opt.zero_grad(set_to_none=True)
            x.grad = None
            with torch.autocast(x.device.type, torch.bfloat16, enabled=autocast):
                loss = fwd(x, w, t)
            loss.backward()
            opt.step()
            return loss
        return name, step

    variants = [("bf16 eager", torch.bfloat16, False, False),
                ("autocast f32 master, eager", torch.float32, True, False)]
    if compile_too:
        variants += [("bf16 torch.compile", torch.bfloat16, False, True),
                     ("autocast f32 master, torch.compile", torch.float32, True, True)]
    steps = {}
    for name, dtype, autocast, compiled in variants:
        try:
            name, step = make(name, dtype, autocast, compiled)
            for _ in range(3):
                step()  # compiles, warms up
            torch.cuda.synchronize()
            steps[name] = (step, None)
        except Exception as e:  # noqa: BLE001 - a failing baseline is reported, not fatal
            steps[name] = (None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return steps


def run(a):
    import torch
    from run_gpu import bench_gpu, kernel_times

    root = pathlib.Path(a.artifacts)
    found = [f for f in FORMS if (root / form_dir(*f) / "module.o").exists()]
    if not found:
        raise SystemExit(f"quest_step_gpu.py: no {{f32y,bf16y,bf16y-packed}}/module.o under {root} "
                         "(scripts/gpu/quest-step.sh prepare writes them)")
    dev = torch.cuda.get_device_name()
    print(f"device: {dev}; torch {torch.__version__}; step {M} x {K} -> {N}, lr {LR}")
    seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}")
    rows, failures, timed = {}, 0, []
    for o, codes in found:
        step = Step(root / form_dir(o, codes))
        x, w, t = make_data(M, K, N, seed, "cuda", o)
        print(f"qat step, y and target {o}, {codes} codes:")
        got = step.fetch(x, w, t, LR)
        failures += compare(x, w, LR, [g.cuda() for g in got], reference(x, w, t, LR))
        packed = ", packed codes" if codes == "packed" else ""
        timed.append((f"qat QuEST W4A4 (y, target {o}{packed})", step, x, w, t))
    for name, step, x, w, t in timed:
        rows[name] = bench_gpu(lambda: step.run(x, w, t, LR))
    x, w, t = make_data(M, K, N, seed, "cuda")
    errors = {}
    for name, (fn, err) in torch_steps(x, w, t, LR, not a.no_compile).items():
        if fn is None:
            errors[name] = err
            print(f"torch {name}: failed: {err}")
            continue
        rows[f"torch {name}"] = bench_gpu(fn)
    qat_rows = [n for n in rows if n.startswith("qat")]
    print(f"\nms per step (median GPU time), {M} x {K} -> {N}; ratios qat / this row")
    print("| step | ms | " + " | ".join(qat_rows) + " |")
    print("|---|---|" + "---|" * len(qat_rows))
    for name, ms in rows.items():
        print(f"| {name} | {ms:.3f} | " + " | ".join(f"{rows[q] / ms:.2f}" for q in qat_rows)
              + " |")
    sys.stdout.flush()
    kernels = {}
    torch_bf16 = torch_steps(x, w, t, LR, False)["bf16 eager"][0]
    profiled = [(name, (lambda s=step, x=x, w=w, t=t: s.run(x, w, t, LR)))
                for name, step, x, w, t in timed]
    if torch_bf16:
        profiled.append(("torch bf16 eager", torch_bf16))
    for name, fn in profiled:
        kernels[name] = kernel_times(fn)
        print(f"\nkernels of {name} (torch.profiler, us per step, launches per step):")
        for kernel, us, count in kernels[name]:
            print(f"  {us:9.1f}  {count:4.1f}  {kernel[:100]}")
        print(f"  {sum(r[1] for r in kernels[name]):9.1f}  in all")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(
            {"device": dev, "torch": torch.__version__, "shape": [M, K, N], "seed": seed,
             "ms_per_step": rows, "baseline_errors": errors, "failures": failures,
             "kernels_us_per_step": kernels}, indent=1))
    if failures:
        raise SystemExit(f"quest_step_gpu.py: {failures} checks failed (seed {seed})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("emit")
    e.add_argument("out")
    r = sub.add_parser("run")
    r.add_argument("--artifacts", required=True,
                   help="folder with f32y/ and bf16y/ (scripts/gpu/compile.py outputs)")
    r.add_argument("--json")
    r.add_argument("--no-compile", action="store_true", help="skip the torch.compile baselines")
    c = sub.add_parser("cpu-check")
    c.add_argument("--qat-run", required=True)
    for p in (e, c):
        p.add_argument("--tokens", type=int, default=M)
        p.add_argument("--inputs", type=int, default=K)
        p.add_argument("--outputs", type=int, default=N)
        p.add_argument("--output-type", choices=OUTPUT_TYPES, default="f32",
                       help="element type of y and the target")
        p.add_argument("--codes", choices=("s8", "packed"), default="s8",
                       help="4-bit codes one a byte or two")
    for p in (r, c):
        p.add_argument("--seed", type=int)
    a = ap.parse_args()
    if a.command == "emit":
        emit(a.out, a.tokens, a.inputs, a.outputs, a.output_type, a.codes)
    elif a.command == "run":
        run(a)
    else:
        cpu_check(a)


if __name__ == "__main__":
    main()
