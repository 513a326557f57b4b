"""Numerical cases of the special values (docs/semantics.md, "NaN, infinities,
zeros and subnormals") and of the clip<k> estimator, run by run_cases.py
with the other cases of cases.py on the CPU and the GPU.

Each special case fills fixed rows of an otherwise random input with NaN,
+-Inf, zeros and subnormals, and compares every output with the reference
exactly where the reference is NaN or infinite (same class of value, same
sign) and to fp32 rounding elsewhere:

- row 0: NaN at a few columns; row 1: +Inf and -Inf; row 2: all zero;
  row 3: subnormal values (and the smallest one), the rest normal;
- learned steps (one row also a subnormal step) show the policy on finite
  steps: NaN in -> NaN out for fake_quant, the lowest code for quantize,
  infinities at the ends of the grid, dx of a NaN or infinite x under clip,
  trust and fourier 0 (ste passes dy), the step gradient NaN for a group
  holding a NaN;
- absmax and rms_gaussian steps show what a special value does to a computed
  step: a NaN or an infinity in a group makes its step NaN or infinite, and
  the group's results follow IEEE arithmetic (as the PyTorch formulation
  does); an all-zero group has step 0 under absmax (0/0: NaN levels) and
  2e-8/(2^b-1) under rms_gaussian (the levels nearest zero).
"""

import numpy as np

import reference as R
from cases import Case, Failure, boundary_mask, dtype_of, shape_of, t

F32 = np.float32
TINY = F32(np.finfo(np.float32).tiny)        # smallest normal
SUBNORMAL = np.float32(1.4e-45)              # smallest subnormal


