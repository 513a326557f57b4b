"""Numerical cases of stochastic rounding (docs/semantics.md, "Stochastic
rounding"), run by run_cases.py with the other cases of cases.py on the CPU
and the GPU.

Each case computes the step (or takes a learned one), then quantizes and
fake-quantizes x with a `stochastic` quantizer under two seeds, and takes
the backward that reads the forward's rounding where the grid has one
(trust on the centered grid, the LSQ step gradient for learned steps; clip,
which reads none, elsewhere). Everything is compared with the reference
evaluated on the same draws (reference.uniform_draws): codes and levels
exactly, except where moving v = x/s by 2 ulps would change the rounding
(as for ties of rounding to nearest; at most 0.1% of the elements), masks
exactly except at their boundaries (cases.boundary_mask), ds within the
bound of cases.check_ds. The check also fails when the two seeds give the
same levels or when nothing rounds differently from rounding to nearest, so
that a lowering that ignores the seed cannot pass. Every grid (integer and
float formats, packed codes), granularity, learned steps, special values
(NaN, +-Inf, zeros, subnormals) and the dynamic-rows path (whose element
index the lowering builds differently) are covered.
"""

import numpy as np

import reference as R
from cases import (Case, Failure, bf16_round, boundary_mask, check_ds, close, dyn,
                   dtype_of, equal_except_near, maybe_bf16, positive, shape_of, t,
                   with_edges, normal)
from special_cases import learned_steps, special_rows

F32 = np.float32
SEEDS = (20261207, -3)  # the second also checks a negative i64 seed


def near_draw(v, q, u):
    """Elements whose stochastic code can differ between the compiled code
    and the reference: v moved by 2 ulps either way rounds differently."""
    v = np.asarray(v, F32)
    d = np.spacing(np.abs(v)) * F32(2)
    ones = np.ones(q.scale_shape(v.shape), F32)
    with np.errstate(invalid="ignore"):
        lo, hi = R.quantize(v - d, ones, q, u), R.quantize(v + d, ones, q, u)
    return lo != hi


def backward_estimator(q):
    """The estimator of the case's backward: one that reads the rounding."""
    if q.method == "learned":
        return "ste"  # the LSQ term reads round(v)
    return "trust" if q.grid == "centered" else "clip"


