#!/usr/bin/env python3
"""Checks QATLinear (qat-compiled QuEST / StableQAT layers) against an
independent reference on random data: forward output, input and weight
gradients (and StableQAT's step gradient), plus the intermediate steps and
quantized operands.

The reference (examples/torch/reference.py) is evaluated in float64 from the
same inputs, with the rotated activation rounded to bf16 as the bf16 layer
does; the errors printed are ||qat - ref|| / ||ref|| over the whole tensor,
and for quantized values the fraction of elements that differ. The layer
under test runs its GEMMs on bf16 operands with f32 accumulation (in its
compiled functions, with static or dynamic rows), which bounds what
agreement to expect (tolerances in docs/pytorch.md). NaN never passes.

Each case runs the layer's forward and full backward, and the backward
without an input gradient (backward_w: dw and ds must equal the full
backward's bit for bit, the same computation); `--dynamic-rows` also checks
the layers with dynamic rows (one artifact for every number of rows).

usage: check_layers.py [--device cuda|cpu] [--small] [--dynamic-rows] [--filter S]
       (exit status 1 on failure)
"""

import argparse
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python-bindings" / "qat"))

import reference as ref  # noqa: E402
import shapes  # noqa: E402
from torch_layers import QATLinear  # noqa: E402

failures = []


def rel(a, b):
    a, b = a.double(), b.double()
    if not torch.isfinite(a).all():
        return float("nan")
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def differ(a, b):
    """Fraction of elements that are not bit-identical (same dtype)."""
    if not torch.isfinite(a.double()).all():
        return float("nan")
    return (a != b).double().mean().item()


def code(xq, step):
    """Centered-grid level index k of a fake-quantized value (k - 1/2) * step."""
    return torch.round(xq.double() / step.double() + 0.5)


def report(case, what, value, tol, kind="rel err"):
    ok = value <= tol  # False for NaN
    if not ok:
        failures.append(f"{case} {what}")
    print(f"{case:34s} {what:14s} {kind:9s} {value:10.3e}   tol {tol:.0e}   "
          f"{'ok' if ok else 'FAIL'}", flush=True)


def weight_only(layer, x, dy):
    """The weight (and step) gradients of a backward whose input needs none
    (backward_w)."""
    for p in layer.parameters():
        p.grad = None
    layer(x.detach()).reshape(dy.shape).backward(dy)
    return [p.grad for p in layer.parameters()]


def check_weight_only(case, layer, x, dy, grads):
    for name, got, want in zip(("dw", "ds"), weight_only(layer, x, dy), grads):
        report(case, f"{name} backward_w", differ(got, want), 0, "differ")


