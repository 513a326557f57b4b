"""The float models of examples/float/ written in PyTorch, as independent
references for the qat-differentiate tests.

Each model takes `matmul(x, w)`, the product x @ w.T of an activation x
(tokens x K) and a weight w stored N x K, for every contraction that
qat-quantize quantizes: the default is the float product; `QuestMatmul`
fake-quantizes both operands as QuEST does.
"""

import math

import torch

# alpha_1..8 of the rms_gaussian scale (DESIGN.md section 1).
ALPHA = [0.7978845587140913, 1.4935346200015913, 2.051068354131873, 2.513930578568423,
         2.9160938834961225, 3.276597282593217, 3.6010497188221655, 3.884938678807525]


def float_matmul(x, w):
    return x @ w.T


def mlp(x, t, w1, b1, w2, b2, matmul=float_matmul):
    h = torch.tanh(matmul(x, w1) + b1)
    y = matmul(h, w2.T) + b2
    return ((y - t) ** 2).mean()


def layer_norm(x, g, b):
    mean = x.mean(dim=1, keepdim=True)
    c = x - mean
    var = (c * c).mean(dim=1, keepdim=True)
    return c * torch.rsqrt(var + 1e-5) * g + b


def block(x, onehot, ln1g, ln1b, wq, wk, wv, wo, ln2g, ln2b, w1, b1, w2, b2, wout,
          matmul=float_matmul):
    n1 = layer_norm(x, ln1g, ln1b)
    heads = lambda m: m.reshape(5, 2, 4).permute(1, 0, 2)  # noqa: E731
    q, k, v = heads(matmul(n1, wq.T)), heads(matmul(n1, wk.T)), heads(matmul(n1, wv.T))
    s = (q @ k.transpose(1, 2)) * 0.5
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    s = s.masked_fill(mask, float("-inf"))
    p = torch.softmax(s, dim=-1)
    ctx = (p @ v).permute(1, 0, 2).reshape(5, 8)
    a = x + matmul(ctx, wo.T)
    u = matmul(layer_norm(a, ln2g, ln2b), w1.T) + b1
    gelu = 0.5 * u * (1 + torch.erf(u * 0.7071067811865476))
    h = a + matmul(gelu, w2.T) + b2
    logits = matmul(h, wout.T)
    return (torch.logsumexp(logits, dim=1) - (logits * onehot).sum(dim=1)).mean()


def hadamard(x, block):
    """x times blockdiag(H_block / sqrt(block)) along the last dimension."""
    h = torch.ones(1, 1, dtype=x.dtype)
    while h.shape[0] < block:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    rows = x.reshape(*x.shape[:-1], x.shape[-1] // block, block)
    return (rows @ h / math.sqrt(block)).reshape(x.shape)


class QuestMatmul:
    """x @ w.T with both operands Hadamard-rotated along K (blocks of the
    largest power of two up to 128 dividing K) and fake-quantized per row on
    the centered grid with the rms_gaussian clip; the backward passes the
    gradient where the trust estimator keeps it.

    `margin` records, over every quantized element, the smallest distance of
    x/step + 1/2 from a half-integer: the rounding ties, where the trust mask
    switches too. Two implementations that differ by f32 rounding may decide
    an element that close to a tie differently."""

    def __init__(self, bits):
        self.bits = bits
        self.margin = math.inf

    def quantize(self, x):
        levels = (1 << self.bits) - 1
        block = math.gcd(x.shape[-1], 128)
        xh = hadamard(x, block)
        std = torch.sqrt((xh.detach() ** 2).mean(dim=-1, keepdim=True))
        c = ALPHA[self.bits - 1] * std + 1e-8
        step = 2 * c / levels
        k = torch.round(torch.clamp(xh.detach(), -c, c) / step + 0.5)
        xq = (k - 0.5) * step
        keep = (xq - xh.detach()).abs() <= ALPHA[self.bits - 1] / levels * std
        w = xh.detach() / step + 0.5
        self.margin = min(self.margin, float(((w - torch.floor(w)) - 0.5).abs().min()))
        return xq + (xh - xh.detach()) * keep

    def __call__(self, x, w):
        return self.quantize(x) @ self.quantize(w).T


class FormatMatmul:
    """x @ w.T with both operands fake-quantized onto a float element format
    (docs/semantics.md, "Float element formats") in groups of `group` along
    K (`group` 0: the whole row): steps `absmax / max`, for `mx` the power of two
    2^(floor(log2 absmax) - emax), for `nvfp4` an e4m3 block scale under the
    tensor's; the element nearest x/step found from
    torch.frexp (the compiler reads exponent bits, the numpy reference of
    test/Integration searches a table). The backward is `ste` (dx = dy) or
    `clip` (dy where |x/step| <= max).

    `margin` records the smallest distance of x/step, in units of the element
    spacing, from a rounding tie (and, for `mx`, of a block's absmax from a
    power of two, relative to it)."""

    FORMATS = {"e4m3": (3, -6, 448.0), "e5m2": (2, -14, 57344.0), "e2m1": (1, 0, 6.0)}

    def __init__(self, name, scale, group, estimator):
        self.mantissa_bits, self.min_exponent, self.max_value = self.FORMATS[name]
        self.scale, self.group, self.estimator = scale, group, estimator
        self.margin = math.inf

    @staticmethod
    def round_to(w, mantissa_bits, min_exponent):
        """w (within the format's range) rounded to the format, ties to even."""
        _, e = torch.frexp(w)  # |w| = m * 2^e, m in [0.5, 1)
        exponent = torch.clamp(e - 1, min=min_exponent) - mantissa_bits
        spacing = torch.pow(2.0, exponent.to(w.dtype))
        return torch.round(w / spacing) * spacing, w / spacing

    def step(self, amax, tensor_amax=None):
        if self.scale == "absmax":
            return amax / self.max_value
        if self.scale == "nvfp4":
            # e4m3 block scales under a per-tensor scale, zeros aside.
            a, t = amax / self.max_value, tensor_amax / self.max_value
            g = torch.full_like(t, 448.0) / t  # 448.0 / t is 448 * (1 / t) in torch
            sb, _ = self.round_to(torch.clamp(a * g, max=448.0), 3, -6)
            return torch.clamp(sb, min=2.0 ** -9) / g
        emax = math.floor(math.log2(self.max_value))
        m, e = torch.frexp(amax)  # amax = m * 2^e, m in [0.5, 1)
        # An absmax next to a power of two: the step doubles across it.
        self.margin = min(self.margin, float(torch.minimum(m - 0.5, 1 - m).min() / 0.5))
        return torch.clamp(torch.pow(2.0, (e - 1 - emax).to(amax.dtype)), min=2.0 ** -126)

    def quantize(self, x):
        k = x.shape[-1]
        group = self.group or k
        groups = x.detach().reshape(*x.shape[:-1], k // group, group)
        step = self.step(groups.abs().amax(dim=-1, keepdim=True), x.detach().abs().max())
        v = groups / step
        w = torch.clamp(v, -self.max_value, self.max_value)
        rounded, units = self.round_to(w, self.mantissa_bits, self.min_exponent)
        self.margin = min(self.margin,
                          float(((units - torch.floor(units)) - 0.5).abs().min()))
        xq = (rounded * step).reshape(x.shape)
        if self.estimator == "ste":
            return xq + (x - x.detach())
        keep = (v.abs() <= self.max_value).reshape(x.shape)
        return xq + (x - x.detach()) * keep

    def __call__(self, x, w):
        return self.quantize(x) @ self.quantize(w).T
