"""Independent numpy reference of the qat ops (docs/semantics.md).

Written from the formulas, not from the compiler: float32 arithmetic in the
same order as the formulas state it, so that exact ops (division, rounding,
clamping) agree bit for bit and reductions agree to rounding.
"""

import numpy as np

F32 = np.float32
ALPHA = [0.7978845587140913, 1.4935346200015913, 2.051068354131873,
         2.513930578568423, 2.9160938834961225, 3.276597282593217,
         3.6010497188221655, 3.884938678807525]


# The float element formats of DESIGN.md section 3: exponent bits, mantissa
# bits, exponent bias, and what the top encodings hold ("nan": only the
# all-ones magnitude is NaN; "ieee": the all-ones exponent is inf/NaN).
FLOAT_FORMATS = {"e4m3": (4, 3, 7, "nan"), "e5m2": (5, 2, 15, "ieee"),
                 "e2m1": (2, 1, 1, "none")}


def format_value(name, magnitude):
    """The value of a sign-less encoding, from the format's definition."""
    e, m, bias, special = FLOAT_FORMATS[name]
    exponent, mantissa = magnitude >> m, magnitude & ((1 << m) - 1)
    if special == "nan" and magnitude == (1 << (e + m)) - 1:
        return np.nan
    if special == "ieee" and exponent == (1 << e) - 1:
        return np.inf if mantissa == 0 else np.nan
    if exponent == 0:
        return mantissa * 2.0 ** (1 - bias - m)
    return (1 + mantissa / 2.0 ** m) * 2.0 ** (exponent - bias)


def format_values(name):
    """The finite non-negative values, indexed by their encoding."""
    e, m = FLOAT_FORMATS[name][:2]
    values = [format_value(name, c) for c in range(1 << (e + m))]
    return np.array([v for v in values if np.isfinite(v)])


