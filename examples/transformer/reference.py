"""PyTorch reference of examples/transformer (the fidelity check).

The same model as generate.py writes in MLIR, written independently in
PyTorch (Debian's python3-torch 1.13, CPU, fp32), and the QAT methods
written from the math of DESIGN.md section 1, not from qat's code:

- float: no quantization;
- quest (W4A4): the inputs and weights of every quantized linear layer are
  rotated by the block Hadamard transform (block 128 along the contraction
  dimension), fake-quantized on the centered grid with the rms_gaussian clip
  per row, and differentiated with the trust estimator;
- stableqat (W2/W3/W4): weights only, signed grid, a learned step per row
  (LSQ gradient), Fourier surrogate gradient with amplitudes [0.21].

Which layers are quantized is an argument (`quantized`, names of linear
weights); the drivers pass the ones qat-quantize picks.
"""

import math

import numpy as np
import torch

ALPHA = [0.7978845587140913, 1.4935346200015913, 2.051068354131873,
         2.513930578568423, 2.9160938834961225, 3.276597282593217,
         3.6010497188221655, 3.884938678807525]


def hadamard(n):
    """Sylvester H_n / sqrt(n), rounded once to the default dtype (fp32 unless
    a caller sets float64; n a power of two)."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return (h / math.sqrt(n)).to(torch.get_default_dtype())


_hadamards = {}


def rotate(x, block):
    """x . blockdiag(H_block) along the last dimension. The matrix is built
    once per size, dtype and device: not on the host and copied inside every
    step that the GPU benchmark times."""
    key = (block, torch.get_default_dtype(), x.device)
    if key not in _hadamards:
        _hadamards[key] = hadamard(block).to(x.device)
    shape = x.shape
    xb = x.reshape(*shape[:-1], shape[-1] // block, block)
    return (xb @ _hadamards[key]).reshape(shape)


# Quantizer inputs this close to a decision boundary (a rounding tie, or the
# trust mask's threshold), in units of the step, are decided by the last bits
# of the arithmetic: two correct fp32 programs can take either side. The
# quantizers count them here for the fidelity check (near_ties()).
TIE_WIDTH = 2e-5
_near_ties = [0]
# Counting reads the count back to the host (a synchronization per
# quantizer call): the benchmarks (torch_baseline.py) turn it off.
COUNT_TIES = True


def near_ties(reset=False):
    """How many quantizer inputs fell within TIE_WIDTH steps of a decision
    boundary since the last reset."""
    n = _near_ties[0]
    if reset:
        _near_ties[0] = 0
    return n


def _count_ties(distance):
    if COUNT_TIES:
        _near_ties[0] += int((distance.abs() < TIE_WIDTH).sum())


class QuestFakeQuant(torch.autograd.Function):
    """Centered grid, rms_gaussian clip per row, trust estimator."""

    @staticmethod
    def forward(ctx, x, bits):
        levels = 2 ** bits - 1
        std = x.pow(2).mean(-1, keepdim=True).sqrt()
        c = ALPHA[bits - 1] * std + 1e-8
        step = 2 * c / levels
        u = torch.maximum(torch.minimum(x, c), -c) / step + 0.5
        k = torch.round(u)
        xq = (k - 0.5) * step
        trust = ALPHA[bits - 1] / levels
        ctx.save_for_backward((xq - x).abs() <= trust * std)
        _count_ties(u - torch.floor(u) - 0.5)
        _count_ties(((xq - x).abs() - trust * std) / step)
        return xq

    @staticmethod
    def backward(ctx, dy):
        (mask,) = ctx.saved_tensors
        return dy * mask, None


class LsqFourier(torch.autograd.Function):
    """Signed grid with a learned step per row; Fourier surrogate for w and
    the LSQ gradient for the step."""

    @staticmethod
    def forward(ctx, w, s, bits, amplitudes):
        qn, qp = -2 ** (bits - 1), 2 ** (bits - 1) - 1
        v = w / s
        r = torch.round(v)
        _count_ties(v - torch.floor(v) - 0.5)
        ctx.save_for_backward(v, r, s)
        ctx.qn, ctx.qp, ctx.amplitudes = qn, qp, amplitudes
        return torch.clamp(r, qn, qp) * s

    @staticmethod
    def backward(ctx, dy):
        v, r, s = ctx.saved_tensors
        qn, qp = ctx.qn, ctx.qp
        inside = (v >= qn) & (v <= qp)
        surrogate = torch.zeros_like(v)
        for k, a in enumerate(ctx.amplitudes):
            surrogate += a * torch.cos((2 * k + 1) * math.pi * (v + r))
        surrogate *= math.sqrt(2) * math.pi
        dw = dy * inside * (1 - surrogate) / (1 + surrogate)
        g = 1.0 / math.sqrt(v.numel() * qp)
        per = torch.where(inside, r - v, torch.clamp(v, qn, qp))
        ds = g * (dy * per).sum(-1, keepdim=True)
        return dw, ds, None, None


class Method:
    """How a quantized linear layer y = x w^T computes; steps: the learned
    steps this method adds (name -> initial value), none by default."""

    def __init__(self, name, bits=None, amplitudes=(0.21,)):
        self.name, self.bits, self.amplitudes = name, bits, list(amplitudes)

    def linear(self, x, w, step=None):
        if self.name == "float":
            return x @ w.t()
        if self.name == "quest":
            block = min(128, x.shape[-1])
            xq = QuestFakeQuant.apply(rotate(x, block), self.bits)
            wq = QuestFakeQuant.apply(rotate(w, block), self.bits)
            return xq @ wq.t()
        if self.name == "stableqat":
            return x @ LsqFourier.apply(w, step, self.bits,
                                        self.amplitudes).t()
        raise ValueError(f"unknown method {self.name!r}")


class Transformer(torch.nn.Module):
    """The model of generate.py; parameters keep generate.py's names."""

    def __init__(self, config, weights, method, quantized=(), steps=None):
        super().__init__()
        self.c, self.method, self.quantized = config, method, set(quantized)
        self.p = torch.nn.ParameterDict(
            {k.replace(".", "_"): torch.nn.Parameter(torch.tensor(v))
             for k, v in weights.items()})
        self.s = torch.nn.ParameterDict(
            {k.replace(".", "_"): torch.nn.Parameter(torch.tensor(v))
             for k, v in (steps or {}).items()})
        T = config["context"]
        mask = torch.zeros(T, T)
        mask[torch.triu(torch.ones(T, T, dtype=torch.bool), 1)] = -1e9
        self.register_buffer("mask", mask)

    def w(self, name):
        return self.p[name.replace(".", "_")]

    def linear(self, x, name):
        if name in self.quantized:
            return self.method.linear(x, self.w(name),
                                      self.s.get(name.replace(".", "_")))
        return x @ self.w(name).t()

    def layer_norm(self, x, prefix):
        return torch.nn.functional.layer_norm(
            x, x.shape[-1:], self.w(prefix + ".g"), self.w(prefix + ".b"),
            1e-5)

    def embed(self, tokens):
        """Token and position embeddings, [batch*context, d_model]."""
        B = tokens.shape[0]
        return self.w("wte")[tokens.reshape(-1)] + self.w("wpe").repeat(B, 1)

    def logits(self, tokens):
        """tokens: int64 [batch, context] -> logits [batch*context, vocab]."""
        c = self.c
        B, T = tokens.shape
        d, H = c["d_model"], c["heads"]
        hd = d // H
        h = self.embed(tokens)
        for i in range(c["layers"]):
            x = self.layer_norm(h, f"l{i}.ln1")

            def heads(y):
                return y.reshape(B, T, H, hd).transpose(1, 2)

            q = heads(self.linear(x, f"l{i}.wq"))
            k = heads(self.linear(x, f"l{i}.wk"))
            v = heads(self.linear(x, f"l{i}.wv"))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd)
                                + self.mask, -1)
            o = (att @ v).transpose(1, 2).reshape(B * T, d)
            h = h + self.linear(o, f"l{i}.wo")
            x = self.layer_norm(h, f"l{i}.ln2")
            u = torch.nn.functional.gelu(self.linear(x, f"l{i}.w1"))
            h = h + self.linear(u, f"l{i}.w2")
        return self.linear(self.layer_norm(h, "lnf"), "head")

    def loss(self, tokens, targets):
        return torch.nn.functional.cross_entropy(self.logits(tokens),
                                                 targets.reshape(-1))