def stochastic_case(q, shape, dtype, packed, index, dynamic=False, special=False):
    """`special`: rows of NaN, +-Inf, zeros and subnormals in x (and a
    subnormal learned step), special_cases.py's."""
    learned = q.method == "learned"
    attr = q.attr()[:-1] + ", stochastic>"
    sshape = q.scale_shape(shape)
    xt = t(dyn(shape, dynamic), dtype)
    st = t(dyn(sshape, dynamic and q.granularity != "per_tensor"))
    cshape = list(shape[:-1]) + [shape[-1] // 2] if packed else list(shape)
    ct = t(dyn(cshape, dynamic), "i8")
    pk = " packed" if packed else ""
    est = backward_estimator(q)
    grad_seed = " seed %seed0" if est == "trust" or learned else ""
    name = f"sr{index}_{q.grid}{q.bits}_{q.method}_{q.granularity}{q.group or ''}_{dtype}" + \
        ("_packed" if packed else "") + ("_dynamic" if dynamic else "") + \
        ("_special" if special else "")
    func = "case_" + name
    args = [f"%x: {xt}", f"%dy: {xt}"] + ([f"%s: {st}"] if learned else [])
    results = ([] if learned else [st]) + [ct, xt, xt, xt] + ([st] if learned else [])
    scale = "" if learned else f"  %s = qat.scale %x as {attr} : {xt} -> {st}\n"
    grad = (f"  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as {attr}{grad_seed} with {est} "
            f": {xt}, {st} -> {st}\n" if learned else
            f"  %dx = qat.fake_quant_grad %dy, %x, %s as {attr}{grad_seed} with {est} "
            f": {xt}, {st}\n")
    returned = ([] if learned else ["%s"]) + ["%q", "%f0", "%f1", "%dx"] + \
        (["%ds"] if learned else [])
    mlir = f"""func.func @{func}({', '.join(args)}) -> ({', '.join(results)})
    attributes {{llvm.emit_c_interface}} {{
  %seed0 = arith.constant {SEEDS[0]} : i64
  %seed1 = arith.constant {SEEDS[1]} : i64
{scale}  %q = qat.quantize %x, %s as {attr}{pk} seed %seed0 : {xt}, {st} -> {ct}
  %f0 = qat.fake_quant %x, %s as {attr} seed %seed0 with ste : {xt}, {st}
  %f1 = qat.fake_quant %x, %s as {attr} seed %seed1 with clip : {xt}, {st}
{grad}  return {', '.join(returned)} : {', '.join(results)}
}}
"""
    gen = with_edges(3.0) if index % 2 == 0 else with_edges(0.5)
    if special:
        gen = special_rows
    in_args = [(shape, dtype, gen), (shape, dtype, normal())]
    if learned:
        in_args.append((sshape, "f32", learned_steps if special else positive(0.05, 0.6)))

    def check(inputs, outputs):
        x, dy = [a.astype(F32) for a in inputs[:2]]
        if dtype == "bf16":
            x, dy = bf16_round(x), bf16_round(dy)
        outputs = list(outputs)
        if learned:
            s = inputs[2].astype(F32)
        else:
            s_out = outputs.pop(0)
            close(s_out, R.scale(x, q), "scale", rtol=1e-5, atol_scale=1e-30)
            s = s_out.astype(F32)
        q_out, f0_out, f1_out, dx_out = outputs[:4]
        v = x / R.expand(s, x, q)
        # A NaN ratio of a number: 0/0 of a zero group, or a NaN or infinite
        # step (a group holding a NaN or an infinity); a NaN x itself has
        # its defined results (the lowest code, or NaN).
        undefined = np.isnan(v) & ~np.isnan(x)
        u0, u1 = R.uniform_draws(SEEDS[0], x.shape), R.uniform_draws(SEEDS[1], x.shape)
        codes = R.unpack(q_out) if packed else q_out.astype(np.int64)
        near0 = near_draw(v, q, u0) | undefined
        ref0 = np.where(undefined, codes, R.quantize(x, s, q, u0))
        flips = equal_except_near(codes, ref0, near0, "quantize (stochastic)")
        tol = 2.0 ** -7 if dtype == "bf16" else 1e-6
        for f_out, u, what in ((f0_out, u0, "fake_quant seed 0"),
                               (f1_out, u1, "fake_quant seed 1")):
            near = near_draw(v, q, u) | undefined
            ref = np.where(near, f_out.astype(F32), R.fake_quant(x, s, q, u))
            close(f_out, maybe_bf16(ref, dtype), f"{what} (stochastic)", rtol=tol)
        # The backward on the forward's draws (seed 0).
        dx_ref, ds_ref = R.fake_quant_grad(dy, x, s, q, est, None, u0)
        near = near0 | boundary_mask(x, s, q, est, u0)
        dx_cmp = np.where(near, dx_out.astype(F32), dx_ref)
        close(dx_out, maybe_bf16(dx_cmp, dtype), f"fake_quant_grad[{est}].dx (stochastic)",
              rtol=max(tol, 1e-5))
        if learned:
            check_ds(outputs[4], ds_ref, dy, v, q, near0, "fake_quant_grad (stochastic)")
        # The seed and the rounding must matter.
        defined = ~undefined
        nearest = R.quantize(x, s, q)
        rounded_apart = int((codes != nearest)[defined].sum())
        if defined.sum() >= 64 and rounded_apart == 0:
            raise Failure("stochastic codes equal the nearest ones everywhere")
        if defined.sum() >= 64 and np.array_equal(f0_out[defined], f1_out[defined]):
            raise Failure("two seeds gave the same levels")
        return (f"{flips} flips, {rounded_apart} of {int(defined.sum())} codes off nearest, "
                f"{int(near.sum())} dx exempt")

    result_types = [(shape_of(ty.replace("?", str(shape[0]))), dtype_of(ty)) for ty in results]
    return Case(name, mlir, func, in_args, check, result_types, dynamic_rows=dynamic)


def stochastic_matmul_case(m, n, k):
    """W4A4 with stochastic activations: x quantized to packed centered codes
    under a seed (on sm_90a the codes are made one a byte for wgmma by a
    second quantize, which must draw the same bits), w to nearest, and
    qat.matmul of the codes; the codes that x's dequantized values show
    against the reference on the same draws, the product against them."""
    q = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    sr = q.attr()[:-1] + ", stochastic>"
    name = f"sr_quantized_matmul_{m}x{n}x{k}"
    func = "case_" + name
    xt, wt, sxt, swt = t([m, k]), t([n, k]), t([m, 1]), t([n, 1])
    cxt, cwt, yt = t([m, k // 2], "i8"), t([n, k // 2], "i8"), t([m, n])
    mlir = f"""func.func @{func}(%x: {xt}, %w: {wt}) -> ({yt}, {sxt}, {xt}, {swt})
    attributes {{llvm.emit_c_interface}} {{
  %seed = arith.constant {SEEDS[0]} : i64
  %sx = qat.scale %x as {sr} : {xt} -> {sxt}
  %cx = qat.quantize %x, %sx as {sr} packed seed %seed : {xt}, {sxt} -> {cxt}
  %xq = qat.dequantize %cx, %sx as {sr} packed : {cxt}, {sxt} -> {xt}
  %sw = qat.scale %w as {q.attr()} : {wt} -> {swt}
  %cw = qat.quantize %w, %sw as {q.attr()} packed : {wt}, {swt} -> {cwt}
  %y = qat.matmul %cx, %cw, %sx, %sw as {sr}, {q.attr()} packed : {cxt}, {cwt}, {sxt}, {swt} -> {yt}
  return %y, %sx, %xq, %sw : {yt}, {sxt}, {xt}, {swt}
}}
"""

    def check(inputs, outputs):
        x, w = [a.astype(F32) for a in inputs]
        y, sx, xq, sw = [o.astype(F32) for o in outputs]
        close(sx, R.scale(x, q), "scale of x", rtol=1e-5, atol_scale=1e-30)
        close(sw, R.scale(w, q), "scale of w", rtol=1e-5, atol_scale=1e-30)
        cx = np.rint(xq.astype(np.float64) / sx - 0.5).astype(np.int64)
        u = R.uniform_draws(SEEDS[0], x.shape)
        v = x / sx
        flips = equal_except_near(cx, R.quantize(x, sx, q, u), near_draw(v, q, u),
                                  "stochastic codes of x")
        cw = R.quantize(w, sw, q)  # w rounds to nearest: exact up to ties
        ref = R.matmul(cx, cw, sx, sw, q, q)
        close(y, ref, "matmul", rtol=1e-6, atol_scale=float(np.max(np.abs(ref))) * 1e-3)
        if (cx == R.quantize(x, sx, q)).all():
            raise Failure("stochastic codes equal the nearest ones everywhere")
        return f"{flips} flips"

    return Case(name, mlir, func, [([m, k], "f32", normal()), ([n, k], "f32", normal())],
                check, [([m, n], "f32"), ([m, 1], "f32"), ([m, k], "f32"), ([n, 1], "f32")])


def stochastic_cases():
    Q = R.Quantizer
    configs = [
        (Q("centered", 4, "rms_gaussian", "per_row"), [13, 96], "f32", True, False),
        (Q("centered", 2, "rms_gaussian", "per_tensor"), [2, 7, 40], "f32", True, False),
        (Q("signed", 3, "absmax", "per_tensor"), [9, 50], "bf16", False, False),
        (Q("signed", 8, "absmax", "per_group", 16), [11, 64], "f32", False, False),
        (Q("e4m3", 8, "absmax", "per_row"), [7, 72], "f32", False, False),
        (Q("e5m2", 8, "absmax", "per_tensor"), [6, 66], "bf16", False, False),
        (Q("e2m1", 4, "mx", "per_group", 32), [9, 64], "f32", True, False),
        (Q("e2m1", 4, "nvfp4", "per_group", 16), [10, 48], "f32", False, False),
        # LSQ: the step gradient reads the forward's rounding.
        (Q("signed", 3, "learned", "per_row"), [12, 40], "f32", True, False),
        (Q("signed", 4, "learned", "per_tensor"), [5, 64], "bf16", False, False),
        # Dynamic rows: per_tensor views the tensor as one group of dynamic
        # length, per_row as dynamic rows.
        (Q("centered", 4, "rms_gaussian", "per_tensor"), [17, 24], "f32", True, True),
        (Q("e4m3", 8, "absmax", "per_row"), [19, 40], "f32", False, True),
    ]
    special = [  # NaN, +-Inf, zeros and subnormals
        (Q("signed", 4, "learned", "per_row"), [8, 32], "f32", True, False),
        (Q("e4m3", 8, "absmax", "per_row"), [8, 48], "f32", False, False),
        (Q("centered", 3, "rms_gaussian", "per_group", 8), [6, 64], "bf16", False, False),
    ]
    return [stochastic_case(q, shape, dtype, packed, index, dynamic)
            for index, (q, shape, dtype, packed, dynamic) in enumerate(configs)] + \
        [stochastic_case(q, shape, dtype, packed, len(configs) + index, dynamic, special=True)
         for index, (q, shape, dtype, packed, dynamic) in enumerate(special)] + \
        [stochastic_matmul_case(130, 72, 256)]