class Quantizer:
    """Mirror of #qat.quantizer<grid, bits, method, granularity>. On a float
    grid, qn and qp are the range of x/s that rounds without saturating,
    +-(the format's largest value); its codes are encodings (code_range)."""

    def __init__(self, grid, bits, method, granularity, group=0):
        self.grid, self.bits, self.method = grid, bits, method
        self.granularity, self.group = granularity, group

    def attr(self):
        gran = (f"per_group<{self.group}>" if self.granularity == "per_group"
                else self.granularity)
        return f"<{self.grid}, {self.bits} bits, {self.method}, {gran}>"

    @property
    def is_float(self):
        return self.grid in FLOAT_FORMATS

    @property
    def max_value(self):
        return float(format_values(self.grid)[-1])

    @property
    def qn(self):
        if self.is_float:
            return -self.max_value
        return -(1 << (self.bits - 1))

    @property
    def qp(self):
        if self.is_float:
            return self.max_value
        if self.grid == "signed" and self.bits == 1:
            return 1
        return (1 << (self.bits - 1)) - 1

    @property
    def code_range(self):
        if self.is_float:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return self.qn, self.qp

    def scale_shape(self, shape):
        shape = list(shape)
        if self.granularity == "per_tensor":
            return [1] * len(shape)
        if self.granularity == "per_row":
            return shape[:-1] + [1]
        return shape[:-1] + [shape[-1] // self.group]

    def group_len(self, d):
        return self.group if self.granularity == "per_group" else d


def groups(x, q):
    """View x as [..., groups, group_len] (per_tensor: one group of all)."""
    if q.granularity == "per_tensor":
        return x.reshape([1] * (x.ndim - 1) + [1, -1])
    g = q.group_len(x.shape[-1])
    return x.reshape(list(x.shape[:-1]) + [x.shape[-1] // g, g])


def expand(s, x, q):
    """Broadcast one step per group to x's shape."""
    if q.granularity == "per_group":
        return np.repeat(s, q.group, axis=-1).astype(F32)
    return np.broadcast_to(s, x.shape).astype(F32)


def hadamard_matrix(n):
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h / np.sqrt(n)


def hadamard(x, n):
    h = hadamard_matrix(n)
    blocks = x.astype(np.float64).reshape(list(x.shape[:-1]) + [-1, n])
    return (blocks @ h).reshape(x.shape).astype(x.dtype)


def mean_of_squares(xs):
    """mean(x^2) over the last axis in f32; a group of no elements (a
    per_tensor group over zero rows) has the mean of an all-zero one, 0."""
    if xs.shape[-1] == 0:
        return np.zeros(xs.shape[:-1], F32)
    return np.mean(xs * xs, axis=-1, dtype=F32)


def nvfp4_scale(x, q):
    """NVFP4's two levels (docs/semantics.md), in f32 in the order stated
    there: a = max|x| / 6 per group, T = max|x| / 6 of the tensor,
    g = 448 / T, sb = e4m3(a * g) (at least 2^-9), step = sb / g; a tensor
    of zeros gets the step 1."""
    absmax = Quantizer(q.grid, q.bits, "absmax", q.granularity, q.group)
    a = scale(x, absmax)
    t = scale(x, Quantizer(q.grid, q.bits, "absmax", "per_tensor"))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = (F32(448) / t).astype(F32)
        _, sb, _ = round_to_format((a * g).astype(F32), "e4m3")
        sb = np.maximum(sb.astype(F32), F32(2.0 ** -9))
        step = (sb / g).astype(F32)
    return np.where(t == 0, F32(1), step).astype(F32)


def scale(x, q):
    if q.method == "nvfp4":
        return nvfp4_scale(x, q)
    xs = groups(x.astype(F32), q)
    if q.method == "rms_gaussian":
        c = F32(ALPHA[q.bits - 1]) * np.sqrt(mean_of_squares(xs)) + F32(1e-8)
    else:
        # No elements: the clip of an all-zero group, 0.
        c = np.max(np.abs(xs), axis=-1, initial=F32(0))
    c = c.astype(F32)
    if q.method == "mx":
        # 2^(floor(log2 amax) - emax), at least 2^-126; NaN stays NaN.
        emax = np.floor(np.log2(q.max_value))
        with np.errstate(divide="ignore", invalid="ignore"):
            exponent = np.floor(np.log2(c.astype(np.float64)))
            step = np.maximum(2.0 ** (exponent - emax), 2.0 ** -126)
        step = np.where(np.isnan(c), np.nan, step).astype(F32)
    elif q.is_float:
        step = c / F32(q.max_value)
    elif q.grid == "centered":
        step = F32(2) * c / F32((1 << q.bits) - 1)
    else:
        step = c / F32(q.qp)
    return step.reshape(q.scale_shape(x.shape)).astype(F32)


def rms(x, q):
    """sqrt(mean(x^2)) per group (qat.rms), in the step's shape: the mean of
    the f32 squares, then the root, as rms_gaussian's clip has it."""
    xs = groups(x.astype(F32), q)
    std = np.sqrt(mean_of_squares(xs))
    return std.reshape(q.scale_shape(x.shape)).astype(F32)


def random_bits(seed, count):
    """SplitMix64's outputs (uint64) for counters 1..count from an i64 seed:
    the one generator of the dialect's draws (docs/semantics.md)."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed % (1 << 64)) +
             np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform_draws(seed, shape):
    """The draw u in [0, 1) of every element of a tensor of `shape` under an
    i64 `seed`, as stochastic rounding uses it: the top 24 bits of the
    generator's output for counter (row-major index + 1)."""
    z = random_bits(seed, int(np.prod(shape, dtype=np.int64)))
    return ((z >> np.uint64(40)).astype(np.float64) * 2.0 ** -24).reshape(shape)


def random_signs(seed, n):
    """The column signs (+-1, f32) of a random-sign Hadamard rotation of rows
    of length n: -1 where the generator's output for counter j + 1 has its
    top bit set."""
    return np.where(random_bits(seed, n) >> np.uint64(63), F32(-1), F32(1))


def random_sign_hadamard(x, n, seed, inverse=False):
    """x diag(s) H (or, inverse, x H diag(s)) with H = blockdiag(H_n)."""
    s = random_signs(seed, x.shape[-1])
    return hadamard(x, n) * s if inverse else hadamard(x * s, n)


def stochastic_round(y, u):
    """floor(y), plus one with probability y - floor(y): when u < y - floor(y)."""
    below = np.floor(y)
    return np.where(u < y - below, below + 1, below)


def round_to_format(v, name, u=None):
    """(encoding of |v| rounded, the rounded |v|, v's sign bit): the nearest
    finite value of the format by searching its table, ties to the even
    encoding, saturating; NaN gives a NaN value (encoding 0). With draws
    `u`, stochastically: v goes to its neighbour towards +inf with
    probability (distance from the other neighbour) / (their distance)."""
    values = format_values(name)
    a = np.minimum(np.abs(np.asarray(v, np.float64)), values[-1])
    nan = np.isnan(a)
    a = np.where(nan, 0.0, a)
    hi = np.minimum(np.searchsorted(values, a), len(values) - 1)
    lo = np.maximum(hi - 1, 0)
    d_lo, d_hi = a - values[lo], values[hi] - a
    if u is None:
        pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (hi % 2 == 0))
    else:
        spacing = np.where(hi == lo, 1.0, values[hi] - values[lo])
        # Towards +inf is the larger magnitude for v >= 0, the smaller below.
        up = u < np.where(np.signbit(v), d_hi, d_lo) / spacing
        pick_hi = (hi == lo) | (up != np.signbit(v))
    code = np.where(pick_hi, hi, lo)
    return code, np.where(nan, np.nan, values[code]), np.signbit(v)


def quantize_float(v, q, u=None):
    """Encodings read as width-bit two's complement; NaN stores the format's
    NaN (0x7F) or, without one, the lowest code."""
    code, _, negative = round_to_format(v, q.grid, u)
    code = np.where(negative, code - (1 << (q.bits - 1)), code)
    nan_code = q.code_range[0] if FLOAT_FORMATS[q.grid][3] == "none" else 127
    return np.where(np.isnan(v), nan_code, code).astype(np.int64)


def dequantize_float(codes, q):
    byte = codes.astype(np.int64) & ((1 << q.bits) - 1)
    magnitude = byte & ((1 << (q.bits - 1)) - 1)
    table = np.array([format_value(q.grid, c) for c in range(1 << (q.bits - 1))])
    value = table[magnitude]
    return np.where(byte >> (q.bits - 1), -value, value).astype(F32)


def _round(y, u):
    """Round to nearest even, or stochastically with draws u."""
    return np.round(y) if u is None else stochastic_round(y, u)


def quantize(x, s, q, u=None):
    """The integer codes. NaN has no code: it stores the lowest one (qn), as
    torch.quantize_per_tensor does; infinities clamp to the ends. `u`: the
    draws of stochastic rounding (uniform_draws), else to nearest."""
    x = x.astype(F32)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = x / expand(s, x, q)
        if q.is_float:
            return quantize_float(v, q, u)
        if q.grid == "centered":
            k = _round(np.clip(v + F32(0.5), q.qn + 1, q.qp + 1), u)
            codes = k - 1
        elif q.bits == 1:
            codes = np.sign(x)
        else:
            codes = _round(np.clip(v, q.qn, q.qp), u)
    return np.where(np.isnan(codes), q.qn, codes).astype(np.int64)


def dequantize(codes, s, q):
    if q.is_float:
        c = dequantize_float(codes, q)
        with np.errstate(invalid="ignore", over="ignore"):
            return c * expand(s, c, q)
    c = codes.astype(F32)
    if q.grid == "centered":
        c = c + F32(0.5)
    return c * expand(s, c, q)


def fake_quant(x, s, q, u=None):
    """dequantize(quantize(x)) in float, as the methods' PyTorch code writes
    it (torch.clamp(torch.round(x / s), qn, qp) * s): NaN in gives NaN out,
    infinities give the end levels. `u` as for quantize."""
    x = x.astype(F32)
    se = expand(s, x, q)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        v = x / se
        if q.is_float:
            _, value, negative = round_to_format(v, q.grid, u)
            return (np.where(negative, -value, value).astype(F32) * se).astype(F32)
        if q.grid == "centered":
            k = _round(np.clip(v + F32(0.5), q.qn + 1, q.qp + 1), u)
            return ((k - F32(0.5)) * se).astype(F32)
        if q.bits == 1:
            return (np.sign(x) * se).astype(F32)
        y = np.clip(v, q.qn, q.qp)
        # A zero level keeps v's sign, as rounding to nearest gives it.
        return (np.copysign(_round(y, u), y) * se).astype(F32)


def pack(codes):
    c = codes.astype(np.int64) & 0xF
    return (c[..., 0::2] | (c[..., 1::2] << 4)).astype(np.uint8).view(np.int8)


def unpack(packed):
    p = packed.astype(np.int64) & 0xFF
    lo, hi = p & 0xF, (p >> 4) & 0xF
    lo = np.where(lo >= 8, lo - 16, lo)
    hi = np.where(hi >= 8, hi - 16, hi)
    out = np.empty(list(p.shape[:-1]) + [p.shape[-1] * 2], np.int64)
    out[..., 0::2], out[..., 1::2] = lo, hi
    return out


def trust_factor(q, factor=None):
    if factor is not None:
        return factor
    return ALPHA[q.bits - 1] / ((1 << q.bits) - 1)


def fourier_s(v, amplitudes):
    r = np.round(v)
    total = np.zeros_like(v, dtype=F32)
    for k, a in enumerate(amplitudes):
        total = total + F32(a) * np.cos(F32((2 * k + 1) * np.pi) * (v + r))
    return F32(np.sqrt(2) * np.pi) * total


def fake_quant_grad(dy, x, s, q, estimator, param=None, u=None):
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _fake_quant_grad(dy, x, s, q, estimator, param, u)


def _fake_quant_grad(dy, x, s, q, estimator, param=None, u=None):
    """Returns (dx, ds); ds is None unless the step is learned. The trust
    estimator's std is always recomputed from x: a `std` operand from qat.rms
    of the same x must give this dx. `u`: the forward's stochastic draws
    (trust's xq and the LSQ term's round(v) are then its roundings)."""
    dy, x = dy.astype(F32), x.astype(F32)
    se = expand(s, x, q)
    v = x / se
    if estimator == "ste":
        dx = dy
    elif estimator == "clip":
        k = 1.0 if param is None else param  # clip<k>: QuEST's clip_scale
        if q.grid == "centered":
            c = se * F32(k * ((1 << q.bits) - 1) / 2)
            mask = np.abs(x) <= c
        else:
            mask = (v >= F32(k * q.qn)) & (v <= F32(k * q.qp))
        dx = np.where(mask, dy, F32(0))
    elif estimator == "trust":
        std = expand(rms(x, q), x, q)
        err = np.abs(fake_quant(x, s, q, u) - x)
        dx = np.where(err <= F32(trust_factor(q, param)) * std, dy, F32(0))
    elif estimator == "fourier":
        amps = param if param is not None else [0.21]
        sv = fourier_s(v, amps)
        inside = (v >= q.qn) & (v <= q.qp)
        dx = np.where(inside, dy * (F32(1) - sv) / (F32(1) + sv), F32(0))
    else:
        raise ValueError(estimator)
    dx = dx.astype(F32)
    if q.method != "learned":
        return dx, None
    inside = (v >= q.qn) & (v <= q.qp)
    term = np.where(inside, _round(v, u) - v, np.clip(v, q.qn, q.qp))
    g = F32(1 / np.sqrt(max(x.size, 1) * q.qp))  # no elements: ds = 0
    ds = g * np.sum(groups((dy * term).astype(F32), q), axis=-1, dtype=F32)
    return dx, ds.reshape(s.shape).astype(F32)


def matmul(a_codes, b_codes, sa, sb, qa, qb):
    """Exact integer sum of the levels (the fp8 values' sum in float64), then
    the epilogue (float64 here)."""
    a = a_codes.astype(np.int64)
    b = b_codes.astype(np.int64)
    fa = fb = 1.0
    if qa.is_float:
        a = dequantize_float(a, qa).astype(np.float64)
        b = dequantize_float(b, qb).astype(np.float64)
    if qa.grid == "centered":
        a, fa = 2 * a + 1, 0.5
    if qb.grid == "centered":
        b, fb = 2 * b + 1, 0.5
    acc = a @ b.T
    return acc * (fa * fb) * sa.astype(np.float64).reshape(-1, 1) * \
        sb.astype(np.float64).reshape(1, -1)
