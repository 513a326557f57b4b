"""What users would write instead of qat: the QuEST and StableQAT quantizers
(forward and backward) and the matmuls, in PyTorch eager and torch.compile.

Imported by benchmarks/run_gpu.py, which times them side by side with the
qat kernels; the math is the one of docs/semantics.md.
"""

import math

import torch

ALPHA = [0.7978845587140913, 1.4935346200015913, 2.051068354131873,
         2.513930578568423, 2.9160938834961225, 3.276597282593217,
         3.6010497188221655, 3.884938678807525]


def hadamard_matrix(n, device):
    h = torch.ones(1, 1, device=device, dtype=torch.float32)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / math.sqrt(n)


def quest_forward(x, h, bits=4):
    """x [M, K] bf16 -> packed int4 codes [M, K/2], steps [M, 1] f32, trust
    mask [M, K] bool: hadamard 128, rms_gaussian clip, centered grid."""
    m, k = x.shape
    xh = (x.float().view(m, k // 128, 128) @ h).view(m, k)
    std = xh.pow(2).mean(-1, keepdim=True).sqrt()
    step = 2 * (ALPHA[bits - 1] * std + 1e-8) / (2 ** bits - 1)
    kq = torch.clamp(torch.round(xh / step + 0.5), -2 ** (bits - 1) + 1, 2 ** (bits - 1))
    codes = (kq - 1).to(torch.int8)
    packed = (codes[:, 0::2] & 0xF) | (codes[:, 1::2] << 4)
    xq = (kq - 0.5) * step
    t = ALPHA[bits - 1] / (2 ** bits - 1)
    mask = (xq - xh).abs() <= t * std
    return packed, step, mask


def quest_backward(dy, mask, h):
    """dx = ((dy) * mask) H for the rotated quantizer; dy [M, K] bf16."""
    m, k = dy.shape
    g = dy.float() * mask
    return (g.view(m, k // 128, 128) @ h).view(m, k).to(dy.dtype)


def stableqat_forward(w, s, bits=4):
    """LSQ fake quantization of w [N, K] bf16 with a learned step s [N, 1]."""
    qn, qp = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    v = w.float() / s
    return (torch.clamp(torch.round(v), qn, qp) * s).to(w.dtype)


def stableqat_backward(dy, w, s, bits=4, a=0.21):
    """Fourier surrogate dx and the LSQ step gradient ds."""
    qn, qp = -2 ** (bits - 1), 2 ** (bits - 1) - 1
    v = w.float() / s
    r = torch.round(v)
    sv = math.sqrt(2) * math.pi * a * torch.cos(math.pi * (v + r))
    inside = (v >= qn) & (v <= qp)
    dx = torch.where(inside, dy.float() * (1 - sv) / (1 + sv), 0.0)
    g = 1.0 / math.sqrt(w.numel() * qp)
    term = torch.where(inside, r - v, torch.clamp(v, qn, qp))
    ds = g * (dy.float() * term).sum(-1, keepdim=True)
    return dx.to(dy.dtype), ds


def compiled(fn):
    return torch.compile(fn, dynamic=False)
