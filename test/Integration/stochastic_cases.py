"""Numerical cases of stochastic rounding (docs/semantics.md, "Stochastic
rounding"), run by run_cases.py with the other cases of cases.py on the CPU
and the GPU.

Each case computes the step, then quantizes and fake-quantizes x with a
`stochastic` quantizer under two seeds, and compares with the reference
evaluated on the same draws (reference.uniform_draws): codes and levels
exactly, except where moving v = x/s by 2 ulps would change the rounding
(as for ties of rounding to nearest; at most 0.1% of the elements). The
check also fails when the two seeds give the same codes or when nothing
rounds differently from rounding to nearest, so that a lowering that
ignores the seed cannot pass. Every grid (integer and float formats, packed
codes), granularity and the dynamic-rows path (whose element index the
lowering builds differently) are covered.
"""

import numpy as np

import reference as R
from cases import (Case, Failure, bf16_round, close, dyn, dtype_of,
                   equal_except_near, maybe_bf16, shape_of, t, with_edges)

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


def stochastic_case(q, shape, dtype, packed, index, dynamic=False):
    sq = R.Quantizer(q.grid, q.bits, q.method, q.granularity, q.group)
    attr = q.attr()[:-1] + ", stochastic>"
    xt, st = t(dyn(shape, dynamic), dtype), t(dyn(q.scale_shape(shape), dynamic
                                                 and q.granularity != "per_tensor"))
    cshape = list(shape[:-1]) + [shape[-1] // 2] if packed else list(shape)
    ct = t(dyn(cshape, dynamic), "i8")
    pk = " packed" if packed else ""
    name = f"sr{index}_{q.grid}{q.bits}_{q.method}_{q.granularity}{q.group or ''}_{dtype}" + \
        ("_packed" if packed else "") + ("_dynamic" if dynamic else "")
    func = "case_" + name
    mlir = f"""func.func @{func}(%x: {xt}) -> ({st}, {ct}, {xt}, {xt})
    attributes {{llvm.emit_c_interface}} {{
  %seed0 = arith.constant {SEEDS[0]} : i64
  %seed1 = arith.constant {SEEDS[1]} : i64
  %s = qat.scale %x as {attr} : {xt} -> {st}
  %q = qat.quantize %x, %s as {attr}{pk} seed %seed0 : {xt}, {st} -> {ct}
  %f0 = qat.fake_quant %x, %s as {attr} seed %seed0 with ste : {xt}, {st}
  %f1 = qat.fake_quant %x, %s as {attr} seed %seed1 with clip : {xt}, {st}
  return %s, %q, %f0, %f1 : {st}, {ct}, {xt}, {xt}
}}
"""
    gen = with_edges(3.0) if index % 2 == 0 else with_edges(0.5)

    def check(inputs, outputs):
        x = inputs[0].astype(F32)
        if dtype == "bf16":
            x = bf16_round(x)
        s_out, q_out, f0_out, f1_out = outputs
        close(s_out, R.scale(x, sq), "scale", rtol=1e-5, atol_scale=1e-30)
        s = s_out.astype(F32)
        v = x / R.expand(s, x, sq)
        undefined = np.isnan(v)  # 0/0 of a zero group under absmax
        u0, u1 = R.uniform_draws(SEEDS[0], x.shape), R.uniform_draws(SEEDS[1], x.shape)
        codes = R.unpack(q_out) if packed else q_out.astype(np.int64)
        ref0 = np.where(undefined, codes, R.quantize(x, s, sq, u0))
        flips = equal_except_near(codes, ref0, near_draw(v, sq, u0) | undefined,
                                  "quantize (stochastic)")
        tol = 2.0 ** -7 if dtype == "bf16" else 1e-6
        for f_out, u, what in ((f0_out, u0, "fake_quant seed 0"),
                               (f1_out, u1, "fake_quant seed 1")):
            near = near_draw(v, sq, u) | undefined
            ref = np.where(near, f_out.astype(F32), R.fake_quant(x, s, sq, u))
            close(f_out, maybe_bf16(ref, dtype), f"{what} (stochastic)", rtol=tol)
        # The seed and the rounding must matter.
        defined = ~undefined
        nearest = R.quantize(x, s, sq)
        rounded_apart = int((codes != nearest)[defined].sum())
        if defined.sum() >= 64 and rounded_apart == 0:
            raise Failure("stochastic codes equal the nearest ones everywhere")
        if defined.sum() >= 64 and np.array_equal(f0_out[defined], f1_out[defined]):
            raise Failure("two seeds gave the same levels")
        return f"{flips} flips, {rounded_apart} of {int(defined.sum())} codes off nearest"

    results = [(shape_of(ty.replace("?", str(shape[0]))), dtype_of(ty))
               for ty in (st, ct, xt, xt)]
    return Case(name, mlir, func, [(shape, dtype, gen)], check, results,
                dynamic_rows=dynamic)


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
        # Dynamic rows: per_tensor views the tensor as one group of dynamic
        # length, per_row as dynamic rows.
        (Q("centered", 4, "rms_gaussian", "per_tensor"), [17, 24], "f32", True, True),
        (Q("e4m3", 8, "absmax", "per_row"), [19, 40], "f32", False, True),
    ]
    return [stochastic_case(q, shape, dtype, packed, index, dynamic)
            for index, (q, shape, dtype, packed, dynamic) in enumerate(configs)]
