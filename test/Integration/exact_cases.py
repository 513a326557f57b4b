"""Exact cases: inputs constructed to sit exactly on rounding ties and clip
boundaries in f32, with the expected codes, values, masks and step
gradients computed exactly (fractions.Fraction, Python's round() of a
Fraction is round-half-to-even), independently of the compiler and of
reference.py.

Every step of these cases is a power of two, so x/s is exact in f32 and
x = v*s sits exactly where it was put: on a tie (v = n + 1/2 on the signed
grid, v = n on the centered grid, where the code is round(v + 1/2)), exactly
on a clip boundary (v = qn, v = qp; |x| = c on the centered grid), and one
ulp either side of each. Each row holds every such point once, shuffled by
the run's seed, so that a wrong choice at a tie (half away from zero) or a
boundary (`<` for `<=`) changes expected codes, masks or ds
(scripts/mutation-check.py shows it).

Which steps the cases use:
- signed, `learned`: the step is an operand (2^-3, 2^-1, 2^2 by row), so
  both clip boundaries qn and qp are reachable; the LSQ step gradient is
  checked too (its term jumps from 0 to qp at v = qp and flips sign at a
  tie);
- signed and centered `absmax`: the row's largest |x| is constructed as
  qp * 2^-e (signed) or (2^b - 1)/2 * 2^-e (centered), so the computed step
  is exactly 2^-e; values beyond the clip cannot be in such a row.

The centered code is round(v + 1/2) with v + 1/2 rounded to f32 once, as
the formula is written (and as QuEST's torch code evaluates it); that is
not exact arithmetic at v = n - ulp(n) where v + 1/2 crosses a binade: see
Grid.code.

Expected results, stated exactly (one exception each, the first counted and
printed): the trust mask compares |xq - x| with T * std, whose sqrt is
irrational; an element within 1e-6 (relative) of T*std may have either
mask value. The Fourier surrogate's value carries the f32 rounding of its
angle (|angle| * 2^-22, propagated through (1 - S)/(1 + S)); its mask is
exact. A NaN in an expected array means the output must be NaN there.
"""

import math
from fractions import Fraction

import numpy as np

import cases as C
import reference as R

F32 = np.float32
STEP_EXPONENTS = [-3, -1, 2]  # one step 2^e per row (cycled)


class Grid:
    """qn, qp and the code of an exact ratio v (a Fraction), from
    docs/semantics.md, written independently of reference.py."""

    def __init__(self, grid, bits):
        self.grid, self.bits = grid, bits
        self.qn = -(1 << (bits - 1))
        self.qp = 1 if (grid == "signed" and bits == 1) else (1 << (bits - 1)) - 1

    def code(self, v):
        if self.grid == "centered":
            # v + 1/2 is one f32 addition (as in QuEST's torch.round(x/s + 0.5)):
            # at v = n - ulp(n) with v + 1/2 in the next binade it rounds up
            # to n + 1/2, a tie, where exact arithmetic gives code n - 1
            # (docs/testing.md, "Double rounding on the centered grid").
            shifted = Fraction(float(F32(float(v + Fraction(1, 2)))))
            k = min(max(round(shifted), self.qn + 1), self.qp + 1)
            return k - 1
        if self.bits == 1:
            return (v > 0) - (v < 0)
        return min(max(round(v), self.qn), self.qp)

    def level(self, code):
        return code + (Fraction(1, 2) if self.grid == "centered" else 0)

    def clip_levels(self):
        """The largest |v| of the clip: c/s."""
        if self.grid == "centered":
            return Fraction((1 << self.bits) - 1, 2)
        return Fraction(self.qp)


def f32_neighbours(value):
    """The f32 values one ulp below and above `value` (a Fraction that is an
    f32), as Fractions."""
    f = F32(float(value))
    return [Fraction(float(np.nextafter(f, F32(-np.inf)))),
            Fraction(float(np.nextafter(f, F32(np.inf))))]


def points(g, learned):
    """The ratios v = x/s of one row: every tie and clip boundary of the grid
    inside the reachable range, one ulp either side of each, zero."""
    clip = g.clip_levels()
    if g.grid == "centered":
        ties = [Fraction(n) for n in range(-g.qp - 1, g.qp + 2)]
    else:
        ties = [Fraction(2 * n + 1, 2) for n in range(g.qn - 1, g.qp + 1)]
    bounds = [Fraction(g.qn), Fraction(g.qp)] if g.grid == "signed" else [-clip, clip]
    if g.grid == "signed" and g.bits == 1:
        ties = []  # sign(x) has no ties
    vs = set()
    for p in ties + bounds:
        vs.add(p)
        vs.update(f32_neighbours(p))
    vs.update([Fraction(0), Fraction(1, 1 << 20), Fraction(-1, 1 << 20)])
    if learned:
        vs.update([Fraction(g.qn - 1), Fraction(g.qp + 1), Fraction(g.qp * 4 + 3)])
    else:
        # absmax: the row's largest |v| must be the clip itself.
        lo = -clip if g.grid == "centered" else -Fraction(g.qp)
        vs = {v for v in vs if lo <= v <= clip}
        vs.add(clip)
    return sorted(vs)


