"""Numerical test cases of the qat ops, shared by the CPU and GPU runners.

A case is one function in MLIR, the recipe of its random inputs and a check
that compares the function's outputs with the numpy reference
(reference.py). Every variant of DESIGN.md section 1 is covered: each op,
forward and backward, both grids, every scale method, granularity and
estimator, bits 1..8, odd shapes, bf16 inputs, and edge cases (zero rows,
huge and tiny values, ties at .5, values exactly at the clip).

Tolerances (stated once, used by every check):
- codes and masks are compared exactly, after re-deriving them from the
  step the compiled code produced: a step computed by a reduction differs
  from numpy's by a few ulps, and a code that flips because of that is not
  an error. An element is exempt only where the f32 and the exact results
  can really differ: a ratio v = x/s within 2 ulps of v (f32) of a rounding
  tie that the clamp does not decide (a division is within half an ulp, a
  GPU's reciprocal within 1.5), or of a mask boundary (qn, qp, the centered
  clip); the trust mask within the rounding of T * std (its reduction and
  the f32 operations after it). At most 0.1% of the elements may then differ;
- a ratio that is NaN (0/0: a zero step on a zero row) is exempt from the
  checks of that element and of its group's ds: its result is for the
  NaN/Inf policy of docs/semantics.md to state. Infinite steps and ratios
  are checked against the formulas evaluated in IEEE f32;
- steps (reductions): relative error <= 1e-5;
- fp32 elementwise results: max |out - ref| <= 1e-6 * max(1, |ref|); a NaN
  or an infinity in the reference must be matched exactly;
- sums (ds, Hadamard): |out - ref| <= 1e-5 * sum of |terms| (+1e-30); each
  exempt element widens ds's bound by what its other choice would change
  (|dy| at a tie, |dy| * |clamp(v) - (round(v) - v)| + |dy| at a boundary);
- bf16 results: relative error <= 2^-7 (one bf16 rounding);
- matmul: the integer sum is exact; the epilogue is one or two fp32
  roundings: relative error <= 1e-6 (f32), 2^-7 (bf16), 2^-10 (f16).
NaN or Inf in an output where the reference is finite always fails. Every
run prints how many elements and ds checks were exempt (run_cases.py), so
that a loss of coverage shows.

exact_cases.py adds cases whose inputs sit exactly on ties and boundaries,
with expected results computed exactly.
"""

import itertools
import math

import numpy as np

import reference as R

F32 = np.float32


def t(shape, dtype="f32"):
    return "tensor<" + "".join(f"{d}x" for d in shape) + dtype + ">"


class Case:
    def __init__(self, name, mlir, func, args, check, results, dynamic_rows=False):
        self.name, self.mlir, self.func = name, mlir, func
        self.args = args          # list of (shape, dtype, generator(rng, shape))
        self.check = check        # check(inputs, outputs) -> (ok, message)
        self.results = results    # list of (shape, dtype)
        # The function's types have a dynamic first dimension wherever a
        # tensor has the case's rows (args[0]'s first dimension): several
        # cases share the function at different row counts.
        self.dynamic_rows = dynamic_rows

    def _signature(self, shapes):
        rows = self.args[0][0][0]
        return [([-1] + list(s[1:]) if self.dynamic_rows and len(s) > 1 and s[0] == rows
                 else list(s), d) for s, d in shapes]

    def signature_args(self):
        return self._signature([(s, d) for s, d, _ in self.args])

    def signature_results(self):
        return self._signature(self.results)

    def inputs(self, seed):
        rng = np.random.default_rng(seed)
        return [gen(rng, shape).astype(np_dtype(dtype))
                for shape, dtype, gen in self.args]


def np_dtype(dtype):
    return {"f32": np.float32, "bf16": np.float32, "f16": np.float16,
            "i8": np.int8, "i32": np.int32, "i1": np.bool_}[dtype]


# --- Comparison helpers ------------------------------------------------------


class Failure(Exception):
    pass


def finite_like(out, ref, what):
    bad = ~np.isfinite(out) & np.isfinite(ref)
    if bad.any():
        raise Failure(f"{what}: {bad.sum()} non-finite values where the reference is finite")


def close(out, ref, what, rtol=1e-6, atol_scale=1.0):
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    if out.shape != ref.shape:
        raise Failure(f"{what}: shape {out.shape}, expected {ref.shape}")
    finite_like(out, ref, what)
    special = ~np.isfinite(ref)
    wrong = special & ~((out == ref) | (np.isnan(ref) & np.isnan(out)))
    if wrong.any():
        i = tuple(np.argwhere(wrong)[0])
        raise Failure(f"{what}: got {out[i]} at {i}, want {ref[i]} "
                      f"({int(wrong.sum())} elements)")
    out, ref = np.where(special, 0.0, out), np.where(special, 0.0, ref)
    err = np.abs(out - ref)
    bound = rtol * np.maximum(atol_scale, np.abs(ref))
    worst = np.max(err / bound) if err.size else 0
    if worst > 1:
        i = np.unravel_index(np.argmax(err / bound), err.shape)
        raise Failure(f"{what}: error {err[i]:.3g} at {i} (got {out[i]}, want {ref[i]}), "
                      f"tolerance {bound[i]:.3g}")
    return float(np.max(err)) if err.size else 0.0


def equal_except_near(out, ref, near, what):
    """Exact equality, except where `near` marks an element within tolerance
    of a tie or boundary; those may differ, in at most 0.1% of elements."""
    out, ref = np.asarray(out), np.asarray(ref)
    if out.shape != ref.shape:
        raise Failure(f"{what}: shape {out.shape}, expected {ref.shape}")
    diff = out != ref
    if (diff & ~near).any():
        i = np.argwhere(diff & ~near)[0]
        raise Failure(f"{what}: got {out[tuple(i)]}, want {ref[tuple(i)]} at {tuple(i)}")
    if diff.sum() > max(1, 0.001 * diff.size):
        raise Failure(f"{what}: {diff.sum()} elements differ near ties")
    return int(diff.sum())


def ulps(v, n=2.0):
    """n f32 ulps of |v|."""
    return n * np.spacing(np.abs(np.asarray(v, np.float64)).astype(F32)).astype(np.float64)


def near_tie(v, q):
    """Ratios whose code can really differ between the compiled code and the
    reference: moving v = x/s by 2 ulps of v either way (a division is within
    half an ulp, a GPU's reciprocal within 1.5) and then adding 1/2 in f32
    (centered grid) gives two different clamped codes. Exact zeros, tiny
    ratios and ratios the clamp decides are not ties; sign(x) (signed, one
    bit) has none."""
    v = np.asarray(v, F32)
    if q.grid == "signed" and q.bits == 1:
        return np.zeros(v.shape, bool)
    d = np.spacing(np.abs(v)) * F32(2)
    lo, hi = v - d, v + d
    if q.is_float:
        with np.errstate(invalid="ignore"):
            return R.round_to_format(lo, q.grid)[1] != R.round_to_format(hi, q.grid)[1]
    if q.grid == "centered":
        lo, hi = lo + F32(0.5), hi + F32(0.5)
    low, high = (q.qn + 1, q.qp + 1) if q.grid == "centered" else (q.qn, q.qp)
    return np.clip(np.round(lo), low, high) != np.clip(np.round(hi), low, high)


class Coverage:
    """How many elements and ds checks each kind of check exempted."""

    def __init__(self):
        self.counts = {}

    def count(self, what, total, exempt):
        t, e = self.counts.get(what, (0, 0))
        self.counts[what] = (t + int(total), e + int(exempt))

    def report(self):
        return [f"exempt {what}: {e} of {t} ({100.0 * e / max(t, 1):.3f}%)"
                for what, (t, e) in sorted(self.counts.items())]


STATS = Coverage()


def ds_bound(dy, v, q, ambiguous, ds_ref_shape):
    """The per-group bound of ds: 1e-5 of the sum of |dy * term|, plus, for
    each ambiguous element, what its other choice would change."""
    vv = np.where(np.isfinite(v), v, 0.0).astype(np.float64)
    inside = (vv >= q.qn) & (vv <= q.qp)
    term = np.where(inside, np.round(vv) - vv, np.clip(vv, q.qn, q.qp))
    other = np.abs(np.clip(vv, q.qn, q.qp) - (np.round(vv) - vv)) + 1.0
    a = np.abs(dy.astype(np.float64))
    magnitude = np.sum(R.groups(a * np.abs(term), q), axis=-1)
    slack = np.sum(R.groups(np.where(ambiguous, a * other, 0.0), q), axis=-1)
    g = 1.0 / np.sqrt(max(v.size, 1) * q.qp)
    return (g * (1e-5 * magnitude + slack)).reshape(ds_ref_shape) + 1e-30


def check_ds(ds_out, ds_ref, dy, v, q, ambiguous, what):
    """ds within its bound; groups with a NaN ratio are skipped (counted)."""
    nan_group = np.any(R.groups(np.isnan(v), q), axis=-1).reshape(ds_ref.shape)
    bound = ds_bound(dy, v, q, ambiguous, ds_ref.shape)
    err = np.abs(ds_out.astype(np.float64) - ds_ref)
    bad = ~(err <= bound) & ~nan_group
    widened = np.any(R.groups(ambiguous, q), axis=-1).reshape(ds_ref.shape)
    STATS.count("ds groups (skipped: NaN ratio)", ds_ref.size, nan_group.sum())
    STATS.count("ds groups (bound widened)", ds_ref.size, (widened & ~nan_group).sum())
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        raise Failure(f"{what}.ds: got {ds_out[i]}, want {ds_ref[i]}, error {err[i]:.3g} > "
                      f"bound {bound[i]:.3g}")


# --- Random inputs --------------------------------------------------------------


def normal(scale=1.0):
    return lambda rng, shape: rng.normal(0, scale, shape)


