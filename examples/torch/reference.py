"""QuEST and StableQAT linear layers in plain PyTorch, independent of qat:
the reference that examples/torch/check_layers.py compares the qat layers
with, and the "pure-PyTorch fake-quant" model of examples/torch/train.py.

The formulas are those of the project brief (DESIGN.md section 1) and
docs/semantics.md, written out here again on purpose. Activations are bf16,
weights and steps f32, as in QATLinear; the rotated activation is rounded to
bf16 before it is quantized (what the qat kernels do with a bf16 input).
"""

import math

import torch
from torch import nn

# Clip factors of QuEST's rms_gaussian scale for 1..8 bits (MSE-optimal for
# a Gaussian).
ALPHA = [0.7978845587140913, 1.4935346200015913, 2.051068354131873,
         2.513930578568423, 2.9160938834961225, 3.276597282593217,
         3.6010497188221655, 3.884938678807525]

_hadamard = {}


def hadamard_matrix(n, device, dtype):
    """Sylvester's H_n / sqrt(n), exact in fp32/fp64."""
    key = (n, str(device), dtype)
    if key not in _hadamard:
        h = torch.ones(1, 1, dtype=torch.float64)
        while h.shape[0] < n:
            h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
        _hadamard[key] = (h / math.sqrt(n)).to(device=device, dtype=dtype)
    return _hadamard[key]


def rotate(x, block=128):
    """x · blockdiag(H_block) along the last dimension, in x's dtype."""
    h = hadamard_matrix(block, x.device, x.dtype)
    return (x.reshape(*x.shape[:-1], -1, block) @ h).reshape(x.shape)


def quest_quantize(xh, bits):
    """Centered-grid fake quantization with the rms_gaussian per-row clip:
    (xq, step, trust mask), in xh's dtype."""
    std = xh.pow(2).mean(-1, keepdim=True).sqrt()
    clip = ALPHA[bits - 1] * std + 1e-8
    step = 2 * clip / (2 ** bits - 1)
    k = torch.clamp(torch.round(xh / step + 0.5), -2 ** (bits - 1) + 1, 2 ** (bits - 1))
    xq = (k - 0.5) * step
    mask = (xq - xh).abs() <= ALPHA[bits - 1] / (2 ** bits - 1) * std
    return xq, step, mask


def lsq_range(bits):
    return (-1, 1) if bits == 1 else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)


def lsq_quantize(w, s, bits):
    qn, qp = lsq_range(bits)
    return torch.clamp(torch.round(w / s), qn, qp) * s


def stableqat_grad(g, w, s, bits, fourier=(0.21,)):
    """StableQAT's Fourier surrogate for dw and LSQ's step gradient ds, given
    g = dL/dQ(w); v = w/s in w's dtype, the sums in g's dtype."""
    qn, qp = lsq_range(bits)
    v = w / s
    r = torch.round(v)
    surrogate = sum(a * torch.cos((2 * i + 1) * math.pi * (v + r))
                    for i, a in enumerate(fourier)) * (math.sqrt(2) * math.pi)
    inside = (v >= qn) & (v <= qp)
    dw = g * inside * ((1 - surrogate) / (1 + surrogate)).to(g.dtype)
    lsq = torch.where(inside, r - v, torch.clamp(v, qn, qp)).to(g.dtype)
    ds = (g * lsq).sum(-1, keepdim=True) / math.sqrt(w.numel() * qp)
    return dw, ds


def mm_f32(a, b):
    """a @ b of bf16 matrices, result in f32 (not rounded to bf16)."""
    try:
        return torch.mm(a, b, out_dtype=torch.float32)
    except TypeError:  # torch without out_dtype
        return torch.mm(a.float(), b.float())


class QuESTLinearRef(torch.autograd.Function):
    """x: (M, K) bf16, w: (N, K) f32 -> y (M, N) bf16. Quantizer math in f32,
    GEMMs in bf16 (cuBLAS)."""

    @staticmethod
    def forward(ctx, x, w, bits):
        xh = rotate(x.float()).to(torch.bfloat16).float()
        xq, _, mx = quest_quantize(xh, bits)
        wq, _, mw = quest_quantize(rotate(w), bits)
        xq, wq = xq.to(torch.bfloat16), wq.to(torch.bfloat16)
        ctx.save_for_backward(xq, wq, mx, mw)
        return xq @ wq.t()

    @staticmethod
    def backward(ctx, dy):
        xq, wq, mx, mw = ctx.saved_tensors
        dx = rotate((dy @ wq).float() * mx).to(torch.bfloat16) if ctx.needs_input_grad[0] else None
        dw = rotate(mm_f32(dy.t(), xq) * mw)
        return dx, dw, None


class StableQATLinearRef(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, s, bits, fourier):
        wq = lsq_quantize(w, s, bits).to(torch.bfloat16)
        ctx.save_for_backward(x, w, s, wq)
        ctx.bits, ctx.fourier = bits, fourier
        return x @ wq.t()

    @staticmethod
    def backward(ctx, dy):
        x, w, s, wq = ctx.saved_tensors
        dx = dy @ wq if ctx.needs_input_grad[0] else None
        dw, ds = stableqat_grad(mm_f32(dy.t(), x), w, s, ctx.bits, ctx.fourier)
        return dx, dw, ds, None, None


class RefQuantLinear(nn.Module):
    """The pure-PyTorch counterpart of QATLinear (same parameters)."""

    def __init__(self, in_features, out_features, method="quest", bits=4,
                 fourier=(0.21,), device=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.method, self.bits, self.fourier = method, bits, tuple(fourier)
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device))
        self.step = (nn.Parameter(torch.empty(out_features, 1, device=device))
                     if method == "stableqat" else None)
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.init_step()

    @torch.no_grad()
    def init_step(self):
        if self.step is not None:
            qp = max(2 ** (self.bits - 1) - 1, 1)
            self.step.copy_(2 * self.weight.abs().mean(1, keepdim=True) / math.sqrt(qp))

    def forward(self, x):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features).to(torch.bfloat16)
        if self.method == "quest":
            y = QuESTLinearRef.apply(x2, self.weight, self.bits)
        else:
            y = StableQATLinearRef.apply(x2, self.weight, self.step, self.bits, self.fourier)
        return y.reshape(*lead, self.out_features)