def trust_factor(grid, estimator):
    if estimator == "trust_explicit":
        return 0.3
    return R.ALPHA[grid.bits - 1] / ((1 << grid.bits) - 1)


def expect_equal(out, ref, what, alt=None):
    """out == ref exactly (NaN in ref: out must be NaN), or out == alt where
    alt is not NaN. Returns how many elements took the alternative."""
    out = np.asarray(out, np.float64)
    ref = np.asarray(ref, np.float64)
    if out.shape != ref.shape:
        raise C.Failure(f"{what}: shape {out.shape}, expected {ref.shape}")
    ok = (out == ref) | (np.isnan(ref) & np.isnan(out))
    took_alt = np.zeros_like(ok)
    if alt is not None:
        took_alt = ~ok & (out == alt)
        ok |= took_alt
    if not ok.all():
        i = tuple(np.argwhere(~ok)[0])
        raise C.Failure(f"{what}: got {out[i]!r}, want {ref[i]!r} at {i} "
                        f"({int((~ok).sum())} of {ok.size} elements wrong)")
    return int(took_alt.sum())


def expect_close(out, ref, bound, what):
    out = np.asarray(out, np.float64)
    err = np.abs(out - ref)
    bad = ~(err <= bound)
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        raise C.Failure(f"{what}: got {out[i]!r}, want {ref[i]!r} at {i}, "
                        f"error {err[i]:.3g} > bound {bound[i]:.3g} "
                        f"({int(bad.sum())} of {bad.size} elements)")


def exact_case(grid, bits, method, granularity, packed, index):
    group = 0
    q = R.Quantizer(grid, bits, method, granularity, group)
    g = Grid(grid, bits)
    learned = method == "learned"
    row = points(g, learned)
    cols = len(row) + (len(row) % 2)  # packed codes need an even row
    rows = len(STEP_EXPONENTS)
    shape = [rows, cols]
    name = f"exact{index}_{grid}{bits}_{method}_{granularity}" + ("_packed" if packed else "")
    func = "case_" + name
    mlir, outs, ests = C.quantizer_mlir(q, shape, "f32", packed, func)

    def gen_x(rng, shape_):
        x = np.zeros(shape, np.float64)
        for r in range(rows):
            s = 2.0 ** STEP_EXPONENTS[r]
            vals = [float(v) * s for v in row] + [0.0] * (cols - len(row))
            x[r] = rng.permutation(vals)
        return x

    def gen_dy(rng, shape_):
        # Dyadic, nonzero: every product dy * term is exact in f32.
        return rng.choice([-1.0, -0.75, -0.5, -0.125, 0.125, 0.375, 0.5, 1.0], shape)

    in_args = [(shape, "f32", gen_x), (shape, "f32", gen_dy)]
    if learned:
        steps = [[2.0 ** STEP_EXPONENTS[r]] for r in range(rows)]
        in_args.append((q.scale_shape(shape), "f32", lambda rng, s_: np.array(steps)))

    def check(inputs, outputs):
        x = inputs[0].astype(F32)
        dy = inputs[1].astype(F32)
        o = list(outputs)
        steps = [Fraction(2) ** STEP_EXPONENTS[r] for r in range(rows)]
        s_out = None if learned else o.pop(0)
        if s_out is not None:
            expect_equal(s_out.reshape(-1), [float(s) for s in steps], "scale (exact step)")
        q_out, d_out, f_out = o[:3]
        o = o[3:]
        xf = [[Fraction(float(e)) for e in r] for r in x]
        v = [[e / steps[r] for e in xf[r]] for r in range(rows)]
        codes = np.array([[g.code(e) for e in r] for r in v], np.float64)
        levels = np.array([[float(g.level(int(c)) * steps[r]) for c in codes[r]]
                           for r in range(rows)])
        got_codes = R.unpack(q_out) if packed else q_out.astype(np.int64)
        expect_equal(got_codes, codes, "quantize (codes)")
        expect_equal(d_out, levels, "dequantize")
        expect_equal(f_out, levels, "fake_quant")
        either = 0
        for e in ests:
            dx_out = o.pop(0)
            ref, alt, bound = exact_dx(e, g, x, dy, xf, v, codes, steps)
            if bound is None:
                either += expect_equal(dx_out, ref, f"fake_quant_grad[{e}].dx (exact)", alt)
            else:
                expect_close(dx_out, ref, bound, f"fake_quant_grad[{e}].dx")
            if learned:
                ds_out = o.pop(0)
                ds_ref, ds_bound = exact_ds(g, dy, v, x.size)
                expect_close(ds_out.reshape(-1), ds_ref, ds_bound,
                             f"fake_quant_grad[{e}].ds (exact)")
        C.STATS.count("exact elements", x.size * (3 + len(ests)), either)
        return f"{x.size} elements on ties and boundaries exact, {either} trust-mask either"

    results = [(C.shape_of(ty), C.dtype_of(ty)) for _, ty in outs]
    return C.Case(name, mlir, func, in_args, check, results)