def check_quest(bits, m, n, k, packed, device, gen, dynamic_rows=False):
    case = (f"quest W{bits}A{bits} {'s4' if packed else 's8'} {m}x{n}x{k}"
            + (" dyn" if dynamic_rows else ""))
    x = torch.randn(m, k, generator=gen).to(device, torch.bfloat16)
    w = (torch.randn(n, k, generator=gen) / k ** 0.5).to(device)
    dy = torch.randn(m, n, generator=gen).to(device, torch.bfloat16)

    layer = QATLinear(k, n, method="quest", bits=bits, packed=packed, device=device,
                      dynamic_rows=dynamic_rows)
    with torch.no_grad():
        layer.weight.copy_(w)
    # The input as (batch, tokens, features) when it splits, to exercise
    # the reshapes.
    xin = (x.reshape(8, m // 8, k) if m % 8 == 0 else x).clone().requires_grad_()
    y = layer(xin).reshape(m, n)
    y.backward(dy.reshape(y.shape))
    dx, dw = xin.grad.reshape(m, k), layer.weight.grad
    check_weight_only(case, layer, xin, dy, [dw])
    _, xq, sx, wq, sw = layer.kernels(m, x.device.type)["forward"](x, layer.weight)

    # Reference, float64 from the same inputs.
    xr = ref.rotate(x.double())
    xh = xr.to(torch.bfloat16).double()
    wh = ref.rotate(w.double())
    xq_r, sx_r, mx = ref.quest_quantize(xh, bits)
    wq_r, sw_r, mw = ref.quest_quantize(wh, bits)

    report(case, "step x", rel(sx, sx_r), 1e-5)
    report(case, "step w", rel(sw, sw_r), 1e-5)
    # Codes, read back from the bf16 dequantized operands (exact: the bf16
    # rounding moves a level by less than half a step for bits <= 8). A code
    # may differ only at a tie, where the rotated input over the step lies within
    # rounding of an integer (the centered grid's decision boundary): f32 and
    # f64 may round it either way, in about 2^b * 1.2e-7 of the elements. In
    # small tensors one such code is already a fraction above that: up to two
    # are allowed. Everywhere else the codes must agree exactly.
    def code_tol(numel):
        return max(1e-5, 2 ** bits * 5e-7, 2.5 / numel)

    def tie_codes(q, q_r, s, s_r, h):
        v = h / s_r
        at_tie = (v - torch.round(v)).abs() <= 1e-4 * v.abs().clamp_min(1)
        differs = code(q, s) != code(q_r, s_r)
        return differs, at_tie

    def bf16_flips(hr, h, s_r):
        # The kernel rotates x in f32 before rounding it to bf16: where the
        # f64 rotation lies within f32 rounding (2^-16 of the row's rms,
        # about 20 times the error of a 128-point f32 rotation) of a bf16
        # rounding boundary, the kernel may take the neighbouring bf16
        # value, which is another code where a decision boundary lies
        # between the two. Such elements count as ties.
        mant, e = torch.frexp(h)
        ulp = torch.ldexp(torch.ones_like(h), e - 8)
        below = (mant.abs() == 0.5) & (hr.abs() < h.abs())
        ulp = torch.where(below, ulp / 2, ulp)
        rms = hr.pow(2).mean(-1, keepdim=True).sqrt()
        near = ((hr - h).abs() - ulp / 2).abs() <= 2 ** -16 * rms
        lim = 2 ** (bits - 1)

        def level(v):
            return torch.clamp(torch.round(v / s_r + 0.5), -lim + 1, lim)
        return near & (level(h + torch.sign(hr - h) * ulp) != level(h))
    dx_codes, x_tie = tie_codes(xq, xq_r, sx, sx_r, xh)
    x_tie |= bf16_flips(xr, xh, sx_r)
    dw_codes, w_tie = tie_codes(wq, wq_r, sw, sw_r, wh)
    report(case, "codes x", (dx_codes & ~x_tie).double().mean().item(), 0, "off tie")
    report(case, "codes w", (dw_codes & ~w_tie).double().mean().item(), 0, "off tie")
    report(case, "codes x", dx_codes.double().mean().item(), code_tol(m * k), "at tie")
    report(case, "codes w", dw_codes.double().mean().item(), code_tol(n * k), "at tie")
    # The dequantized operands where the codes agree: (k - 1/2) * step rounded
    # to bf16, against the f64 reference rounded the same way.
    report(case, "x^ (bf16)", rel(xq[~dx_codes], xq_r.to(torch.bfloat16)[~dx_codes]), 2 ** -9)
    report(case, "w^ (bf16)", rel(wq[~dw_codes], wq_r.to(torch.bfloat16)[~dw_codes]), 2 ** -9)

    # From here on the reference takes the layer's side of each tie, so that
    # one legitimately different code (its weight in a small tensor is
    # ~step / ||x^||) does not count against y, dx and dw.
    xq_r = torch.where(dx_codes, (code(xq, sx) - 0.5) * sx_r, xq_r)
    wq_r = torch.where(dw_codes, (code(wq, sw) - 0.5) * sw_r, wq_r)
    y_r = xq_r @ wq_r.t()
    dx_r = ref.rotate((dy.double() @ wq_r) * mx)
    gw_r = dy.double().t() @ xq_r
    dw_r = ref.rotate(gw_r * mw)

    report(case, "y", rel(y, y_r), 5e-3)
    # A row of dx is the rotation of its masked gradient, so one trust-mask
    # element that f32 and f64 decide differently (|xq - x| within rounding of
    # the threshold, at the clip) moves the whole row: compare the rows with
    # no such element, and say how many were left out.
    threshold = ref.ALPHA[bits - 1] / (2 ** bits - 1) * xh.pow(2).mean(-1, keepdim=True).sqrt()
    near = (((xq_r - xh).abs() - threshold).abs() <= 1e-4 * threshold).any(-1).cpu()
    rows = ~near
    if int(near.sum()):
        print(f"{case:<34} dx rows at the trust threshold, not compared: {int(near.sum())} of {m}")
    report(case, "dx", rel(dx[rows], dx_r[rows]), 1e-2)
    report(case, "dw", rel(dw, dw_r), 1e-2)
    # The weight's trust mask, read back through H (its own inverse): dw is
    # f32, so rotate(dw) = g_w * mask_w up to rounding.
    g = dy.double().t() @ xq.double()  # g_w as the layer computed it
    recovered = ref.rotate(dw.double()).abs() > 0.5 * g.abs()
    live = g.abs() > 1e-3 * g.pow(2).mean().sqrt()
    report(case, "trust mask w", (recovered != mw)[live].double().mean().item(),
           max(1e-4, code_tol(int(live.sum()))), "differ")

    # Against the pure-PyTorch fake-quant layer of train.py.
    xt = x.clone().requires_grad_()
    wt = w.clone().requires_grad_()
    yt = ref.QuESTLinearRef.apply(xt, wt, bits)
    yt.backward(dy)
    report(case, "y vs torch", rel(y, yt), 1e-2)
    report(case, "dx vs torch", rel(dx[rows], xt.grad[rows]), 2e-2)
    report(case, "dw vs torch", rel(dw, wt.grad), 2e-2)


def check_stableqat(bits, m, n, k, device, gen, dynamic_rows=False):
    case = f"stableqat W{bits} {m}x{n}x{k}" + (" dyn" if dynamic_rows else "")
    x = torch.randn(m, k, generator=gen).to(device, torch.bfloat16)
    w = (torch.randn(n, k, generator=gen) / k ** 0.5).to(device)
    dy = torch.randn(m, n, generator=gen).to(device, torch.bfloat16)

    layer = QATLinear(k, n, method="stableqat", bits=bits, device=device,
                      dynamic_rows=dynamic_rows)
    with torch.no_grad():
        layer.weight.copy_(w)
    layer.init_step()
    s = layer.step.detach().clone()
    xin = x.clone().requires_grad_()
    y = layer(xin)
    y.backward(dy)
    dx, dw, ds = xin.grad, layer.weight.grad, layer.step.grad
    check_weight_only(case, layer, xin, dy, [dw, ds])
    _, wq = layer.kernels(m, x.device.type)["forward"](x, layer.weight, layer.step)

    wq_r = ref.lsq_quantize(w, s, bits)  # f32: exact multiples of s
    y_r = x.double() @ wq_r.double().t()
    dx_r = dy.double() @ wq_r.double()
    dw_r, ds_r = ref.stableqat_grad(dy.double().t() @ x.double(), w, s, bits)

    report(case, "w^ (bf16)", differ(wq, wq_r.to(torch.bfloat16)), 1e-5, "differ")
    report(case, "y", rel(y, y_r), 5e-3)
    report(case, "dx", rel(dx, dx_r), 1e-2)
    report(case, "dw", rel(dw, dw_r), 1e-3)
    report(case, "ds", rel(ds, ds_r), 1e-3)

    xt = x.clone().requires_grad_()
    wt = w.clone().requires_grad_()
    st = s.clone().requires_grad_()
    yt = ref.StableQATLinearRef.apply(xt, wt, st, bits, (0.21,))
    yt.backward(dy)
    report(case, "y vs torch", rel(y, yt), 1e-2)
    report(case, "dx vs torch", rel(dx, xt.grad), 1e-2)
    report(case, "dw vs torch", rel(dw, wt.grad), 1e-3)
    report(case, "ds vs torch", rel(ds, st.grad), 1e-3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--small", action="store_true", help="skip the full-size cases")
    ap.add_argument("--dynamic-rows", action="store_true",
                    help="also check each case with dynamic rows")
    ap.add_argument("--filter", default="", help="only the cases whose name contains this")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(args.seed)
    for method, bits, m, n, k, packed in shapes.CHECK_CASES:
        if args.small and m * n * k > 2 ** 28:
            continue
        name = f"{method} W{bits} {m}x{n}x{k}"
        if args.filter not in name:
            continue
        for dynamic_rows in (False, True) if args.dynamic_rows else (False,):
            if method == "quest":
                check_quest(bits, m, n, k, packed, args.device, gen, dynamic_rows)
            else:
                check_stableqat(bits, m, n, k, args.device, gen, dynamic_rows)
    if args.device == "cuda":
        torch.cuda.synchronize()
    print(f"{sum(1 for _ in failures)} failed" if failures else "all checks passed")
    if failures:
        print("failed: " + ", ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