def special_rows(rng, shape):
    """Normal data with the special rows described in the module doc."""
    rows = rng.normal(0, 1.5, shape).reshape(-1, shape[-1]).astype(F32)
    d = rows.shape[1]
    rows[0, [1, d // 2, d - 1]] = np.nan
    rows[1, 0], rows[1, d // 3], rows[1, d - 2] = np.inf, -np.inf, -np.inf
    rows[2] = 0.0
    rows[3] = (rows[3] * F32(1e-39)).astype(F32)  # subnormal (or zero)
    rows[3, 0], rows[3, 1] = SUBNORMAL, -SUBNORMAL
    rows[3, 2] = TINY
    return rows.reshape(shape)


def learned_steps(rng, shape):
    """Positive steps; the step of row 4 is subnormal."""
    s = rng.uniform(0.05, 0.6, shape).astype(F32)
    flat = s.reshape(-1, shape[-1])
    if flat.shape[0] > 4:
        flat[4] = F32(3e-39)
    return s


def same_special(out, ref, what, rtol=1e-6):
    """NaN exactly where the reference is NaN, the same infinities, and
    finite values within rtol * max(1, |ref|)."""
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    if out.shape != ref.shape:
        raise Failure(f"{what}: shape {out.shape}, expected {ref.shape}")
    nan_out, nan_ref = np.isnan(out), np.isnan(ref)
    if (nan_out != nan_ref).any():
        i = tuple(np.argwhere(nan_out != nan_ref)[0])
        raise Failure(f"{what}: got {out[i]}, want {ref[i]} at {i} (NaN policy)")
    inf_ref = np.isinf(ref)
    if (np.isinf(out) != inf_ref).any() or (out[inf_ref] != ref[inf_ref]).any():
        i = tuple(np.argwhere((np.isinf(out) != inf_ref) | (inf_ref & (out != ref)))[0])
        raise Failure(f"{what}: got {out[i]}, want {ref[i]} at {i} (infinity)")
    finite = np.isfinite(ref)
    err = np.abs(out - ref)[finite]
    bound = (rtol * np.maximum(1.0, np.abs(ref)))[finite]
    if err.size and (err > bound).any():
        j = np.argmax(err / bound)
        idx = tuple(np.argwhere(finite)[j])
        raise Failure(f"{what}: got {out[idx]}, want {ref[idx]} at {idx}")
    return int(nan_ref.sum()), int(inf_ref.sum())


SPECIAL_QUANTIZERS = [
    # (grid, bits, method, granularity, group, estimators)
    ("signed", 4, "learned", "per_row", 0, ["ste", "clip", "trust", "fourier"]),
    ("signed", 1, "learned", "per_row", 0, ["clip", "trust"]),
    ("centered", 4, "absmax", "per_row", 0, ["clip", "trust"]),
    ("signed", 8, "absmax", "per_group", 16, ["clip", "fourier"]),
    ("centered", 2, "rms_gaussian", "per_row", 0, ["ste", "clip", "trust"]),
    # Float element formats: NaN keeps its encoding (e4m3, e5m2) or stores
    # the lowest code (e2m1); infinities saturate.
    ("e4m3", 8, "absmax", "per_row", 0, ["ste", "clip"]),
    ("e5m2", 8, "rms_gaussian", "per_row", 0, ["clip"]),
    ("e2m1", 4, "mx", "per_group", 32, ["ste", "clip"]),
    ("e2m1", 4, "nvfp4", "per_group", 16, ["ste", "clip"]),
]

ESTIMATOR_SYNTAX = {"ste": "ste", "clip": "clip", "trust": "trust", "fourier": "fourier"}


def special_case(index, grid, bits, method, gran, group, estimators, dtype="f32"):
    q = R.Quantizer(grid, bits, method, gran, group)
    learned = method == "learned"
    shape = [6, 64]
    sshape = q.scale_shape(shape)
    name = f"special{index}_{grid}{bits}_{method}_{gran}{group or ''}"
    xt, st, ct = t(shape, dtype), t(sshape), t(shape, "i8")
    args = [f"%x: {xt}", f"%dy: {xt}"] + ([f"%s: {st}"] if learned else [])
    body, outs = [], []
    if not learned:
        body.append(f"%s = qat.scale %x as {q.attr()} : {xt} -> {st}")
        outs.append(("%s", st))
    body.append(f"%q = qat.quantize %x, %s as {q.attr()} : {xt}, {st} -> {ct}")
    body.append(f"%d = qat.dequantize %q, %s as {q.attr()} : {ct}, {st} -> {xt}")
    body.append(f"%f = qat.fake_quant %x, %s as {q.attr()} with ste : {xt}, {st}")
    outs += [("%q", ct), ("%d", xt), ("%f", xt)]
    for e in estimators:
        if learned:
            body.append(f"%dx_{e}, %ds_{e} = qat.fake_quant_grad %dy, %x, %s as {q.attr()} "
                        f"with {ESTIMATOR_SYNTAX[e]} : {xt}, {st} -> {st}")
            outs += [(f"%dx_{e}", xt), (f"%ds_{e}", st)]
        else:
            body.append(f"%dx_{e} = qat.fake_quant_grad %dy, %x, %s as {q.attr()} "
                        f"with {ESTIMATOR_SYNTAX[e]} : {xt}, {st}")
            outs.append((f"%dx_{e}", xt))
    func = "case_" + name
    mlir = (f"func.func @{func}({', '.join(args)}) -> ({', '.join(ty for _, ty in outs)}) "
            "attributes {llvm.emit_c_interface} {\n  " + "\n  ".join(body) +
            f"\n  return {', '.join(v for v, _ in outs)} : {', '.join(ty for _, ty in outs)}\n}}\n")
    in_args = [(shape, dtype, special_rows), (shape, dtype, lambda rng, sh: rng.normal(0, 1, sh))]
    if learned:
        in_args.append((sshape, "f32", learned_steps))

    def check(inputs, outputs):
        x, dy = [a.astype(F32) for a in inputs[:2]]
        o = list(outputs)
        if learned:
            s = inputs[2].astype(F32)
        else:
            s_out = o.pop(0)
            with np.errstate(all="ignore"):
                same_special(s_out, R.scale(x, q), "scale", rtol=1e-5)
            s = s_out.astype(F32)  # downstream: the compiled step
        q_out, d_out, f_out = o[:3]
        o = o[3:]
        codes = R.quantize(x, s, q)
        if not np.array_equal(q_out.astype(np.int64), codes):
            i = tuple(np.argwhere(q_out.astype(np.int64) != codes)[0])
            raise Failure(f"quantize: got {q_out[i]}, want {codes[i]} at {i} (x = {x[i]})")
        with np.errstate(all="ignore"):
            same_special(d_out, R.dequantize(codes, s, q), "dequantize")
            nans, infs = same_special(f_out, R.fake_quant(x, s, q), "fake_quant")
            for e in estimators:
                dx_ref, ds_ref = R.fake_quant_grad(dy, x, s, q, e)
                dx_out = o.pop(0)
                # The trust mask of finite elements within 1e-5 of its
                # boundary depends on the last bits of the group's deviation.
                near = boundary_mask(x, s, q, e) & np.isfinite(x)
                same_special(np.where(near, dx_ref, dx_out), dx_ref, f"fake_quant_grad[{e}].dx",
                             rtol=1e-5)
                if learned:
                    ds_out = o.pop(0)
                    same_special(ds_out, ds_ref, f"fake_quant_grad[{e}].ds", rtol=1e-4)
        return f"{nans} NaN and {infs} infinite levels as the reference"

    results = [(shape_of(ty), dtype_of(ty)) for _, ty in outs]
    return Case(name, mlir, func, in_args, check, results)


# --- clip<k> ------------------------------------------------------------------


CLIP_FACTORS = [0.5, 1.5]


def clip_factor_case(index, grid, bits, method, k, dtype):
    """fake_quant_grad with #qat.clip<k> (QuEST's ClipQuantizer clip_scale)
    against the reference window |x| <= k*c (centered) or k*qn <= v <= k*qp
    (signed)."""
    q = R.Quantizer(grid, bits, method, "per_row")
    learned = method == "learned"
    shape = [5, 96]
    sshape = q.scale_shape(shape)
    name = f"clipk{index}_{grid}{bits}_{method}_k{str(k).replace('.', 'p')}_{dtype}"
    xt, st = t(shape, dtype), t(sshape)
    args = [f"%x: {xt}", f"%dy: {xt}", f"%s: {st}"]
    ret = [("%dx", xt)] + ([("%ds", st)] if learned else [])
    if learned:
        body = [f"%dx, %ds = qat.fake_quant_grad %dy, %x, %s as {q.attr()} with clip<{k}> "
                f": {xt}, {st} -> {st}"]
    else:
        body = [f"%dx = qat.fake_quant_grad %dy, %x, %s as {q.attr()} with clip<{k}> "
                f": {xt}, {st}"]
    func = "case_" + name
    mlir = (f"func.func @{func}({', '.join(args)}) -> ({', '.join(ty for _, ty in ret)}) "
            "attributes {llvm.emit_c_interface} {\n  " + "\n  ".join(body) +
            f"\n  return {', '.join(v for v, _ in ret)} : {', '.join(ty for _, ty in ret)}\n}}\n")
    # Steps shrink with the bit width so that the clip (2^(b-1) steps or so)
    # stays within the spread of x and both windows cut through the data.
    in_args = [(shape, dtype, lambda rng, sh: rng.normal(0, 2.0, sh)),
               (shape, dtype, lambda rng, sh: rng.normal(0, 1, sh)),
               (sshape, "f32", lambda rng, sh: rng.uniform(0.1, 0.6, sh) * 8 / (1 << (bits - 1)))]

    def check(inputs, outputs):
        x, dy, s = [a.astype(F32) for a in inputs]
        if dtype == "bf16":
            from cases import bf16_round
            x, dy = bf16_round(x), bf16_round(dy)
        dx_ref, ds_ref = R.fake_quant_grad(dy, x, s, q, "clip", k)
        se = R.expand(s, x, q)
        v = x / se
        eps = 1e-5 * np.maximum(1.0, np.abs(v))
        if grid == "centered":
            edge = k * ((1 << bits) - 1) / 2
            near = np.abs(np.abs(v) - edge) <= eps
        else:
            near = (np.abs(v - k * q.qn) <= eps) | (np.abs(v - k * q.qp) <= eps)
        dx_out = outputs[0].astype(F32)
        dx_cmp = np.where(near, dx_out, dx_ref)
        if dtype == "bf16":
            from cases import bf16_round
            dx_cmp = bf16_round(dx_cmp)
        same_special(dx_out, dx_cmp, "fake_quant_grad[clip<k>].dx",
                     rtol=2.0 ** -7 if dtype == "bf16" else 1e-6)
        kept = float(np.mean(dx_ref != 0))
        if learned and not near.any():
            same_special(outputs[1], ds_ref, "fake_quant_grad[clip<k>].ds", rtol=1e-4)
        return f"{kept:.2f} of dx kept"

    results = [(shape_of(ty), dtype_of(ty)) for _, ty in ret]
    return Case(name, mlir, func, in_args, check, results)


# --- Float element formats on every value and tie -------------------------------


def format_points(name):
    """Every value of the format with both signs, every midpoint between
    neighbours (the ties) and its f32 neighbours, values beyond the largest,
    f32 subnormals, zeros, NaN and infinities."""
    values = R.format_values(name)
    mids = ((values[1:] + values[:-1]) / 2).astype(F32)
    up = np.nextafter(mids, F32(np.inf))
    down = np.nextafter(mids, F32(0))
    top = F32(values[-1])
    extra = [np.nextafter(top, F32(np.inf)), top * F32(1.5), F32(3.4e38), SUBNORMAL, TINY,
             F32(1e-39), F32(0), F32(np.nan), F32(np.inf)]
    pos = np.concatenate([values.astype(F32), mids, up, down, np.array(extra, F32)])
    pts = np.concatenate([pos, -pos])
    return np.concatenate([pts, np.zeros(len(pts) % 2, F32)]).reshape(1, -1)


def format_exact_case(name, step):
    """quantize, dequantize and fake_quant of format_points(name) times
    `step` with that step, compared bit for bit (any NaN matches a NaN): each
    element is its own check of rounding (ties to even), saturation,
    subnormals and the encodings."""
    bits = 4 if name == "e2m1" else 8
    q = R.Quantizer(name, bits, "absmax", "per_tensor")
    data = format_points(name) * F32(step)
    shape = list(data.shape)
    packed = bits == 4
    xt, st = t(shape), t([1, 1])
    ct = t([1, shape[1] // 2] if packed else shape, "i8")
    pk = " packed" if packed else ""
    func = f"case_format_exact_{name}_{str(step).replace('.', 'p')}"
    mlir = (f"func.func @{func}(%x: {xt}, %s: {st}) -> ({ct}, {xt}, {xt}) "
            "attributes {llvm.emit_c_interface} {\n"
            f"  %q = qat.quantize %x, %s as {q.attr()}{pk} : {xt}, {st} -> {ct}\n"
            f"  %d = qat.dequantize %q, %s as {q.attr()}{pk} : {ct}, {st} -> {xt}\n"
            f"  %f = qat.fake_quant %x, %s as {q.attr()} with ste : {xt}, {st}\n"
            f"  return %q, %d, %f : {ct}, {xt}, {xt}\n}}\n")
    in_args = [(shape, "f32", lambda rng, sh: data),
               ([1, 1], "f32", lambda rng, sh: np.full(sh, step, F32))]

    def check(inputs, outputs):
        x, s = inputs[0].astype(F32), inputs[1].astype(F32)
        q_out, d_out, f_out = outputs
        got = R.unpack(q_out) if packed else q_out.astype(np.int64)
        codes = R.quantize(x, s, q)
        with np.errstate(all="ignore"):
            for what, out, ref in [("quantize", got, codes),
                                   ("dequantize", d_out, R.dequantize(codes, s, q)),
                                   ("fake_quant", f_out, R.fake_quant(x, s, q))]:
                a, b = np.asarray(out), np.asarray(ref).astype(np.asarray(out).dtype)
                differ = (a.view(np.uint8).reshape(a.size, -1)
                          != b.view(np.uint8).reshape(b.size, -1)).any(axis=1)
                if a.dtype.kind == "f":  # a NaN's payload and sign are not the semantics'
                    differ &= ~(np.isnan(a) & np.isnan(b)).reshape(-1)
                if differ.any():
                    i = int(np.argwhere(differ)[0][0])
                    raise Failure(f"{what}: got {a.flat[i]}, want {b.flat[i]} "
                                  f"(x = {x.flat[i]!r}, step {step})")
        return f"{x.size} points bit for bit"

    return Case(f"format_exact_{name}_step{step}", mlir, func, in_args, check,
                [(shape_of(ct), "i8"), (shape, "f32"), (shape, "f32")])


def special_cases():
    cases = [special_case(i, *spec) for i, spec in enumerate(SPECIAL_QUANTIZERS)]
    cases += [format_exact_case(name, step) for name in ("e4m3", "e5m2", "e2m1")
              for step in (1.0, 0.75)]
    index = 0
    for grid, bits, method in [("centered", 4, "absmax"), ("signed", 4, "learned"),
                               ("signed", 2, "learned"), ("centered", 8, "rms_gaussian")]:
        for k in CLIP_FACTORS:
            dtype = "bf16" if index % 3 == 2 else "f32"
            cases.append(clip_factor_case(index, grid, bits, method, k, dtype))
            index += 1
    return cases