def inside(g, v):
    return g.qn <= v <= g.qp


def exact_dx(estimator, g, x, dy, xf, v, codes, steps):
    """(expected dx, alternative or None, bound or None)."""
    rows, cols = x.shape
    dyf = dy.astype(np.float64)
    if estimator == "ste":
        return dyf, None, None
    if estimator == "clip":
        if g.grid == "centered":
            clip = [g.clip_levels() * s for s in steps]
            keep = [[abs(xf[r][j]) <= clip[r] for j in range(cols)] for r in range(rows)]
        else:
            keep = [[inside(g, e) for e in row] for row in v]
        return np.where(np.array(keep), dyf, 0.0), None, None
    if estimator.startswith("trust"):
        T = trust_factor(g, estimator)
        ref, alt = np.zeros_like(dyf), np.full_like(dyf, np.nan)
        for r in range(rows):
            mean_sq = sum(e * e for e in xf[r]) / cols
            threshold = T * math.sqrt(mean_sq)
            for j in range(cols):
                err = float(abs(g.level(int(codes[r][j])) * steps[r] - xf[r][j]))
                ref[r, j] = dyf[r, j] if err <= threshold else 0.0
                if abs(err - threshold) <= 1e-6 * threshold:
                    alt[r, j] = dyf[r, j] if ref[r, j] == 0.0 else 0.0
        return ref, alt, None
    # fourier: dy * [qn <= v <= qp] * (1 - S)/(1 + S), S from the exact v.
    amps = C.estimator_param(estimator) or [0.21]
    ref, bound = np.zeros_like(dyf), np.zeros_like(dyf)
    for r in range(rows):
        for j in range(cols):
            e = v[r][j]
            if not inside(g, e):
                continue
            phase = float(e + round(e))
            S = dS = 0.0
            for k, a in enumerate(amps):
                angle = (2 * k + 1) * math.pi * phase
                S += a * math.cos(angle)
                # The f32 angle: the constant (2k+1)*pi, v + round(v) and their
                # product round once each (2^-24 relative), cos adds about one.
                dS += abs(a) * abs(angle) * 2.0 ** -22
            S *= math.sqrt(2) * math.pi
            dS *= math.sqrt(2) * math.pi
            ref[r, j] = dyf[r, j] * (1 - S) / (1 + S)
            bound[r, j] = (abs(dyf[r, j]) * 2 * dS / (1 + S - dS) ** 2
                           + 1e-6 * abs(ref[r, j]) + 1e-30)
    return ref, None, bound


def exact_ds(g, dy, v, n):
    """LSQ: g * sum(dy * (qn <= v <= qp ? round(v) - v : clamp(v, qn, qp)))
    per row, exact; the bound allows the f32 roundings of the final product
    and of the sum (1e-6 relative of the sum of |terms|)."""
    factor = 1 / math.sqrt(n * g.qp)
    ref, bound = [], []
    for r, row in enumerate(v):
        total, magnitude = Fraction(0), Fraction(0)
        for j, e in enumerate(row):
            term = (round(e) - e) if inside(g, e) else Fraction(min(max(e, g.qn), g.qp))
            total += Fraction(float(dy[r, j])) * term
            magnitude += abs(Fraction(float(dy[r, j])) * term)
        ref.append(factor * float(total))
        bound.append(factor * 1e-6 * float(magnitude) + 1e-30)
    return np.array(ref), np.array(bound)


def exact_cases():
    cases, index = [], 0
    for bits in range(1, 9):
        specs = [("signed", "learned", "per_row", False),
                 ("signed", "absmax", "per_row", bits <= 4),
                 ("centered", "absmax", "per_row", bits <= 4 and bits % 2 == 0)]
        for grid, method, gran, packed in specs:
            cases.append(exact_case(grid, bits, method, gran, packed, index))
            index += 1
    return cases