def adamw_step(params, grads, state, lr, beta1, beta2, eps, weight_decay):
    """One AdamW step (decoupled weight decay, bias-corrected moments), in
    place; written out rather than torch.optim so that its formula is the one
    the compiled step is checked against."""
    state["t"] = state.get("t", 0) + 1
    t = state["t"]
    with torch.no_grad():
        for name, p in params.items():
            g = grads[name]
            m = state.setdefault(("m", name), torch.zeros_like(p))
            v = state.setdefault(("v", name), torch.zeros_like(p))
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            mhat = m / (1 - beta1 ** t)
            vhat = v / (1 - beta2 ** t)
            p.mul_(1 - lr * weight_decay)
            p.sub_(lr * mhat / (vhat.sqrt() + eps))


def train(model, batches, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8,
          weight_decay=0.0, log_every=1):
    """Trains in place; returns [(step, loss)] of the logged steps (the loss
    of the batch before that step's update)."""
    named = dict(model.named_parameters())
    state, log = {}, []
    for step in range(steps):
        x, y = next(batches)
        model.zero_grad()
        loss = model.loss(torch.tensor(x), torch.tensor(y))
        loss.backward()
        if step % log_every == 0 or step == steps - 1:
            log.append((step, float(loss)))
        adamw_step(named, {k: p.grad for k, p in named.items()}, state, lr,
                   beta1, beta2, eps, weight_decay)
    return log


def init_weights(spec, seed):
    """Initial weights from transformer.json's list, in its order."""
    rng = np.random.default_rng(seed)
    out = {}
    for p in spec["params"]:
        kind, value = p["init"]
        shape = tuple(p["shape"])
        if kind == "normal":
            out[p["name"]] = rng.normal(0.0, value, shape).astype(np.float32)
        else:
            out[p["name"]] = np.full(shape, value, np.float32)
    return out