def positive(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def with_edges(scale=1.0):
    """Normal data with a zero row, a huge and a tiny row where rows allow."""
    def gen(rng, shape):
        x = rng.normal(0, scale, shape)
        rows = x.reshape(-1, shape[-1])
        if rows.shape[0] >= 4:
            rows[0] = 0.0
            rows[1] *= 1e30
            rows[2] *= 1e-30
        return rows.reshape(shape)
    return gen


# --- Quantizer cases ------------------------------------------------------------


ESTIMATORS = {"ste": "ste", "clip": "clip", "trust": "trust",
              "trust_explicit": "trust<0.3>", "fourier": "fourier",
              "fourier2": "fourier<[0.15, -0.04]>"}


def estimators_for(q):
    if q.is_float:
        # trust's default threshold is defined for the integer grids only.
        return ["ste", "clip", "trust_explicit"]
    names = ["ste", "clip", "trust", "trust_explicit"]
    if q.grid == "signed":
        names += ["fourier", "fourier2"]
    return names


def estimator_param(name):
    return {"trust_explicit": 0.3, "fourier2": [0.15, -0.04]}.get(name)


def estimator_kind(name):
    return name.split("_")[0].rstrip("2")


def quantizer_mlir(q, shape, dtype, packed, func):
    """The function of a quantizer case: scale (or a given learned step),
    quantize, dequantize, fake_quant and fake_quant_grad under every
    estimator allowed for the grid. Returns (mlir, results, estimators)."""
    learned = q.method == "learned"
    sshape = q.scale_shape(shape)
    xt, st = t(shape, dtype), t(sshape)
    cshape = list(shape[:-1]) + [shape[-1] // 2] if packed else shape
    ct = t(cshape, "i8")
    args = [f"%x: {xt}", f"%dy: {xt}"] + ([f"%s: {st}"] if learned else [])
    body, outs = [], []
    if not learned:
        body.append(f"%s = qat.scale %x as {q.attr()} : {xt} -> {st}")
        outs.append(("%s", st))
    pk = " packed" if packed else ""
    body.append(f"%q = qat.quantize %x, %s as {q.attr()}{pk} : {xt}, {st} -> {ct}")
    body.append(f"%d = qat.dequantize %q, %s as {q.attr()}{pk} : {ct}, {st} -> {xt}")
    forward_estimator = "ste" if q.is_float else "trust"  # plays no part in the forward
    body.append(f"%f = qat.fake_quant %x, %s as {q.attr()} with {forward_estimator} : {xt}, {st}")
    outs += [("%q", ct), ("%d", xt), ("%f", xt)]
    ests = estimators_for(q)
    for e in ests:
        if learned:
            body.append(f"%dx_{e}, %ds_{e} = qat.fake_quant_grad %dy, %x, %s as {q.attr()} "
                        f"with {ESTIMATORS[e]} : {xt}, {st} -> {st}")
            outs += [(f"%dx_{e}", xt), (f"%ds_{e}", st)]
        else:
            body.append(f"%dx_{e} = qat.fake_quant_grad %dy, %x, %s as {q.attr()} "
                        f"with {ESTIMATORS[e]} : {xt}, {st}")
            outs.append((f"%dx_{e}", xt))
    mlir = (f"func.func @{func}({', '.join(args)}) -> ({', '.join(ty for _, ty in outs)}) "
            "attributes {llvm.emit_c_interface} {\n  " + "\n  ".join(body) +
            f"\n  return {', '.join(v for v, _ in outs)} : {', '.join(ty for _, ty in outs)}\n}}\n")
    return mlir, outs, ests


def quantizer_case(q, shape, dtype, packed, index, dynamic=False):
    """A quantizer_mlir function on random data (every third case with a zero,
    a huge and a tiny row). `dynamic`: the function's rows are dynamic, and
    the case is named after its row count."""
    learned = q.method == "learned"
    sshape = q.scale_shape(shape)
    name = f"q{index}_{q.grid}{q.bits}_{q.method}_{q.granularity}{q.group or ''}_{dtype}" + \
        ("_packed" if packed else "")
    func = "case_" + name
    if dynamic:
        func = "case_dynamic_" + name
        name = f"dynamic_{name}_{shape[0]}rows"
    mlir, outs, ests = quantizer_mlir(q, dyn(shape, dynamic), dtype, packed, func)
    # Edge rows in cases of every granularity (zero rows: a zero absmax step).
    gen_x = with_edges() if index % 2 == 0 or index % 3 == 0 else normal(2.0)
    in_args = [(shape, dtype, gen_x), (shape, dtype, normal())]
    if learned:
        in_args.append((sshape, "f32", positive(0.05, 0.6)))

    def check(inputs, outputs):
        x, dy = [a.astype(F32) for a in inputs[:2]]
        if dtype == "bf16":
            x, dy = bf16_round(x), bf16_round(dy)
        o = list(outputs)
        if learned:
            s = inputs[2].astype(F32)
        else:
            s_out = o.pop(0)
            close(s_out, R.scale(x, q), "scale", rtol=1e-5, atol_scale=1e-30)
            s = s_out.astype(F32)  # downstream checks use the compiled step
        q_out, d_out, f_out = o[:3]
        o = o[3:]
        v = x / R.expand(s, x, q)
        undefined = np.isnan(v)  # 0/0: for the NaN/Inf policy
        tie = near_tie(v, q) | undefined
        STATS.count("elements (NaN ratio)", v.size, undefined.sum())
        STATS.count("elements (tie)", v.size, (tie & ~undefined).sum())
        got_codes = R.unpack(q_out) if packed else q_out.astype(np.int64)
        codes = np.where(undefined, got_codes, R.quantize(x, s, q))
        flips = equal_except_near(got_codes, codes, tie, "quantize")
        # Values follow the codes the compiled code chose.
        tol = 2.0 ** -7 if dtype == "bf16" else 1e-6
        d_ref = np.where(undefined, d_out.astype(F32), R.dequantize(got_codes, s, q))
        close(d_out, maybe_bf16(d_ref, dtype), "dequantize", rtol=tol)
        fq = np.where(tie, f_out.astype(F32), R.fake_quant(x, s, q))
        close(f_out, maybe_bf16(fq, dtype), "fake_quant", rtol=tol)
        exempt = 0
        for e in ests:
            dx_ref, ds_ref = R.fake_quant_grad(dy, x, s, q, estimator_kind(e), estimator_param(e))
            dx_out = o.pop(0)
            near = boundary_mask(x, s, q, e) | tie
            STATS.count("elements (mask boundary)", v.size, (near & ~tie).sum())
            exempt += int(near.sum())
            dx_cmp = np.where(near, dx_out.astype(F32), dx_ref)
            close(dx_out, maybe_bf16(dx_cmp, dtype), f"fake_quant_grad[{e}].dx", rtol=max(tol, 1e-5))
            if learned:
                check_ds(o.pop(0), ds_ref, dy, v, q, tie | range_boundary(v, q),
                         f"fake_quant_grad[{e}]")
        return f"{flips} tie flips, {exempt} exempt of {v.size * len(ests)} dx elements"

    results = [(shape_of(ty.replace("?", str(shape[0]))), dtype_of(ty)) for _, ty in outs]
    return Case(name, mlir, func, in_args, check, results, dynamic_rows=dynamic)


def range_boundary(v, q):
    """Ratios within 2 ulps of qn or qp (the signed clip, Fourier's and the
    LSQ term's range)."""
    w = ulps(v)
    with np.errstate(invalid="ignore"):
        return (np.abs(v - q.qn) <= w) | (np.abs(v - q.qp) <= w)


def boundary_mask(x, s, q, estimator, u=None):
    """Elements whose mask under `estimator` can differ between f32 and exact
    arithmetic (see the module's tolerances); `u`: stochastic draws."""
    se = R.expand(s, x, q)
    v = (x / se).astype(np.float64)
    near = np.zeros(x.shape, bool)
    kind = estimator_kind(estimator)
    with np.errstate(invalid="ignore"):
        if kind == "clip" and q.grid == "centered":
            c = ((1 << q.bits) - 1) / 2
            near |= np.abs(np.abs(v) - c) <= ulps(v)
        elif kind in ("clip", "fourier"):
            near |= range_boundary(v, q)
        if kind == "trust":
            xs = R.groups(x, q).astype(np.float64)
            std = np.sqrt(np.sum(xs * xs, axis=-1) / max(xs.shape[-1], 1))
            std = R.expand(std.reshape(q.scale_shape(x.shape)), x, q).astype(np.float64)
            err = np.abs(R.fake_quant(x, s, q, u).astype(np.float64) - x)
            T = R.trust_factor(q, estimator_param(estimator))
            n = R.groups(x, q).shape[-1]
            # The reference's f32 mean (a pairwise sum: log2(n) roundings)
            # and the f32 sqrt, division and product after it; |xq - x| is
            # one f32 subtraction.
            width = (np.log2(n) + 8) * 2.0 ** -24 * T * std + 2 * np.spacing(err.astype(F32))
            near |= np.abs(err - T * std) <= width
    return near


def bf16_round(a):
    b = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def maybe_bf16(a, dtype):
    return bf16_round(a) if dtype == "bf16" else a


def shape_of(ty):
    return [int(d) for d in ty[len("tensor<"):-1].split("x")[:-1]]


def dtype_of(ty):
    return ty[len("tensor<"):-1].split("x")[-1]


def quantizer_cases(rng):
    cases, index = [], 0
    for grid, bits, method, gran in itertools.product(
            ["centered", "signed"], range(1, 9), ["rms_gaussian", "absmax", "learned"],
            ["per_tensor", "per_row", "per_group"]):
        if method == "learned" and grid != "signed":
            continue
        group = int(rng.choice([4, 8, 16])) if gran == "per_group" else 0
        q = R.Quantizer(grid, bits, method, gran, group)
        rows = int(rng.choice([5, 7, 13]))
        cols = (group or 2) * int(rng.integers(3, 9))
        cols += cols % 2  # packed codes need an even row
        shape = [rows, cols] if index % 4 else [2, rows, cols]
        packed = bits <= 4 and index % 2 == 0
        dtype = "bf16" if index % 5 == 4 else "f32"
        cases.append(quantizer_case(q, shape, dtype, packed, index))
        index += 1
    # The float element formats: fp8 scaled per tensor, row or block, and the
    # MX formats (a power-of-two step per block of 32, or any block).
    for grid, method, gran in itertools.product(
            ["e4m3", "e5m2", "e2m1"], ["absmax", "rms_gaussian", "mx"],
            ["per_tensor", "per_row", "per_group"]):
        bits = 4 if grid == "e2m1" else 8
        group = int(rng.choice([16, 32])) if gran == "per_group" else 0
        q = R.Quantizer(grid, bits, method, gran, group)
        rows = int(rng.choice([5, 7, 13]))
        cols = (group or 2) * int(rng.integers(2, 6))
        cols += cols % 2
        shape = [rows, cols] if index % 4 else [2, rows, cols]
        packed = bits == 4 and index % 2 == 0
        dtype = "bf16" if index % 5 == 4 else "f32"
        cases.append(quantizer_case(q, shape, dtype, packed, index))
        index += 1
    # NVFP4: e2m1 with an e4m3 step per block under a per-tensor scale.
    for gran, group in [("per_group", 16), ("per_group", 32), ("per_row", 0)]:
        q = R.Quantizer("e2m1", 4, "nvfp4", gran, group)
        rows = int(rng.choice([5, 7, 13]))
        shape = [rows, (group or 8) * int(rng.integers(2, 6))]
        cases.append(quantizer_case(q, shape, "bf16" if index % 5 == 4 else "f32",
                                    index % 2 == 0, index))
        index += 1
    return cases


# --- Deviation of the trust estimator (qat.rms) ------------------------------


def rms_edges():
    """Normal data with a zero row, a large and a small row whose squares and
    their sums stay finite and normal in f32 (1e30 would square to inf)."""
    def gen(rng, shape):
        rows = rng.normal(0, 1.0, shape).reshape(-1, shape[-1])
        rows[0] = 0.0
        rows[1] *= 1e15
        rows[2] *= 1e-15
        return rows.reshape(shape)
    return gen


def rms_case(q, shape, dtype, data=None, dynamic=False):
    """qat.rms alone: sqrt(mean(x^2)) per group, an f32 result of the step's
    shape, checked as a reduction (relative error <= 1e-5)."""
    name = f"rms_{q.granularity}{q.group or ''}_{'x'.join(map(str, shape))}_{dtype}"
    if data is not None:
        name += "_edges"
    sshape = q.scale_shape(shape)
    ts = dyn(shape, dynamic)
    xt, st = t(ts, dtype), t(q.scale_shape(ts))
    name, func = row_case_names(name, shape, dynamic)
    mlir = (f"func.func @{func}(%x: {xt}) -> {st} attributes {{llvm.emit_c_interface}} {{\n"
            f"  %std = qat.rms %x as {q.attr()} : {xt} -> {st}\n  return %std : {st}\n}}\n")

    def check(inputs, outputs):
        x = inputs[0].astype(F32)
        if dtype == "bf16":
            x = bf16_round(x)
        ref = R.rms(x, q)
        close(outputs[0], ref, "rms", rtol=1e-5, atol_scale=1e-30)
        err = np.abs(outputs[0].astype(np.float64) - ref) / np.maximum(np.abs(ref), 1e-30)
        return f"max relative error {np.max(err):.3g}"

    return Case(name, mlir, func, [(shape, dtype, data or normal(2.0))], check,
                [(sshape, "f32")], dynamic_rows=dynamic)


def trust_std_case(q, shape, dtype, estimator="trust", data=None):
    """The forward's qat.rms passed to the backward as the trust estimator's
    `std`, next to the same backward that reduces x itself: both must give
    the reference dx (which always recomputes std from x), and each other's
    dx except within 1e-5 of the mask's boundary (none on the CPU, where the
    lowering emits the same ops for both)."""
    learned = q.method == "learned"
    name = (f"trust_std_{q.grid}{q.bits}_{q.method}_{q.granularity}{q.group or ''}_"
            f"{'x'.join(map(str, shape))}_{dtype}" + ("" if estimator == "trust" else "_T")
            + ("" if data is None else "_edges"))
    sshape = q.scale_shape(shape)
    xt, st = t(shape, dtype), t(sshape)
    est = ESTIMATORS[estimator]
    ds_type = f" -> {st}" if learned else ""
    args = [f"%x: {xt}", f"%dy: {xt}"] + ([f"%s: {st}"] if learned else [])
    body = [] if learned else [f"%s = qat.scale %x as {q.attr()} : {xt} -> {st}"]
    body.append(f"%std = qat.rms %x as {q.attr()} : {xt} -> {st}")
    outs = [("%s", st), ("%std", st)]
    for suffix, operand, types in [("std", " std %std", f", {st}"), ("own", "", "")]:
        results = f"%dx_{suffix}, %ds_{suffix}" if learned else f"%dx_{suffix}"
        body.append(f"{results} = qat.fake_quant_grad %dy, %x, %s{operand} as {q.attr()} "
                    f"with {est} : {xt}, {st}{types}{ds_type}")
        outs.append((f"%dx_{suffix}", xt))
        if learned:
            outs.append((f"%ds_{suffix}", st))
    if learned:
        outs.pop(0)
    func = "case_" + name
    mlir = (f"func.func @{func}({', '.join(args)}) -> ({', '.join(ty for _, ty in outs)}) "
            "attributes {llvm.emit_c_interface} {\n  " + "\n  ".join(body) +
            f"\n  return {', '.join(v for v, _ in outs)} : {', '.join(ty for _, ty in outs)}\n}}\n")
    in_args = [(shape, dtype, data or normal(2.0)), (shape, dtype, normal())]
    if learned:
        in_args.append((sshape, "f32", positive(0.05, 0.6)))
    tol = 2.0 ** -7 if dtype == "bf16" else 1e-6

    def check(inputs, outputs):
        x, dy = [a.astype(F32) for a in inputs[:2]]
        if dtype == "bf16":
            x, dy = bf16_round(x), bf16_round(dy)
        o = list(outputs)
        if learned:
            s = inputs[2].astype(F32)
        else:
            s = o.pop(0).astype(F32)
            close(s, R.scale(x, q), "scale", rtol=1e-5, atol_scale=1e-30)
        std = o.pop(0)
        close(std, R.rms(x, q), "rms", rtol=1e-5, atol_scale=1e-30)
        v = x / R.expand(s, x, q)
        tie = near_tie(v, q) | np.isnan(v)
        near = boundary_mask(x, s, q, estimator) | tie
        STATS.count("elements (trust std cases)", v.size, near.sum())
        dx_ref, ds_ref = R.fake_quant_grad(dy, x, s, q, "trust", estimator_param(estimator))
        dx = {}
        for suffix in ["std", "own"]:
            dx[suffix] = o.pop(0)
            what = f"fake_quant_grad[{est}{' std' if suffix == 'std' else ''}]"
            close(dx[suffix], maybe_bf16(np.where(near, dx[suffix].astype(F32), dx_ref), dtype),
                  what + ".dx", rtol=max(tol, 1e-5))
            if learned:
                check_ds(o.pop(0), ds_ref, dy, v, q, tie | range_boundary(v, q), what)
        differ = equal_except_near(dx["std"], dx["own"], near, "dx with std vs without")
        return f"{differ} elements differ with std"

    results = [(shape_of(ty), dtype_of(ty)) for _, ty in outs]
    return Case(name, mlir, func, in_args, check, results)


def rms_cases():
    c4 = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    return [
        rms_case(R.Quantizer("centered", 4, "rms_gaussian", "per_tensor"), [7, 13], "f32"),
        rms_case(R.Quantizer("signed", 2, "absmax", "per_tensor"), [2, 3, 5], "bf16"),
        rms_case(c4, [5, 37], "f32"),
        rms_case(c4, [2, 3, 11], "bf16"),
        rms_case(c4, [6, 4096], "bf16", data=rms_edges()),
        rms_case(R.Quantizer("signed", 4, "absmax", "per_group", 7), [4, 21], "f32",
                 data=rms_edges()),
        rms_case(R.Quantizer("signed", 3, "learned", "per_group", 5), [7, 45], "f32"),
        rms_case(R.Quantizer("centered", 2, "rms_gaussian", "per_group", 16), [3, 96], "bf16"),
        rms_case(R.Quantizer("signed", 8, "absmax", "per_group", 128), [2, 3, 1024], "f32"),
        # Past 2^24 squares an f32 running sum stalls (see scale's f64 sum).
        rms_case(R.Quantizer("centered", 4, "rms_gaussian", "per_tensor"), [4096, 4100], "f32"),
        trust_std_case(c4, [5, 64], "f32"),
        trust_std_case(c4, [6, 4096], "bf16"),
        trust_std_case(c4, [4, 40], "f32", data=rms_edges()),
        trust_std_case(R.Quantizer("centered", 2, "rms_gaussian", "per_tensor"), [2, 7, 24], "f32"),
        trust_std_case(R.Quantizer("signed", 3, "absmax", "per_group", 8), [7, 40], "bf16"),
        trust_std_case(R.Quantizer("centered", 8, "absmax", "per_group", 32), [3, 96], "f32",
                       "trust_explicit"),
        trust_std_case(R.Quantizer("signed", 4, "learned", "per_row"), [13, 48], "f32"),
        trust_std_case(R.Quantizer("signed", 2, "learned", "per_tensor"), [9, 30], "bf16",
                       "trust_explicit"),
    ]


# --- Hadamard ---------------------------------------------------------------


def hadamard_case(block, shape, dtype, seed=None):
    """qat.hadamard against the reference; with `seed`, the random-sign
    rotation and, as a second result, the inverse rotation of the same x."""
    signs = "" if seed is None else f"_signs{seed}".replace("-", "m")
    name = f"hadamard_b{block}_{'x'.join(map(str, shape))}_{dtype}{signs}"
    xt = t(shape, dtype)
    func = "case_" + name
    if seed is None:
        body = f"  %y = qat.hadamard %x block {block} : {xt}\n  return %y : {xt}\n"
        results = xt
    else:
        body = (f"  %seed = arith.constant {seed} : i64\n"
                f"  %y = qat.hadamard %x block {block} signs %seed : {xt}\n"
                f"  %z = qat.hadamard %x block {block} signs %seed inverse : {xt}\n"
                f"  return %y, %z : {xt}, {xt}\n")
        results = f"{xt}, {xt}"
    mlir = (f"func.func @{func}(%x: {xt}) -> ({results}) attributes "
            f"{{llvm.emit_c_interface}} {{\n{body}}}\n")

    def check(inputs, outputs):
        x = inputs[0].astype(F32)
        if dtype == "bf16":
            x = bf16_round(x)
        x64 = x.astype(np.float64)
        if seed is None:
            refs = [R.hadamard(x64, block)]
        else:
            refs = [R.random_sign_hadamard(x64, block, seed),
                    R.random_sign_hadamard(x64, block, seed, inverse=True)]
        # Each output is a sum of `block` terms of magnitude |x|/sqrt(block).
        terms = np.abs(x64).reshape(list(shape[:-1]) + [-1, block]).sum(-1)
        terms = np.repeat(terms, block, axis=-1).reshape(shape) / np.sqrt(block)
        tol = 2.0 ** -7 if dtype == "bf16" else 1e-6
        worst = 0.0
        for out, ref, what in zip(outputs, refs, ["hadamard", "inverse hadamard"]):
            y = out.astype(np.float64)
            err = np.abs(y - ref) / (tol * np.maximum(terms, 1e-30) + 1e-30)
            finite_like(y, ref, what)
            if np.max(err) > 1:
                raise Failure(f"{what}: relative error {np.max(err) * tol:.3g}")
            worst = max(worst, float(np.max(np.abs(y - ref))))
        if seed is not None and block > 1 and np.allclose(refs[0], R.hadamard(x64, block)):
            raise Failure("the signs changed nothing: pick another seed")
        return f"max error {worst:.3g}"

    return Case(name, mlir, func, [(shape, dtype, normal())], check,
                [(shape, dtype)] * (1 if seed is None else 2))


def hadamard_cases(rng):
    cases = []
    for block in [1, 2, 4, 8, 16, 32, 64, 128, 256]:
        rows = int(rng.choice([3, 5, 9]))
        cols = block * int(rng.integers(1, 4))
        cases.append(hadamard_case(block, [rows, cols], "f32"))
    cases.append(hadamard_case(128, [2, 3, 256], "f32"))
    cases.append(hadamard_case(64, [7, 128], "bf16"))
    # bf16 blocks of 128 in rows of 6 and 8 blocks: the GPU's tensor-core
    # layout (the first with idle lanes past the row).
    cases.append(hadamard_case(128, [3, 768], "bf16"))
    cases.append(hadamard_case(128, [5, 1024], "bf16"))
    # Random signs (DESIGN.md section 3), and their inverse.
    cases.append(hadamard_case(128, [5, 384], "f32", seed=11))
    cases.append(hadamard_case(16, [2, 3, 64], "bf16", seed=-7))
    cases.append(hadamard_case(1, [4, 9], "f32", seed=12345))
    return cases


# --- Fused row kernels at model row lengths -----------------------------------


def dyn(shape, dynamic):
    """The shape as the function's types spell it: rows dynamic or not."""
    return ["?"] + list(shape[1:]) if dynamic else list(shape)


def row_case_names(name, shape, dynamic):
    """The case's name and its function's: with dynamic rows the function
    (shared by every row count) names the row length only."""
    if not dynamic:
        return name, "case_" + name
    func = "case_" + name.replace("x".join(map(str, shape)), "dynx" + str(shape[-1]))
    return "dynamic_" + name, func


def quest_chain_case(shape, dtype, backward=True, data=None, dynamic=False):
    """QuEST's rotation, step, packed codes, trust-masked gradient and rotation
    back, one GPU kernel, at a row length whose rows take many warps (11008:
    704 threads of two chunks). The intermediates are results too, so that
    each stage is checked on the values the kernel itself used. Without
    `backward`, the forward alone (a group without a gradient, which the GPU
    lays out with four chunks a thread)."""
    q = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    name = f"quest_{'chain' if backward else 'forward'}_{'x'.join(map(str, shape))}_{dtype}"
    if data is not None:
        name += "_edges"
    ts = dyn(shape, dynamic)
    xt, st = t(ts, dtype), t(q.scale_shape(ts))
    ct = t(list(ts[:-1]) + [shape[-1] // 2], "i8")
    name, func = row_case_names(name, shape, dynamic)
    grad_types = f", {xt}, {xt}" if backward else ""
    mlir = (f"func.func @{func}(%x: {xt}, %dy: {xt}) -> ({xt}, {st}, {ct}{grad_types}) "
            "attributes {llvm.emit_c_interface} {\n"
            f"  %xh = qat.hadamard %x block 128 : {xt}\n"
            f"  %s = qat.scale %xh as {q.attr()} : {xt} -> {st}\n"
            f"  %q = qat.quantize %xh, %s as {q.attr()} packed : {xt}, {st} -> {ct}\n")
    if backward:
        mlir += (f"  %g = qat.fake_quant_grad %dy, %xh, %s as {q.attr()} with trust : {xt}, {st}\n"
                 f"  %dx = qat.hadamard %g block 128 : {xt}\n"
                 f"  return %xh, %s, %q, %g, %dx : {xt}, {st}, {ct}, {xt}, {xt}\n}}\n")
    else:
        mlir += f"  return %xh, %s, %q : {xt}, {st}, {ct}\n}}\n"
    tol = 2.0 ** -7 if dtype == "bf16" else 1e-6

    def rotation_close(out, x, what):
        ref = R.hadamard(x.astype(np.float64), 128)
        terms = np.abs(x.astype(np.float64)).reshape(list(shape[:-1]) + [-1, 128]).sum(-1)
        terms = np.repeat(terms, 128, axis=-1).reshape(shape) / np.sqrt(128)
        err = np.abs(out.astype(np.float64) - ref) / (tol * np.maximum(terms, 1e-30) + 1e-30)
        finite_like(out, ref, what)
        if np.max(err) > 1:
            raise Failure(f"{what}: relative error {np.max(err) * tol:.3g}")

    def check(inputs, outputs):
        x, dy = [a.astype(F32) for a in inputs]
        if dtype == "bf16":
            x, dy = bf16_round(x), bf16_round(dy)
        xh, s, codes = outputs[:3]
        xh = xh.astype(F32)
        rotation_close(xh, x, "hadamard")
        close(s, R.scale(xh, q), "scale", rtol=1e-5, atol_scale=1e-30)
        s = s.astype(F32)
        v = xh / R.expand(s, xh, q)
        tie = near_tie(v, q) | np.isnan(v)
        STATS.count("elements (tie)", v.size, tie.sum())
        flips = equal_except_near(R.unpack(codes), R.quantize(xh, s, q), tie, "quantize")
        if not backward:
            return f"{flips} tie flips"
        g, dx = outputs[3:]
        g_ref, _ = R.fake_quant_grad(dy, xh, s, q, "trust")
        boundary = boundary_mask(xh, s, q, "trust") | tie
        close(g, maybe_bf16(np.where(boundary, g.astype(F32), g_ref), dtype),
              "fake_quant_grad[trust].dx", rtol=max(tol, 1e-5))
        rotation_close(dx.astype(F32), g.astype(F32), "hadamard of the gradient")
        return f"{flips} tie flips"

    results = [(shape, dtype), (q.scale_shape(shape), "f32"),
               (list(shape[:-1]) + [shape[-1] // 2], "i8")]
    if backward:
        results += [(shape, dtype), (shape, dtype)]
    return Case(name, mlir, func,
                [(shape, dtype, data or normal()), (shape, dtype, normal())],
                check, results, dynamic_rows=dynamic)


def stable_chain_case(shape, dtype, dynamic=False):
    """StableQAT's learned per-row quantizer forward and its Fourier backward
    with the step gradient, at model row lengths."""
    q = R.Quantizer("signed", 4, "learned", "per_row")
    name = f"stable_chain_{'x'.join(map(str, shape))}_{dtype}"
    sshape = q.scale_shape(shape)
    ts = dyn(shape, dynamic)
    xt, st = t(ts, dtype), t(q.scale_shape(ts))
    name, func = row_case_names(name, shape, dynamic)
    mlir = (f"func.func @{func}(%w: {xt}, %dy: {xt}, %s: {st}) -> ({xt}, {xt}, {st}) "
            "attributes {llvm.emit_c_interface} {\n"
            f"  %wq = qat.fake_quant %w, %s as {q.attr()} with fourier : {xt}, {st}\n"
            f"  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as {q.attr()} with fourier "
            f": {xt}, {st} -> {st}\n"
            f"  return %wq, %dw, %ds : {xt}, {xt}, {st}\n}}\n")
    tol = 2.0 ** -7 if dtype == "bf16" else 1e-6

    def check(inputs, outputs):
        w, dy = [a.astype(F32) for a in inputs[:2]]
        if dtype == "bf16":
            w, dy = bf16_round(w), bf16_round(dy)
        s = inputs[2].astype(F32)
        wq, dw, ds = outputs
        v = w / R.expand(s, w, q)
        tie = near_tie(v, q) | np.isnan(v)
        STATS.count("elements (tie)", v.size, tie.sum())
        close(wq, maybe_bf16(np.where(tie, wq.astype(F32), R.fake_quant(w, s, q)), dtype),
              "fake_quant", rtol=tol)
        dw_ref, ds_ref = R.fake_quant_grad(dy, w, s, q, "fourier")
        boundary = boundary_mask(w, s, q, "fourier") | tie
        STATS.count("elements (mask boundary)", v.size, (boundary & ~tie).sum())
        close(dw, maybe_bf16(np.where(boundary, dw.astype(F32), dw_ref), dtype),
              "fake_quant_grad[fourier].dx", rtol=max(tol, 1e-5))
        check_ds(ds, ds_ref, dy, v, q, tie | range_boundary(v, q), "fake_quant_grad[fourier]")
        return "ok"

    args = [(shape, dtype, normal()), (shape, dtype, normal()),
            (sshape, "f32", positive(0.1, 0.5))]
    return Case(name, mlir, func, args, check, [(shape, dtype), (shape, dtype), (sshape, "f32")],
                dynamic_rows=dynamic)


LEARNING_RATE = 0.0625


def optimizer_chain_case(shape, dtype):
    """QuEST's weight backward (rotation, trust-masked gradient, rotation
    back) followed by an SGD update with momentum, an elementwise linalg op
    of two results that the GPU computes in the gradient's kernel: its body
    in the element type (bf16 arithmetic for bf16), the learning rate a
    scalar taken from above. The gradient is a result too, so that the
    update is checked on the values the kernel itself used. (The cases take
    tensors only, so the learning rate is a constant here; the QuEST step's
    is a function argument.)"""
    q = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    name = f"optimizer_chain_{'x'.join(map(str, shape))}_{dtype}"
    func = "case_" + name
    xt, st = t(shape, dtype), t(q.scale_shape(shape))
    ident = "affine_map<(" + ", ".join(f"d{i}" for i in range(len(shape))) + ") -> (" + \
        ", ".join(f"d{i}" for i in range(len(shape))) + ")>"
    empties = "".join(f"  %e{k} = tensor.empty() : {xt}\n" for k in range(2))
    lr = "%lr" if dtype == "f32" else "%lrt"
    parallel = ", ".join(['"parallel"'] * len(shape))
    mlir = (f"func.func @{func}(%w: {xt}, %dy: {xt}, %m: {xt}) "
            f"-> ({xt}, {xt}, {xt}) attributes {{llvm.emit_c_interface}} {{\n"
            f"  %wh = qat.hadamard %w block 128 : {xt}\n"
            f"  %s = qat.scale %wh as {q.attr()} : {xt} -> {st}\n"
            f"  %g = qat.fake_quant_grad %dy, %wh, %s as {q.attr()} with trust : {xt}, {st}\n"
            f"  %dw = qat.hadamard %g block 128 : {xt}\n"
            f"  %lr = arith.constant {LEARNING_RATE} : f32\n"
            + ("" if dtype == "f32" else f"  %lrt = arith.truncf %lr : f32 to {dtype}\n")
            + empties +
            f"  %wn, %mn = linalg.generic {{indexing_maps = [{', '.join([ident] * 5)}], "
            f"iterator_types = [{parallel}]}}\n"
            f"      ins(%w, %dw, %m : {xt}, {xt}, {xt}) outs(%e0, %e1 : {xt}, {xt}) {{\n"
            f"  ^bb0(%p: {dtype}, %gr: {dtype}, %mo: {dtype}, %u0: {dtype}, %u1: {dtype}):\n"
            f"    %mu = arith.constant 0.9 : {dtype}\n"
            f"    %kept = arith.mulf %mu, %mo : {dtype}\n"
            f"    %d = arith.addf %kept, %gr : {dtype}\n"
            f"    %step = arith.mulf {lr}, %d : {dtype}\n"
            f"    %pn = arith.subf %p, %step : {dtype}\n"
            f"    linalg.yield %pn, %d : {dtype}, {dtype}\n"
            f"  }} -> ({xt}, {xt})\n"
            f"  return %wn, %mn, %dw : {xt}, {xt}, {xt}\n}}\n")

    def check(inputs, outputs):
        w, m = [a.astype(F32) for a in (inputs[0], inputs[2])]
        lr = F32(LEARNING_RATE)
        wn, mn, dw = [a.astype(F32) for a in outputs]
        # The body's arithmetic in its type: each op rounds to bf16 there.
        rnd = bf16_round if dtype == "bf16" else (lambda a: a.astype(F32))
        lr, mu = rnd(np.array([lr, 0.9], F32))
        if dtype == "bf16":
            w, m = bf16_round(w), bf16_round(m)
        tol = 2.0 ** -8 if dtype == "bf16" else 2.0 ** -23

        def sum_close(out, a, b, what):
            """out = a + b rounded once (a fused multiply-add may round
            where the reference rounds twice): within a unit in the last
            place of the largest of the operands and the result."""
            ref = rnd(a + b)
            finite_like(out, ref, what)
            err = np.abs(out.astype(np.float64) - ref)
            bound = 2 * tol * np.maximum(np.maximum(np.abs(a), np.abs(b)), np.abs(ref)) + 1e-30
            if np.max(err / bound) > 1:
                i = np.unravel_index(np.argmax(err / bound), err.shape)
                raise Failure(f"{what}: got {out[i]} at {i}, want {ref[i]}")

        sum_close(mn, rnd(mu * m), dw, "momentum")
        sum_close(wn, w, -rnd(lr * mn), "updated weight")
        return "ok"

    args = [(shape, dtype, normal()), (shape, dtype, normal()), (shape, dtype, normal())]
    return Case(name, mlir, func, args, check, [(shape, dtype)] * 3)


def row_kernel_cases():
    return [quest_chain_case([6, 11008], "bf16"), quest_chain_case([3, 4096], "f32"),
            quest_chain_case([5, 2048], "bf16", backward=False),
            quest_chain_case([4, 11008], "bf16", backward=False),
            quest_chain_case([3, 4096], "f32", backward=False),
            # The GPU's tensor-core layout with 4 chunks a thread (blocks of
            # 128 in warps of 4, the last warp of 1408 with an idle block)
            # and 8 (the forward), on rows of zeros, 1e30 and 1e-30 too.
            quest_chain_case([7, 4096], "bf16", data=with_edges()),
            quest_chain_case([4, 1408], "bf16"),
            quest_chain_case([5, 2048], "bf16", backward=False, data=with_edges()),
            # Rows of 16 warps (8192 elements): the row total combines the
            # warp totals with a clustered reduction of 16 lanes, which every
            # lane of the warp must see (the forward and the backward).
            quest_chain_case([3, 8192], "bf16", backward=False),
            quest_chain_case([2, 8192], "bf16"),
            stable_chain_case([5, 11008], "bf16"), stable_chain_case([2, 3, 2048], "f32"),
            optimizer_chain_case([5, 2048], "f32"), optimizer_chain_case([3, 1408], "bf16"),
            optimizer_chain_case([2, 3, 384], "f32")]


# --- Matmul -------------------------------------------------------------------------


def matmul_case(qa, qb, m, n, k, packed, out_dtype, per_tensor_a, dynamic=False,
                specials=False):
    """With `specials` (fp8 codes, at least 6 rows and 12 columns): NaN codes
    in a row of A and of B, +-inf codes of e5m2 in A (one row +inf, one
    +inf and -inf, one +inf against a zero of B's first row)."""
    name = (f"matmul_{qa.grid}{qa.bits}x{qb.grid}{qb.bits}_{m}x{n}x{k}_{out_dtype}"
            + ("_packed" if packed else "") + ("_ta" if per_tensor_a else "")
            + ("_specials" if specials else ""))
    kk = k // 2 if packed else k
    mt = "?" if dynamic else m
    at, bt = t([mt, kk], "i8"), t([n, kk], "i8")
    sat, sbt = t([1, 1] if per_tensor_a else [mt, 1]), t([n, 1])
    yt = t([mt, n], out_dtype)
    func = "case_" + name
    if dynamic:
        func = "case_" + name.replace(f"_{m}x{n}x{k}_", f"_dynx{n}x{k}_")
        name = "dynamic_" + name
    mlir = (f"func.func @{func}(%a: {at}, %b: {bt}, %sa: {sat}, %sb: {sbt}) -> {yt} "
            "attributes {llvm.emit_c_interface} {\n"
            f"  %y = qat.matmul %a, %b, %sa, %sb as {qa.attr()}, {qb.attr()}"
            f"{' packed' if packed else ''} : {at}, {bt}, {sat}, {sbt} -> {yt}\n"
            f"  return %y : {yt}\n}}\n")

    def codes(q, rows):
        def gen(rng, shape):
            if q.is_float:
                # Values of every magnitude: subnormals, saturation, zeros
                # (f16 results: sums below f16's largest value).
                top = 3 if out_dtype == "f16" else 10
                v = rng.standard_normal((rows, k)) * np.exp2(rng.uniform(-12, top, (rows, k)))
                v[rng.random((rows, k)) < 0.02] = 0.0
                c = R.quantize_float(v, q)
                if specials:
                    c[0 if q is qa else 5, 2] = 127  # NaN in both formats
                    if q is qb:
                        c[0, 11] = 0
                    elif q.grid == "e5m2":
                        c[1, 3] = c[2, 5] = c[3, 11] = 124  # +inf
                        c[2, 9] = -4  # -inf (0xFC)
                return c
            c = rng.integers(q.qn, q.qp + 1, (rows, k))
            return R.pack(c) if packed else c
        return gen

    def check(inputs, outputs):
        a, b, sa, sb = inputs
        ca = R.unpack(a) if packed else a.astype(np.int64)
        cb = R.unpack(b) if packed else b.astype(np.int64)
        ref = R.matmul(ca, cb, sa, sb, qa, qb)
        if qa.is_float:
            # fp8 sums in f32, in any order (on Hopper's tensor cores with
            # fewer bits than f32): an error relative to the sum of the
            # products' magnitudes.
            magnitudes = [np.abs(R.dequantize_float(c, q)).astype(np.float64)
                          for c, q in [(ca, qa), (cb, qb)]]
            bound = (magnitudes[0] @ magnitudes[1].T) * np.abs(
                sa.astype(np.float64).reshape(-1, 1) * sb.astype(np.float64).reshape(1, -1))
            tol = {"f32": 2.0 ** -10, "bf16": 2.0 ** -7, "f16": 2.0 ** -9}[out_dtype]
            close(outputs[0], ref, "matmul", rtol=tol, atol_scale=bound)
            return "ok"
        tol = {"f32": 1e-6, "bf16": 2.0 ** -7, "f16": 2.0 ** -10}[out_dtype]
        close(outputs[0], ref, "matmul", rtol=tol, atol_scale=float(np.max(np.abs(ref))) * 1e-3)
        return "ok"

    args = [([m, kk], "i8", codes(qa, m)), ([n, kk], "i8", codes(qb, n)),
            ([1, 1] if per_tensor_a else [m, 1], "f32", positive(0.01, 0.2)),
            ([n, 1], "f32", positive(0.01, 0.2))]
    return Case(name, mlir, func, args, check, [([m, n], out_dtype)], dynamic_rows=dynamic)


def quantized_matmul_case(m, n, k, out_dtype):
    """QuEST's forward on packed codes in one function: x and w scaled,
    quantized (packed) and dequantized, then qat.matmul of the codes. On
    sm_90a the quantizers make the codes one a byte for the s8 wgmma kernel
    (wgmma has no 4-bit integers) and the dequantize reads them so; elsewhere
    they stay packed. The product is checked against the codes that the
    dequantized values show, those codes against the reference quantizer
    (up to ties)."""
    q = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    a = q.attr()
    name = f"quantized_matmul_{m}x{n}x{k}_{out_dtype}"
    func = "case_" + name
    xt, wt, sxt, swt = t([m, k]), t([n, k]), t([m, 1]), t([n, 1])
    cxt, cwt, yt = t([m, k // 2], "i8"), t([n, k // 2], "i8"), t([m, n], out_dtype)
    mlir = (f"func.func @{func}(%x: {xt}, %w: {wt}) -> ({yt}, {sxt}, {xt}, {swt}, {wt}) "
            "attributes {llvm.emit_c_interface} {\n"
            f"  %sx = qat.scale %x as {a} : {xt} -> {sxt}\n"
            f"  %cx = qat.quantize %x, %sx as {a} packed : {xt}, {sxt} -> {cxt}\n"
            f"  %xq = qat.dequantize %cx, %sx as {a} packed : {cxt}, {sxt} -> {xt}\n"
            f"  %sw = qat.scale %w as {a} : {wt} -> {swt}\n"
            f"  %cw = qat.quantize %w, %sw as {a} packed : {wt}, {swt} -> {cwt}\n"
            f"  %wq = qat.dequantize %cw, %sw as {a} packed : {cwt}, {swt} -> {wt}\n"
            f"  %y = qat.matmul %cx, %cw, %sx, %sw as {a}, {a} packed "
            f": {cxt}, {cwt}, {sxt}, {swt} -> {yt}\n"
            f"  return %y, %sx, %xq, %sw, %wq : {yt}, {sxt}, {xt}, {swt}, {wt}\n}}\n")

    def codes_of(values, inputs, s, what):
        s = s.astype(F32)
        codes = np.rint(values.astype(np.float64) / s - 0.5).astype(np.int64)
        close(s, R.scale(inputs, q), f"scale of {what}", rtol=1e-5, atol_scale=1e-30)
        v = inputs.astype(F32) / s
        equal_except_near(codes, R.quantize(inputs.astype(F32), s, q), near_tie(v, q),
                          f"codes of {what}")
        close(values, R.dequantize(codes, s, q), f"dequantized {what}")
        return codes

    def check(inputs, outputs):
        x, w = inputs
        y, sx, xq, sw, wq = outputs
        cx, cw = codes_of(xq, x, sx, "x"), codes_of(wq, w, sw, "w")
        ref = R.matmul(cx, cw, sx.astype(F32), sw.astype(F32), q, q)
        tol = {"f32": 1e-6, "bf16": 2.0 ** -7}[out_dtype]
        close(y, ref, "matmul", rtol=tol, atol_scale=float(np.max(np.abs(ref))) * 1e-3)
        return "ok"

    return Case(name, mlir, func, [([m, k], "f32", normal()), ([n, k], "f32", normal())],
                check, [([m, n], out_dtype), ([m, 1], "f32"), ([m, k], "f32"),
                        ([n, 1], "f32"), ([n, k], "f32")])


def matmul_loss_case(m, n, k, y_dtype, dy_dtype):
    """QuEST's forward product and its loss: y = qat.matmul of centered s8
    codes, dy = (y - t) / 8 (rounded to dy_dtype) and sum((y - t)^2). On
    sm_90a the wgmma kernel applies both in its epilogue (y is never
    stored; a partial sum a warp, then a reduction); the CPU runs them as
    written. Odd N loads t one element at a time, even N in pairs (the last
    pair of a row clamped), 16-bit dy of whole column tiles leave as 16-byte
    stores."""
    q = R.Quantizer("centered", 8, "absmax", "per_row")
    name = f"matmul_loss_{m}x{n}x{k}_{y_dtype}_{dy_dtype}"
    at, bt = t([m, k], "i8"), t([n, k], "i8")
    sat, sbt = t([m, 1]), t([n, 1])
    yt, dyt = t([m, n], y_dtype), t([m, n], dy_dtype)
    ident = "affine_map<(i, j) -> (i, j)>"
    scalar = "affine_map<(i, j) -> ()>"
    wide = "" if y_dtype == "f32" else f"    %df = arith.extf %d : {y_dtype} to f32\n"
    d32 = "%d" if y_dtype == "f32" else "%df"
    narrow = ("" if y_dtype == dy_dtype else
              f"    %gn = arith.truncf %g : {y_dtype} to {dy_dtype}\n")
    g = "%g" if y_dtype == dy_dtype else "%gn"
    func = "case_" + name
    mlir = (f"func.func @{func}(%a: {at}, %b: {bt}, %sa: {sat}, %sb: {sbt}, %t: {yt}) "
            f"-> ({dyt}, tensor<f32>) attributes {{llvm.emit_c_interface}} {{\n"
            f"  %y = qat.matmul %a, %b, %sa, %sb as {q.attr()}, {q.attr()} "
            f": {at}, {bt}, {sat}, {sbt} -> {yt}\n"
            f"  %e = tensor.empty() : {dyt}\n"
            f"  %dy = linalg.generic {{indexing_maps = [{ident}, {ident}, {ident}], "
            f"iterator_types = [\"parallel\", \"parallel\"]}}\n"
            f"      ins(%y, %t : {yt}, {yt}) outs(%e : {dyt}) {{\n"
            f"  ^bb0(%yv: {y_dtype}, %tv: {y_dtype}, %u: {dy_dtype}):\n"
            f"    %c = arith.constant 0.125 : {y_dtype}\n"
            f"    %d = arith.subf %yv, %tv : {y_dtype}\n"
            f"    %g = arith.mulf %d, %c : {y_dtype}\n" + narrow +
            f"    linalg.yield {g} : {dy_dtype}\n"
            f"  }} -> {dyt}\n"
            f"  %zero = arith.constant 0.0 : f32\n"
            f"  %s0 = tensor.empty() : tensor<f32>\n"
            f"  %init = linalg.fill ins(%zero : f32) outs(%s0 : tensor<f32>) -> tensor<f32>\n"
            f"  %sse = linalg.generic {{indexing_maps = [{ident}, {ident}, {scalar}], "
            f"iterator_types = [\"reduction\", \"reduction\"]}}\n"
            f"      ins(%y, %t : {yt}, {yt}) outs(%init : tensor<f32>) {{\n"
            f"  ^bb0(%yv: {y_dtype}, %tv: {y_dtype}, %acc: f32):\n"
            f"    %d = arith.subf %yv, %tv : {y_dtype}\n" + wide +
            f"    %sq = arith.mulf {d32}, {d32} : f32\n"
            f"    %next = arith.addf %acc, %sq : f32\n"
            f"    linalg.yield %next : f32\n"
            f"  }} -> tensor<f32>\n"
            f"  return %dy, %sse : {dyt}, tensor<f32>\n}}\n")

    def codes(rows):
        return lambda rng, shape: rng.integers(q.qn, q.qp + 1, (rows, k))

    def check(inputs, outputs):
        a, b, sa, sb, target = inputs
        y = R.matmul(a.astype(np.int64), b.astype(np.int64), sa, sb, q, q)
        if y_dtype == "bf16":
            target = bf16_round(target)
        diff = y - target.astype(np.float64)
        # y is rounded once to its type on both sides (its f32 sum may round
        # differently from float64 by an ulp): bounds of a few ulps of the
        # operands' magnitudes.
        ulp = {"f32": 2.0 ** -23, "bf16": 2.0 ** -8}[y_dtype]
        scale = np.abs(y) + np.abs(target)
        dy, sse = outputs
        dy_ulp = max(ulp, {"f32": 2.0 ** -23, "bf16": 2.0 ** -8}[dy_dtype])
        err = np.abs(dy.astype(np.float64) - diff / 8)
        bound = 4 * dy_ulp * scale / 8 + 1e-30
        finite_like(dy, diff, "dy")
        if np.max(err / bound) > 1:
            i = np.unravel_index(np.argmax(err / bound), err.shape)
            raise Failure(f"dy: got {dy[i]} at {i}, want {diff[i] / 8}")
        # f32 accumulation in any order over n terms: rounding errors of
        # about sqrt(n) ulps of the total (8x that as the bound; a column of
        # stray or missing terms is 1/N of it and exceeds the bound).
        ref = float(np.sum(diff ** 2))
        bound = (4 * ulp * float(np.sum(scale * np.abs(diff)))
                 + 8 * np.sqrt(diff.size) * 2.0 ** -24 * ref)
        if abs(float(sse) - ref) > bound:
            raise Failure(f"loss: got {float(sse)}, want {ref} (bound {bound:.3g})")
        return "ok"

    args = [([m, k], "i8", codes(m)), ([n, k], "i8", codes(n)),
            ([m, 1], "f32", positive(0.001, 0.01)), ([n, 1], "f32", positive(0.001, 0.01)),
            ([m, n], y_dtype, normal())]
    return Case(name, mlir, func, args, check, [([m, n], dy_dtype), ([], "f32")])


def matmul_cases(rng):
    cases = []
    for ga, gb in itertools.product(["centered", "signed"], repeat=2):
        for bits in [2, 4, 8]:
            qa = R.Quantizer(ga, bits, "absmax", "per_tensor" if bits == 8 else "per_row")
            qb = R.Quantizer(gb, bits, "rms_gaussian" if gb == "centered" else "learned", "per_row")
            packed = bits <= 4 and bits % 2 == 0 and (ga == gb)
            m, n = int(rng.choice([13, 29, 64])), int(rng.choice([7, 31, 48]))
            k = int(rng.choice([64, 128, 192]))
            out = ["f32", "bf16", "f16"][bits % 3]
            cases.append(matmul_case(qa, qb, m, n, k, packed, out, bits == 8))
    # Long K with tails of M, N and K (K % 128 != 0 zero-pads the last K tile
    # of the GPU kernel), f32 results that show an error of one in the integer
    # sum; 4-bit codes also unpacked to s8 on the GPU (int4-mma=unpack).
    c4 = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    s4 = R.Quantizer("signed", 4, "learned", "per_row")
    s4t = R.Quantizer("signed", 4, "learned", "per_tensor")
    c8 = R.Quantizer("centered", 8, "absmax", "per_row")
    s8 = R.Quantizer("signed", 8, "absmax", "per_row")
    cases.append(matmul_case(c4, c4, 300, 200, 4000, True, "f32", False))
    cases.append(matmul_case(s4t, s4, 130, 260, 4096, True, "f32", True))
    cases.append(matmul_case(c4, s4, 200, 136, 2080, True, "f32", False))
    cases.append(matmul_case(c8, c8, 160, 96, 4096, False, "f32", False))
    # Rows of 8208 bytes: the row-sum kernel's lanes take three rounds of up
    # to 8 chunks of 16 bytes, the last one past the row's end.
    cases.append(matmul_case(c8, s8, 130, 136, 8208, False, "f32", False))
    # 16-bit results with whole 256-column tiles of the sm_90a kernel: 16-byte
    # stores of 8 columns, rows past M (300) computed but not stored;
    # centered x signed: row sums of B in the epilogue.
    cases.append(matmul_case(c8, s8, 300, 512, 384, False, "bf16", False))
    s8t = R.Quantizer("signed", 8, "absmax", "per_tensor")
    cases.append(matmul_case(s8t, s8, 130, 256, 256, False, "f16", True))
    # The loss in the epilogue: even N with a clamped last pair, odd N,
    # whole tiles with 16-byte stores of a bf16 gradient, a bf16 product.
    cases.append(matmul_loss_case(300, 200, 256, "f32", "bf16"))
    cases.append(matmul_loss_case(130, 77, 128, "f32", "f32"))
    cases.append(matmul_loss_case(256, 512, 384, "f32", "bf16"))
    cases.append(matmul_loss_case(200, 136, 128, "bf16", "bf16"))
    # The persistent sm_90a kernel: 17 x 9 tiles over 132 CTAs (some take
    # two, every gridDim.x-th) and 33 x 17 tiles (more than 4 x 132: claimed
    # from a counter). The loss of so many elements is no case: the CPU's
    # sequential f32 sum of millions of terms drops the small ones (the
    # QuEST step's float64 check covers the GPU's, 512 tiles).
    cases.append(matmul_case(c8, s8, 2100, 2300, 128, False, "bf16", False))
    cases.append(matmul_case(s8, s8, 4200, 4352, 128, False, "bf16", False))
    # Packed codes as arguments on the same kernels (sm_90a: the unpacking
    # kernel, then s8 wgmma): 128 x 256 tiles, centered x signed (row sums of
    # B), K a tail of a K tile; claimed tiles.
    cases.append(matmul_case(c4, s4, 2100, 2300, 352, True, "bf16", False))
    cases.append(matmul_case(s4, s4, 4200, 4352, 128, True, "bf16", False))
    # fp8 codes (f32 sums; wgmma .e4m3/.e5m2 on sm_90a, their values on the
    # float contractions' kernels elsewhere): each format and the mixes,
    # per-tensor and per-row steps, tails of M, N and K (K a multiple of 16
    # for TMA, and 200, which sm_90a computes as a float contraction), long
    # K, whole 256-column tiles with 16-bit stores, claimed tiles.
    e4 = R.Quantizer("e4m3", 8, "absmax", "per_row")
    e4t = R.Quantizer("e4m3", 8, "absmax", "per_tensor")
    e5 = R.Quantizer("e5m2", 8, "absmax", "per_row")
    cases.append(matmul_case(e4, e4, 130, 136, 4096, False, "f32", False))
    cases.append(matmul_case(e5, e4, 77, 48, 256, False, "f32", False))
    cases.append(matmul_case(e4t, e5, 200, 264, 208, False, "f16", True))
    cases.append(matmul_case(e5, e5, 33, 300, 200, False, "f32", False))
    cases.append(matmul_case(e4, e4, 300, 512, 384, False, "bf16", False))
    cases.append(matmul_case(e4, e5, 4200, 4352, 128, False, "bf16", False))
    cases.append(matmul_case(e5, e4, 130, 136, 256, False, "f32", False, specials=True))
    # Packed codes that the function quantizes: wgmma on sm_90a; tails in M,
    # N and K (K = 2 x 144: rows of 288 bytes, a multiple of 16 for TMA).
    cases.append(quantized_matmul_case(200, 136, 288, "f32"))
    cases.append(quantized_matmul_case(33, 300, 512, "bf16"))
    return cases


# --- Float contractions ---------------------------------------------------------------


def contraction_case(name, m, n, k, a_dtype, b_dtype, out_dtype, a_form="mk", b_form="kn",
                     out_form="mn", batch=None, accumulate=False, dynamic=None):
    """C (+)= A B as a linalg.generic with the given operand layouts ("mk" or
    "km" for A, "kn" or "nk" for B, "mn" or "nm" for C), a batch dimension
    of `batch` (0 included) when given, and C read from an argument when
    accumulate (otherwise a fill of zero). On the GPU these run on the tensor cores (tf32 for f32
    inputs, the default contraction-precision, bf16/f16 otherwise) with f32
    accumulation; the CPU computes them in f32 in loop order.

    Tolerance, against a float64 product of the inputs (rounded to their
    type): |out - ref| <= rel * sum_k |a b| + out_rel * |ref|, rel = 2^-9
    where an f32 operand goes through tf32 (both operands' 10-bit mantissas
    truncated: up to 2 * 2^-10), 2^-14 where the products are exact (16-bit
    inputs; f32 accumulation over K <= 2048 in any order), plus (K + 1)
    roundings of the accumulator for 16-bit results (the CPU follows
    linalg's per-step rounding); out_rel is one rounding to the result
    type. The init of an accumulating case is -c (a fresh tensor).

    `dynamic` ("m", "k" or "b"): that size is dynamic in the function's types
    (one function for every size: A's first dimension; the name leaves it
    out). Only the leading dimensions of the forms may be dynamic, and no
    other leading dimension may equal it."""
    dims = {"m": m, "n": n, "k": k}
    bdim = "b, " if batch is not None else ""
    bshape = [batch] if batch is not None else []

    def shape(form):
        return bshape + [dims[d] for d in form]

    def type_shape(form):
        return (["?" if dynamic == "b" else batch] if batch is not None else []) + \
            ["?" if d == dynamic else dims[d] for d in form]

    def amap(form):
        return f"affine_map<({bdim}m, n, k) -> ({bdim}{', '.join(form)})>"

    at, bt = t(type_shape(a_form), a_dtype), t(type_shape(b_form), b_dtype)
    ct = t(type_shape(out_form), out_dtype)
    iters = (['"parallel"'] if batch is not None else []) + ['"parallel"', '"parallel"', '"reduction"']
    func = "case_contraction_" + name
    # tensor.empty of the result: its dynamic sizes from A's dimensions.
    empty_sizes, dims_ir = [], ""
    for i, d in enumerate((["b"] if batch is not None else []) + list(out_form)):
        if d == dynamic:
            pos = ((["b"] if batch is not None else []) + list(a_form)).index(d)
            dims_ir += (f"  %c{pos} = arith.constant {pos} : index\n"
                        f"  %d{pos} = tensor.dim %a, %c{pos} : {at}\n")
            empty_sizes.append(f"%d{pos}")
    empty = f"tensor.empty({', '.join(empty_sizes)})"
    if dynamic:
        # `name` leaves the dynamic size out: every size shares the function.
        rows = {"m": m, "k": k, "b": batch}[dynamic]
        case_name = f"dynamic_contraction_{name}_{rows}rows"
    else:
        case_name = "contraction_" + name

    def ext(v, dtype):
        return (f"    %{v}x = arith.extf %{v}e : {dtype} to {out_dtype}\n", f"%{v}x") \
            if dtype != out_dtype else ("", f"%{v}e")
    ea, va = ext("a", a_dtype)
    eb, vb = ext("b", b_dtype)
    if accumulate:
        # The init is -c, a fresh tensor: with c itself the CPU would
        # accumulate into the caller's array, which the check reads again.
        params, init = f"%a: {at}, %b: {bt}, %c: {ct}", "%n"
        rank = len(shape(out_form))
        parallel = '"parallel"'
        ident = f"affine_map<({', '.join(f'd{i}' for i in range(rank))}) -> " \
                f"({', '.join(f'd{i}' for i in range(rank))})>"
        prologue = (dims_ir + f"  %e = {empty} : {ct}\n"
                    f"  %n = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = "
                    f"[{', '.join([parallel] * rank)}]}} ins(%c : {ct}) outs(%e : {ct}) {{\n"
                    f"  ^bb0(%v: {out_dtype}, %o: {out_dtype}):\n"
                    f"    %nv = arith.negf %v : {out_dtype}\n"
                    f"    linalg.yield %nv : {out_dtype}\n  }} -> {ct}\n")
    else:
        params, init = f"%a: {at}, %b: {bt}", "%z"
        prologue = (dims_ir + f"  %zero = arith.constant 0.0 : {out_dtype}\n"
                    f"  %e = {empty} : {ct}\n"
                    f"  %z = linalg.fill ins(%zero : {out_dtype}) outs(%e : {ct}) -> {ct}\n")
    mlir = (f"func.func @{func}({params}) -> {ct} attributes {{llvm.emit_c_interface}} {{\n"
            + prologue
            + f"  %y = linalg.generic {{indexing_maps = [{amap(a_form)}, {amap(b_form)}, "
              f"{amap(out_form)}], iterator_types = [{', '.join(iters)}]}}\n"
              f"      ins(%a, %b : {at}, {bt}) outs({init} : {ct}) {{\n"
              f"  ^bb0(%ae: {a_dtype}, %be: {b_dtype}, %ce: {out_dtype}):\n"
            + ea + eb
            + f"    %p = arith.mulf {va}, {vb} : {out_dtype}\n"
              f"    %s = arith.addf %ce, %p : {out_dtype}\n"
              f"    linalg.yield %s : {out_dtype}\n  }} -> {ct}\n"
              f"  return %y : {ct}\n}}\n")

    def canonical(x, form, first, second):
        # -> [batch, first, second]
        x = x if batch is not None else x[None]
        return x if form == first + second else np.swapaxes(x, 1, 2)

    def check(inputs, outputs):
        a = maybe_bf16(inputs[0], a_dtype).astype(np.float64)
        b = maybe_bf16(inputs[1], b_dtype).astype(np.float64)
        a = canonical(a, a_form, "m", "k")
        b = canonical(b, b_form, "k", "n")
        ref = a @ b
        terms = np.abs(a) @ np.abs(b)
        if accumulate:
            c = -canonical(maybe_bf16(inputs[2], out_dtype).astype(np.float64), out_form, "m", "n")
            ref, terms = ref + c, terms + np.abs(c)
        out = canonical(np.asarray(outputs[0], np.float64), out_form, "m", "n")
        rel = 2.0 ** -9 if "f32" in (a_dtype, b_dtype) else 2.0 ** -14
        out_rel = {"f32": 2.0 ** -23, "bf16": 2.0 ** -8, "f16": 2.0 ** -11}[out_dtype]
        if out_dtype != "f32":
            # linalg's semantics (the CPU) round the accumulator to the
            # result type after every step (the GPU rounds once).
            rel += (k + 1) * out_rel
        finite_like(out, ref, "contraction")
        err = np.abs(out - ref)
        bound = rel * terms + out_rel * np.abs(ref) + 1e-30
        worst = float(np.max(err / bound)) if err.size else 0.0
        if worst > 1:
            i = np.unravel_index(np.argmax(err / bound), err.shape)
            raise Failure(f"contraction: error {err[i]:.3g} at {i} (got {out[i]}, "
                          f"want {ref[i]}, bound {bound[i]:.3g})")
        return f"max error {worst:.3f} of the bound"

    args = [(shape(a_form), a_dtype, normal()), (shape(b_form), b_dtype, normal())]
    if accumulate:
        args.append((shape(out_form), out_dtype, normal()))
    return Case(case_name, mlir, func, args, check, [(shape(out_form), out_dtype)],
                dynamic_rows=dynamic is not None)


def contraction_cases():
    """Every layout the GPU kernel distinguishes, odd M, N and K (guarded
    tails of every tile), both tile shapes (the last case has enough 128x128
    tiles for the large one), batches and an init that is added."""
    return [
        contraction_case("f32_67x45x100", 67, 45, 100, "f32", "f32", "f32"),
        # dW = dY^T X of a backward pass.
        contraction_case("f32_tA_37x130x29", 37, 130, 29, "f32", "f32", "f32", a_form="km"),
        contraction_case("bf16_tB_150x70x200", 150, 70, 200, "bf16", "bf16", "f32", b_form="nk"),
        contraction_case("bf16_batch3_33x65x77", 33, 65, 77, "bf16", "bf16", "f32",
                         b_form="nk", batch=3),
        contraction_case("f16_acc_tC_129x31x64", 129, 31, 64, "f16", "f16", "f32",
                         out_form="nm", accumulate=True),
        contraction_case("mixed_tAB_40x72x1000", 40, 72, 1000, "bf16", "f32", "f32",
                         a_form="km", b_form="nk"),
        contraction_case("f16_1300x1500x40", 1300, 1500, 40, "f16", "f16", "f16"),
        # The weight gradients of a transformer block (tokens = K).
        contraction_case("f32_tA_128x128x1024", 128, 128, 1024, "f32", "f32", "f32",
                         a_form="km"),
        contraction_case("f32_tA_512x128x1024", 512, 128, 1024, "f32", "f32", "f32",
                         a_form="km"),
        contraction_case("f32_tB_1024x512x128", 1024, 512, 128, "f32", "f32", "f32",
                         b_form="nk"),
    ] + wgmma_contraction_cases()


def wgmma_contraction_cases():
    """Cases the sm_90a wgmma kernel takes (operands of the compute type whose
    contiguous dimension is a multiple of 16 bytes; f32 only with K
    contiguous in both): each of the four layouts of A and B (K-major or
    MN-major each), tf32, a batch, an init with a transposed result, K not a
    multiple of the 64-element K tile, M and N not multiples of the 128-row
    tiles, and the 128x256 tile (at least 120 of them)."""
    return [
        contraction_case("wg_bf16_tB_300x260x200", 300, 260, 200, "bf16", "bf16", "f32",
                         b_form="nk"),
        contraction_case("wg_bf16_300x264x200", 300, 264, 200, "bf16", "bf16", "bf16"),
        contraction_case("wg_bf16_tA_296x136x1000", 296, 136, 1000, "bf16", "bf16", "f32",
                         a_form="km"),
        contraction_case("wg_bf16_tAB_136x100x72", 136, 100, 72, "bf16", "bf16", "f32",
                         a_form="km", b_form="nk"),
        contraction_case("wg_f16_batch3_65x72x80", 65, 72, 80, "f16", "f16", "f16", batch=3),
        contraction_case("wg_tf32_tB_67x45x100", 67, 45, 100, "f32", "f32", "f32", b_form="nk"),
        contraction_case("wg_bf16_acc_tBC_129x31x64", 129, 31, 64, "bf16", "bf16", "f32",
                         b_form="nk", out_form="nm", accumulate=True),
        contraction_case("wg_bf16_1920x2056x24", 1920, 2056, 24, "bf16", "bf16", "f32"),
        # 16-bit results with whole column tiles: 16-byte stores of 8
        # columns after a transpose over each quad of lanes, rows past M
        # computed but not stored, an init read, a batch.
        contraction_case("wg_bf16_out_300x256x72", 300, 256, 72, "bf16", "bf16", "bf16"),
        contraction_case("wg_f16_acc_200x128x64", 200, 128, 64, "f16", "f16", "f16",
                         b_form="nk", accumulate=True),
        contraction_case("wg_bf16_batch2_70x128x40", 70, 128, 40, "bf16", "bf16", "bf16",
                         batch=2),
        # More than 4 x 132 tiles: the CTAs claim their tiles from a counter
        # (33 x 17 and 3 x 9 x 20 tiles of 128x256, partial in M, N and K).
        contraction_case("wg_bf16_claimed_tB_4200x4300x40", 4200, 4300, 40, "bf16", "bf16",
                         "bf16", b_form="nk"),
        contraction_case("wg_bf16_claimed_tA_batch3_1104x5000x72", 1104, 5000, 72, "bf16",
                         "bf16", "f32", a_form="km", batch=3),
    ]


# --- Contractions with an elementwise consumer (the GPU kernel's epilogue) -------------


def _gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


# name -> (MLIR of the consumer given the shape of a form, its extra
# arguments as (name, form, dtype, generator), the float64 reference
# f(y, extras), |df/dy| as an array of (y, extras) and the magnitude the
# consumer's f32 operations work at). The MLIR reads %y (the product, f32)
# and defines %r (the result, of the case's output type). A form names the
# dimensions of an argument by letters of the result's form rform ("mn" or
# "bmn"): "n" a vector along n, "1" one element, "-n" the result's
# dimensions without n (a per-row vector, per batch if there is one), "*"
# the result's shape.
def _epilogue_consumers(out_dtype, rshape, rform):
    dims = "(" + ", ".join(rform) + ")"

    def amap(form):
        return f"affine_map<{dims} -> ({', '.join(form)})>"

    par = ", ".join(['"parallel"'] * len(rform))
    ty, to = t(rshape), t(rshape, out_dtype)
    trunc = (f"    %rt = arith.truncf %g : f32 to {out_dtype}\n", "%rt") \
        if out_dtype != "f32" else ("", "%g")
    return {
        # Bias (linalg.broadcast + linalg.add, two named ops) then GELU in a
        # generic that rounds to the output type: three ops, one epilogue.
        "bias_gelu": (
            lambda shp: (
                f"  %e = tensor.empty() : {ty}\n"
                f"  %bb = linalg.broadcast ins(%bias : {t(shp('n'))}) outs(%e : {ty}) "
                f"dimensions = [{', '.join(str(i) for i, d in enumerate(rform) if d != 'n')}]\n"
                f"  %s = linalg.add ins(%y, %bb : {ty}, {ty}) outs(%e : {ty}) -> {ty}\n"
                f"  %eo = tensor.empty() : {to}\n"
                f"  %r = linalg.generic {{indexing_maps = [{amap(rform)}, {amap(rform)}], "
                f"iterator_types = [{par}]}} ins(%s : {ty}) outs(%eo : {to}) {{\n"
                f"  ^bb0(%v: f32, %o: {out_dtype}):\n"
                f"    %half = arith.constant 0.5 : f32\n"
                f"    %one = arith.constant 1.0 : f32\n"
                f"    %rs2 = arith.constant 0.707106769 : f32\n"
                f"    %u = arith.mulf %v, %rs2 : f32\n"
                f"    %er = math.erf %u : f32\n"
                f"    %p = arith.addf %er, %one : f32\n"
                f"    %h = arith.mulf %v, %half : f32\n"
                f"    %g = arith.mulf %h, %p : f32\n" + trunc[0] +
                f"    linalg.yield {trunc[1]} : {out_dtype}\n  }} -> {to}\n"),
            [("bias", "n", "f32", normal())],
            lambda y, x: _gelu(y + x["bias"]),
            # |GELU'| <= 1.13
            lambda y, x: np.full(y.shape, 1.13),
            lambda y, x: np.abs(y) + np.abs(x["bias"]) + 1.0),
        # A per-row scale (a column vector), a scalar tensor (of a 1-element
        # argument: the runners pass no rank-0 arrays) and a mask (i1, the
        # result's shape): mask ? y * scale * alpha : -1.
        "scale_mask": (
            lambda shp: (
                f"  %neg = arith.constant -1.0 : f32\n"
                f"  %alpha = tensor.collapse_shape %alpha1 [] : tensor<1xf32> into tensor<f32>\n"
                f"  %e = tensor.empty() : {to}\n"
                f"  %r = linalg.generic {{indexing_maps = [{amap(rform)}, {amap(rform.replace('n', ''))}, "
                f"{amap('')}, {amap(rform)}, {amap(rform)}], iterator_types = [{par}]}}\n"
                f"      ins(%y, %scale, %alpha, %mask : {ty}, {t(shp('-n'))}, "
                f"tensor<f32>, {t(rshape, 'i1')}) outs(%e : {to}) {{\n"
                f"  ^bb0(%v: f32, %sc: f32, %al: f32, %mk: i1, %o: {out_dtype}):\n"
                f"    %p1 = arith.mulf %v, %sc : f32\n"
                f"    %p2 = arith.mulf %p1, %al : f32\n"
                f"    %g = arith.select %mk, %p2, %neg : f32\n" + trunc[0] +
                f"    linalg.yield {trunc[1]} : {out_dtype}\n  }} -> {to}\n"),
            [("scale", "-n", "f32", normal()), ("alpha1", "1", "f32", normal()),
             ("mask", "*", "i1", lambda rng, shape: rng.random(shape) < 0.7)],
            lambda y, x: np.where(x["mask"], y * _bcast(x["scale"], "m") * x["alpha1"], -1.0),
            lambda y, x: np.where(x["mask"], np.abs(_bcast(x["scale"], "m") * x["alpha1"]), 0.0),
            lambda y, x: np.abs(y * _bcast(x["scale"], "m") * x["alpha1"]) + 1.0),
        # A second matrix and a per-column scale, then ReLU: max(y * s + z, 0).
        "residual_relu": (
            lambda shp: (
                f"  %e = tensor.empty() : {to}\n"
                f"  %zero = arith.constant 0.0 : f32\n"
                f"  %r = linalg.generic {{indexing_maps = [{amap(rform)}, {amap(rform.replace('m', ''))}, "
                f"{amap(rform)}, {amap(rform)}], iterator_types = [{par}]}}\n"
                f"      ins(%y, %colscale, %res : {ty}, {t(shp('-m'))}, {ty}) "
                f"outs(%e : {to}) {{\n"
                f"  ^bb0(%v: f32, %sc: f32, %rv: f32, %o: {out_dtype}):\n"
                f"    %p1 = arith.mulf %v, %sc : f32\n"
                f"    %p2 = arith.addf %p1, %rv : f32\n"
                f"    %g = arith.maximumf %p2, %zero : f32\n" + trunc[0] +
                f"    linalg.yield {trunc[1]} : {out_dtype}\n  }} -> {to}\n"),
            [("colscale", "-m", "f32", normal()), ("res", "*", "f32", normal())],
            lambda y, x: np.maximum(y * _bcast(x["colscale"], "n") + x["res"], 0.0),
            lambda y, x: np.abs(_bcast(x["colscale"], "n")) + 0 * y,
            lambda y, x: np.abs(y * _bcast(x["colscale"], "n")) + np.abs(x["res"]) + 1.0),
        # A causal mask from the element's position (linalg.index) and a
        # scale: j <= i ? y / 8 : -30000.
        "causal": (
            lambda shp: (
                f"  %e = tensor.empty() : {to}\n"
                f"  %r = linalg.generic {{indexing_maps = [{amap(rform)}, {amap(rform)}], "
                f"iterator_types = [{par}]}}\n"
                f"      ins(%y : {ty}) outs(%e : {to}) {{\n"
                f"  ^bb0(%v: f32, %o: {out_dtype}):\n"
                f"    %i = linalg.index {len(rform) - 2} : index\n"
                f"    %j = linalg.index {len(rform) - 1} : index\n"
                f"    %keep = arith.cmpi ule, %j, %i : index\n"
                f"    %eighth = arith.constant 0.125 : f32\n"
                f"    %low = arith.constant -30000.0 : f32\n"
                f"    %p1 = arith.mulf %v, %eighth : f32\n"
                f"    %g = arith.select %keep, %p1, %low : f32\n" + trunc[0] +
                f"    linalg.yield {trunc[1]} : {out_dtype}\n  }} -> {to}\n"),
            [],
            lambda y, x: np.where(_causal(y), y / 8, -30000.0),
            lambda y, x: np.where(_causal(y), 0.125, 0.0),
            lambda y, x: np.abs(y) / 8 + 1.0),
        # tanh(y + bias): the bias as a generic's broadcast map.
        "bias_tanh": (
            lambda shp: (
                f"  %e = tensor.empty() : {to}\n"
                f"  %r = linalg.generic {{indexing_maps = [{amap(rform)}, {amap('n')}, {amap(rform)}], "
                f"iterator_types = [{par}]}}\n"
                f"      ins(%y, %bias : {ty}, {t(shp('n'))}) outs(%e : {to}) {{\n"
                f"  ^bb0(%v: f32, %bv: f32, %o: {out_dtype}):\n"
                f"    %p1 = arith.addf %v, %bv : f32\n"
                f"    %g = math.tanh %p1 : f32\n" + trunc[0] +
                f"    linalg.yield {trunc[1]} : {out_dtype}\n  }} -> {to}\n"),
            [("bias", "n", "f32", normal())],
            lambda y, x: np.tanh(y + x["bias"]),
            lambda y, x: np.ones(y.shape),
            lambda y, x: np.abs(y) + np.abs(x["bias"]) + 1.0),
    }


def _causal(y):
    """Where column <= row, over the last two dimensions of y."""
    return np.arange(y.shape[-1])[None, :] <= np.arange(y.shape[-2])[:, None]


def _bcast(v, along):
    """A per-row ("m": indexed by m) or per-column ("n") vector, with the
    batch in front when the case has one, shaped to broadcast over
    [batch,] m, n."""
    if along == "m":
        return v[..., :, None]
    return v[..., None, :]


def epilogue_case(name, m, n, k, in_dtype, out_dtype, consumer, batch=0, b_form="kn",
                  dynamic=False):
    """Y = A B (linalg.matmul or linalg.batch_matmul into a fill of zero, f32)
    and an elementwise consumer of Y (see _epilogue_consumers), which the GPU
    applies in the contraction kernel's epilogue.

    Tolerance, against float64: the product's error e = rel * sum_k |a b|
    (contraction_case's rel) times the consumer's |df/dy|, plus 1e-6 of the
    magnitude the consumer's f32 operations (and erf/tanh) work at, plus one
    rounding to the output type of |ref| + that error.

    `dynamic`: M is dynamic in the function's types (no batch; one function
    for every M, which the name leaves out)."""
    rform = ("b" if batch else "") + "mn"
    bshape = [batch] if batch else []
    dims = {"m": m, "n": n, "k": k}
    ashape, bshp = bshape + [m, k], bshape + [dims[d] for d in b_form]
    rshape = bshape + [m, n]
    mt = "?" if dynamic else m
    mlir_of, extras, ref_f, lip, mag = _epilogue_consumers(
        out_dtype, bshape + [mt, n], rform)[consumer]

    def eshape(form):
        form = rform if form == "*" else \
            rform.replace(form[1:], "") if form.startswith("-") else form
        return [{"b": batch, "m": m, "n": n, "1": 1}[d] for d in form]
    at, bt = t(bshape + [mt, k], in_dtype), t(bshp, in_dtype)
    yt, ot = t(bshape + [mt, n]), t(bshape + [mt, n], out_dtype)
    if batch:
        bmap = "(b, n, k)" if b_form == "nk" else "(b, k, n)"
        maps = (f"indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, "
                f"affine_map<(b, m, n, k) -> {bmap}>, affine_map<(b, m, n, k) -> (b, m, n)>] ")
        op = "linalg.batch_matmul"
    else:
        bmap = "(n, k)" if b_form == "nk" else "(k, n)"
        maps = (f"indexing_maps = [affine_map<(m, n, k) -> (m, k)>, "
                f"affine_map<(m, n, k) -> {bmap}>, affine_map<(m, n, k) -> (m, n)>] ")
        op = "linalg.matmul"
    eargs = [(nm, eshape(form), dt, gen) for nm, form, dt, gen in extras]
    params = ", ".join([f"%a: {at}", f"%bm: {bt}"] + [f"%{nm}: {t(s, dt)}" for nm, s, dt, _ in eargs])
    func = "case_epilogue_" + name
    body = (f"  %zf = arith.constant 0.0 : f32\n"
            f"  %ey = tensor.empty() : {yt}\n"
            f"  %z = linalg.fill ins(%zf : f32) outs(%ey : {yt}) -> {yt}\n"
            f"  %y = {op} {maps}ins(%a, %bm : {at}, {bt}) outs(%z : {yt}) -> {yt}\n"
            + mlir_of(eshape))
    if dynamic:
        # Every tensor.empty of the consumers has the result's shape.
        body = (f"  %c0i = arith.constant 0 : index\n  %dm = tensor.dim %a, %c0i : {at}\n"
                + body.replace("tensor.empty()", "tensor.empty(%dm)"))
    case_name = f"dynamic_epilogue_{name}_{m}rows" if dynamic else "epilogue_" + name
    mlir = (f"func.func @{func}({params}) -> {ot} attributes {{llvm.emit_c_interface}} {{\n"
            + body + f"  return %r : {ot}\n}}\n")

    def check(inputs, outputs):
        a = maybe_bf16(inputs[0], in_dtype).astype(np.float64)
        b = maybe_bf16(inputs[1], in_dtype).astype(np.float64)
        if b_form == "nk":
            b = np.swapaxes(b, -1, -2)
        y, terms = a @ b, np.abs(a) @ np.abs(b)
        x = {nm: (v.astype(np.float64) if dt != "i1" else v.astype(bool))
             for (nm, _, dt, _), v in zip(eargs, inputs[2:])}
        ref = ref_f(y, x)
        out = np.asarray(outputs[0], np.float64)
        rel = 2.0 ** -9 if in_dtype == "f32" else 2.0 ** -14
        out_rel = {"f32": 2.0 ** -23, "bf16": 2.0 ** -8, "f16": 2.0 ** -11}[out_dtype]
        err_in = lip(y, x) * rel * terms + 1e-6 * mag(y, x)
        bound = err_in + out_rel * (np.abs(ref) + err_in) + 1e-30
        finite_like(out, ref, "epilogue")
        err = np.abs(out - ref)
        worst = float(np.max(err / bound)) if err.size else 0.0
        if worst > 1:
            i = np.unravel_index(np.argmax(err / bound), err.shape)
            raise Failure(f"epilogue: error {err[i]:.3g} at {i} (got {out[i]}, "
                          f"want {ref[i]}, bound {bound[i]:.3g})")
        return f"max error {worst:.3f} of the bound"

    args = [(ashape, in_dtype, normal()), (bshp, in_dtype, normal())] + \
        [(s, dt, gen) for _, s, dt, gen in eargs]
    return Case(case_name, mlir, func, args, check, [(rshape, out_dtype)],
                dynamic_rows=dynamic)


def epilogue_cases():
    """A contraction's elementwise consumer, fused into the GPU kernel's
    epilogue: a bias + GELU chain of three ops rounded to bf16, a scale per
    row, a scalar and a mask, a batch with a second matrix and a per-column
    scale, a causal mask from the element's position, and the large tile;
    odd shapes (guarded tails, single-element
    stores where N is odd)."""
    return [
        epilogue_case("bias_gelu_bf16_67x45x100", 67, 45, 100, "bf16", "bf16", "bias_gelu"),
        epilogue_case("scale_mask_f32_tB_37x130x29", 37, 130, 29, "f32", "f32", "scale_mask",
                      b_form="nk"),
        epilogue_case("residual_relu_batch3_33x65x77", 33, 65, 77, "bf16", "f32",
                      "residual_relu", batch=3, b_form="nk"),
        epilogue_case("bias_tanh_f16_1030x1800x24", 1030, 1800, 24, "f16", "f16", "bias_tanh"),
        epilogue_case("causal_batch2_f32_tB_70x70x40", 70, 70, 40, "f32", "f32", "causal",
                      batch=2, b_form="nk"),
        # The wgmma kernel's (sm_90a) epilogue.
        epilogue_case("wg_bias_gelu_bf16_tB_67x45x104", 67, 45, 104, "bf16", "bf16",
                      "bias_gelu", b_form="nk"),
        epilogue_case("wg_residual_relu_batch3_33x72x80", 33, 72, 80, "bf16", "f32",
                      "residual_relu", batch=3),
        epilogue_case("wg_bias_gelu_bf16_tB_130x128x64", 130, 128, 64, "bf16", "bf16",
                      "bias_gelu", b_form="nk"),
    ]


# Row counts of the dynamic-rows cases: one row, odd counts, counts that are
# not multiples of the row kernels' rows per CTA (8 or 16) nor of
# qat.matmul's 128-row tiles, and more than one tile.
DYNAMIC_ROWS = [1, 7, 37, 130, 300]


# Row counts of the dynamic contraction cases: DYNAMIC_ROWS and none at all.
DYNAMIC_CONTRACTION_ROWS = [0] + DYNAMIC_ROWS


def dynamic_contraction_cases():
    """Float contractions whose M, K or batch is known only at run time, one
    function each for every size (the tensor-core kernels read the sizes from
    A's buffer): the forward product X W^T and the input gradient dY W (M
    dynamic), the weight gradient dY^T X (K dynamic: the tokens), a batch of
    dynamic count, tf32, a 16-bit result of whole column tiles, an init, and
    a fused epilogue (a bias over dynamic rows). No rows at all: an empty
    result, or for K the init or zeros."""
    cases = []
    for rows in DYNAMIC_CONTRACTION_ROWS:
        cases += [
            contraction_case("bf16_tB_x264x200", rows, 264, 200, "bf16", "bf16", "f32",
                             b_form="nk", dynamic="m"),
            contraction_case("bf16_x256x72_bf16", rows, 256, 72, "bf16", "bf16", "bf16",
                             dynamic="m"),
            contraction_case("tf32_tB_x136x40", rows, 136, 40, "f32", "f32", "f32",
                             b_form="nk", dynamic="m"),
            contraction_case("bf16_tA_136x200", 136, 200, rows, "bf16", "bf16", "f32",
                             a_form="km", dynamic="k"),
            contraction_case("f32_tA_acc_72x40", 72, 40, rows, "f32", "f32", "f32",
                             a_form="km", accumulate=True, dynamic="k"),
            contraction_case("f16_batch_65x72x80", 65, 72, 80, "f16", "f16", "f16",
                             batch=rows, dynamic="b"),
            epilogue_case("bias_gelu_bf16_tB_x128x64", rows, 128, 64, "bf16", "bf16",
                          "bias_gelu", b_form="nk", dynamic=True),
            epilogue_case("bias_gelu_f32_x45x100", rows, 45, 100, "f32", "f32", "bias_gelu",
                          dynamic=True),
        ]
    return cases


def dynamic_row_cases():
    """One compiled function per kernel serving every row count (the rows
    dynamic in its types), each row count checked as its own case: QuEST's
    forward and backward chains, StableQAT's chain, qat.matmul with M
    dynamic (s8 per-row, packed 4-bit centered, and e4m3)."""
    c4 = R.Quantizer("centered", 4, "rms_gaussian", "per_row")
    s8 = R.Quantizer("signed", 8, "absmax", "per_row")
    e4 = R.Quantizer("e4m3", 8, "absmax", "per_row")
    cases = []
    for rows in DYNAMIC_ROWS:
        cases += [quest_chain_case([rows, 2048], "bf16", dynamic=True),
                  quest_chain_case([rows, 1408], "bf16", backward=False, dynamic=True),
                  stable_chain_case([rows, 1024], "bf16", dynamic=True),
                  # One row per CTA: no row checks in the kernel.
                  stable_chain_case([rows, 2048], "bf16", dynamic=True),
                  matmul_case(s8, s8, rows, 96, 256, False, "bf16", False, dynamic=True),
                  matmul_case(s8, s8, rows, 256, 128, False, "bf16", False, dynamic=True),
                  matmul_case(c4, c4, rows, 72, 384, True, "f32", False, dynamic=True),
                  matmul_case(e4, e4, rows, 136, 256, False, "f32", False, dynamic=True)]
    return cases


# Row counts of the per_tensor statistics over dynamic rows: none (the
# statistics of an all-zero group), one, odd counts, and more rows than the
# whole-tensor reduction's first launch takes in one CTA on the GPU.
DYNAMIC_PER_TENSOR_ROWS = [0, 1, 7, 37, 1031]


def dynamic_per_tensor_cases():
    """A per_tensor step or root mean square over a number of rows known
    only at run time, one function each serving every row count: rms_gaussian
    and absmax steps with quantize/dequantize/fake_quant and fake_quant_grad
    under every estimator (trust reduces x itself), a learned step (LSQ's ds
    over the run-time count), qat.rms, and the float formats' per-tensor
    steps (fp8, NVFP4's tensor scale)."""
    cases = []
    for rows in DYNAMIC_PER_TENSOR_ROWS:
        cases += [
            quantizer_case(R.Quantizer("centered", 4, "rms_gaussian", "per_tensor"),
                           [rows, 24], "f32", True, 900, dynamic=True),
            quantizer_case(R.Quantizer("signed", 8, "absmax", "per_tensor"),
                           [rows, 40], "bf16", False, 901, dynamic=True),
            quantizer_case(R.Quantizer("signed", 3, "learned", "per_tensor"),
                           [rows, 30], "f32", False, 902, dynamic=True),
            rms_case(R.Quantizer("centered", 4, "rms_gaussian", "per_tensor"),
                     [rows, 72], "bf16", dynamic=True),
            # Float formats: fp8 per tensor, and NVFP4's tensor-wide scale.
            quantizer_case(R.Quantizer("e4m3", 8, "absmax", "per_tensor"),
                           [rows, 40], "f32", False, 903, dynamic=True),
            quantizer_case(R.Quantizer("e2m1", 4, "nvfp4", "per_group", 16),
                           [rows, 32], "bf16", True, 904, dynamic=True),
        ]
    return cases


def all_cases(seed=2026):
    import exact_cases  # it builds on this module
    from special_cases import special_cases  # NaN/Inf/zero/subnormal, clip<k>
    from stochastic_cases import stochastic_cases
    rng = np.random.default_rng(seed)
    return (quantizer_cases(rng) + rms_cases() + hadamard_cases(rng) + row_kernel_cases()
            + matmul_cases(rng) + contraction_cases() + epilogue_cases() + dynamic_row_cases()
            + dynamic_contraction_cases()
            + dynamic_per_tensor_cases() + special_cases() + stochastic_cases()
            + exact_cases.exact_cases())
