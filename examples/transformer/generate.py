#!/usr/bin/env python3
"""Writes the float forward of a small decoder-only transformer as MLIR.

The model is written once, as an MLIR frontend would hand it over: func +
linalg on tensors + tensor + arith + math, no qat op. qat-quantize,
qat-differentiate and qat-training-step turn it into the training step of
each QAT method; examples/transformer/train.py drives the training.

Two functions, in two files (the default configuration is committed):

  transformer.mlir         @transformer_loss(tokens, targets, <params>) -> loss
  transformer_logits.mlir  @transformer_logits(tokens, <params>) -> logits
                           (one sequence, for sampling text)

tokens and targets are one-hot rows (batch*context x vocab, f32) built on
the host: the embedding lookup is then the contraction tokens x wte, which
the autodiff differentiates like any other matmul (its gradient is
tokens^T x d_h), instead of a tensor.gather whose adjoint is a scatter.
The one-hot targets make the cross-entropy a sum of targets * log-softmax.

The embedding and output-head matmuls carry {qat.recipe = #qat.keep_float}
(qat-quantize leaves them in float, as the QuEST and StableQAT papers keep
them). Every trainable weight is a function argument carrying the unit
attribute `qat.param`; `params()` below lists them in order with their shapes and
initializations (transformer.json holds the same list for the drivers).
Linear weights are stored as torch.nn.Linear stores them (out x in) and
multiplied with the transposed-B indexing maps of linalg.matmul, the form
qat.matmul takes; there are no biases except layer norm's.

Model (GPT-2 style, pre-norm):
  h = tokens x wte + wpe
  per layer: h += Wo(attn(LN1(h)));  h += W2(gelu(W1(LN2(h))))
  attn: 4 heads, causal (additive mask constant, -1e9 above the diagonal),
        softmax(q k^T / sqrt(head_dim)) v
  logits = LNf(h) x head^T;  loss = mean over tokens of
        logsumexp(logits) - <targets, logits>
gelu is the exact erf form (torch.nn.GELU's default).
"""

import argparse
import json
import math
import pathlib

MM_NT = ("[affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
         "affine_map<(m, n, k) -> (m, n)>]")
NEG_INF = "0xFF800000"
# The embedding and the output head stay in float under every QAT recipe (as
# the QuEST and StableQAT papers keep them): qat-quantize's per-op override.
# This discardable attribute is the only qat-specific thing besides
# {qat.param}; a frontend that knows nothing of qat would leave it out.
KEEP_FLOAT = " {qat.recipe = #qat.keep_float}"


def t(*shape):
    if not shape:
        return "tensor<f32>"
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


class Config:
    def __init__(self, vocab=72, context=32, batch=8, d_model=64, heads=4,
                 layers=2, mlp=256):
        assert d_model % heads == 0, "d_model must be a multiple of heads"
        self.vocab, self.context, self.batch = vocab, context, batch
        self.d_model, self.heads, self.layers, self.mlp = (d_model, heads,
                                                           layers, mlp)

    @property
    def head_dim(self):
        return self.d_model // self.heads

    def as_dict(self):
        return dict(vocab=self.vocab, context=self.context, batch=self.batch,
                    d_model=self.d_model, heads=self.heads,
                    layers=self.layers, mlp=self.mlp)


def params(c):
    """(name, shape, init) of every trainable weight, in argument order.

    init: ("normal", std) or ("const", value). GPT-2's scheme: 0.02, and
    0.02/sqrt(2*layers) for the projections that add into the residual.
    """
    d, resid = c.d_model, 0.02 / math.sqrt(2 * c.layers)
    out = [("wte", (c.vocab, d), ("normal", 0.02)),
           ("wpe", (c.context, d), ("normal", 0.01))]
    for i in range(c.layers):
        out += [(f"l{i}.ln1.g", (d,), ("const", 1.0)),
                (f"l{i}.ln1.b", (d,), ("const", 0.0)),
                (f"l{i}.wq", (d, d), ("normal", 0.02)),
                (f"l{i}.wk", (d, d), ("normal", 0.02)),
                (f"l{i}.wv", (d, d), ("normal", 0.02)),
                (f"l{i}.wo", (d, d), ("normal", resid)),
                (f"l{i}.ln2.g", (d,), ("const", 1.0)),
                (f"l{i}.ln2.b", (d,), ("const", 0.0)),
                (f"l{i}.w1", (c.mlp, d), ("normal", 0.02)),
                (f"l{i}.w2", (d, c.mlp), ("normal", resid))]
    out += [("lnf.g", (d,), ("const", 1.0)), ("lnf.b", (d,), ("const", 0.0)),
            ("head", (c.vocab, d), ("normal", 0.02))]
    return out


def ssa_name(name):
    return "%" + name.replace(".", "_")


class Emitter:
    def __init__(self):
        self.lines, self.n = [], 0

    def fresh(self, hint):
        self.n += 1
        return f"%{hint}{self.n}"

    def __call__(self, line):
        self.lines.append("  " + line)

    def empty(self, shape):
        v = self.fresh("e")
        self(f"{v} = tensor.empty() : {t(*shape)}")
        return v

    def filled(self, value, shape):
        v = self.fresh("f")
        self(f"{v} = linalg.fill ins({value} : f32) outs({self.empty(shape)} "
             f": {t(*shape)}) -> {t(*shape)}")
        return v

    def linear(self, x, w, m, n, k, attrs=""):
        """x[m,k] w[n,k]^T: a linear layer, weight as torch stores it."""
        v = self.fresh("mm")
        self(f"{v} = linalg.matmul indexing_maps = {MM_NT} ins({x}, {w} : "
             f"{t(m, k)}, {t(n, k)}) outs({self.filled('%zero', (m, n))} : "
             f"{t(m, n)}){attrs} -> {t(m, n)}")
        return v

    def matmul(self, a, b, m, n, k, attrs=""):
        """a[m,k] b[k,n]."""
        v = self.fresh("mm")
        self(f"{v} = linalg.matmul ins({a}, {b} : {t(m, k)}, {t(k, n)}) "
             f"outs({self.filled('%zero', (m, n))} : {t(m, n)}){attrs} -> "
             f"{t(m, n)}")
        return v

    def batch_matmul(self, a, b, bt, m, n, k):
        v = self.fresh("bmm")
        self(f"{v} = linalg.batch_matmul ins({a}, {b} : {t(bt, m, k)}, "
             f"{t(bt, k, n)}) outs({self.filled('%zero', (bt, m, n))} : "
             f"{t(bt, m, n)}) -> {t(bt, m, n)}")
        return v

    def elementwise(self, body, ins, shape, hint):
        """body: lines using %a0.. for the inputs' elements, defining %r."""
        v = self.fresh(hint)
        rank = len(shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        idmap = f"affine_map<({dims}) -> ({dims})>"
        maps = ", ".join([idmap] * (len(ins) + 1))
        iterators = ", ".join(['"parallel"'] * rank)
        out = self.empty(shape)
        args = ", ".join(f"%a{i}: f32" for i in range(len(ins)))
        self(f"{v} = linalg.generic {{indexing_maps = [{maps}], "
             f"iterator_types = [{iterators}]}}")
        self(f"    ins({', '.join(ins)} : {', '.join([t(*shape)] * len(ins))})"
             f" outs({out} : {t(*shape)}) {{")
        self(f"  ^bb0({args}, %out: f32):")
        for line in body:
            self("    " + line)
        self("    linalg.yield %r : f32")
        self(f"  }} -> {t(*shape)}")
        return v

    def binary(self, op, a, b, shape, hint):
        return self.elementwise([f"%r = arith.{op} %a0, %a1 : f32"], [a, b],
                                shape, hint)

    def scaled(self, x, factor, shape, hint):
        return self.elementwise([f"%c = arith.constant {factor!r} : f32",
                                 "%r = arith.mulf %a0, %c : f32"], [x], shape,
                                hint)

    def reduce(self, combiner, x, shape, dim, init, hint):
        rshape = tuple(s for i, s in enumerate(shape) if i != dim)
        v = self.fresh(hint)
        self(f"{v} = linalg.reduce ins({x} : {t(*shape)}) outs("
             f"{self.filled(init, rshape)} : {t(*rshape)}) dimensions = [{dim}]")
        self("    (%in: f32, %acc: f32) {")
        self(f"      %r = arith.{combiner} %in, %acc : f32")
        self("      linalg.yield %r : f32")
        self("    }")
        return v

    def broadcast(self, x, xshape, shape, dims, hint):
        v = self.fresh(hint)
        self(f"{v} = linalg.broadcast ins({x} : {t(*xshape)}) outs("
             f"{self.empty(shape)} : {t(*shape)}) dimensions = "
             f"[{', '.join(map(str, dims))}]")
        return v

    def transpose(self, x, xshape, perm, hint):
        shape = tuple(xshape[p] for p in perm)
        v = self.fresh(hint)
        self(f"{v} = linalg.transpose ins({x} : {t(*xshape)}) outs("
             f"{self.empty(shape)} : {t(*shape)}) permutation = "
             f"[{', '.join(map(str, perm))}]")
        return v

    def expand(self, x, xshape, reassoc, shape, hint):
        v = self.fresh(hint)
        self(f"{v} = tensor.expand_shape {x} {reassoc} output_shape "
             f"[{', '.join(map(str, shape))}] : {t(*xshape)} into {t(*shape)}")
        return v

    def collapse(self, x, xshape, reassoc, shape, hint):
        v = self.fresh(hint)
        self(f"{v} = tensor.collapse_shape {x} {reassoc} : {t(*xshape)} into "
             f"{t(*shape)}")
        return v


def layer_norm(e, x, g, b, n, d):
    """Biased variance, eps 1e-5 (torch.nn.LayerNorm)."""
    mean = e.scaled(e.reduce("addf", x, (n, d), 1, "%zero", "sum"), 1.0 / d,
                    (n,), "mean")
    xc = e.binary("subf", x, e.broadcast(mean, (n,), (n, d), [1], "meanb"),
                  (n, d), "xc")
    sq = e.binary("mulf", xc, xc, (n, d), "sq")
    var = e.scaled(e.reduce("addf", sq, (n, d), 1, "%zero", "sum"), 1.0 / d,
                   (n,), "var")
    rstd = e.elementwise(["%eps = arith.constant 1.0e-05 : f32",
                          "%v = arith.addf %a0, %eps : f32",
                          "%r = math.rsqrt %v : f32"], [var], (n,), "rstd")
    xn = e.binary("mulf", xc, e.broadcast(rstd, (n,), (n, d), [1], "rstdb"),
                  (n, d), "xn")
    gb = e.broadcast(g, (d,), (n, d), [0], "gb")
    bb = e.broadcast(b, (d,), (n, d), [0], "bb")
    return e.binary("addf", e.binary("mulf", xn, gb, (n, d), "xg"), bb,
                    (n, d), "ln")


def softmax_last(e, x, shape):
    lead, last = shape[:-1], len(shape) - 1
    mx = e.reduce("maximumf", x, shape, last, "%ninf", "max")
    sh = e.binary("subf", x, e.broadcast(mx, lead, shape, [last], "maxb"),
                  shape, "shifted")
    ex = e.elementwise(["%r = math.exp %a0 : f32"], [sh], shape, "exp")
    z = e.reduce("addf", ex, shape, last, "%zero", "z")
    return e.binary("divf", ex, e.broadcast(z, lead, shape, [last], "zb"),
                    shape, "softmax")


def attention(e, c, x, p, bsz):
    """Causal multi-head self-attention of x[bsz*T, d]."""
    T, d, H, hd = c.context, c.d_model, c.heads, c.head_dim
    n, bh = bsz * T, bsz * H

    def heads(y, hint):  # [n, d] -> [bsz*H, T, hd]
        y4 = e.expand(y, (n, d), "[[0, 1], [2, 3]]", (bsz, T, H, hd), hint)
        yt = e.transpose(y4, (bsz, T, H, hd), [0, 2, 1, 3], hint + "t")
        return e.collapse(yt, (bsz, H, T, hd), "[[0, 1], [2], [3]]",
                          (bh, T, hd), hint + "h")

    q = heads(e.linear(x, p["wq"], n, d, d), "q")
    k = heads(e.linear(x, p["wk"], n, d, d), "k")
    v = heads(e.linear(x, p["wv"], n, d, d), "v")
    kt = e.transpose(k, (bh, T, hd), [0, 2, 1], "kt")
    s = e.scaled(e.batch_matmul(q, kt, bh, T, T, hd), 1.0 / math.sqrt(hd),
                 (bh, T, T), "scores")
    masked = e.binary("addf", s, e.broadcast("%mask", (T, T), (bh, T, T),
                                             [0], "maskb"), (bh, T, T),
                      "masked")
    o = e.batch_matmul(softmax_last(e, masked, (bh, T, T)), v, bh, T, hd, T)
    o4 = e.expand(o, (bh, T, hd), "[[0, 1], [2], [3]]", (bsz, H, T, hd), "o")
    ot = e.transpose(o4, (bsz, H, T, hd), [0, 2, 1, 3], "ot")
    oc = e.collapse(ot, (bsz, T, H, hd), "[[0, 1], [2, 3]]", (n, d), "oc")
    return e.linear(oc, p["wo"], n, d, d)


def body(e, c, bsz):
    """Emits the forward up to the logits [bsz*T, vocab]; returns them."""
    T, d, V = c.context, c.d_model, c.vocab
    n = bsz * T
    e("%zero = arith.constant 0.0 : f32")
    e(f"%ninf = arith.constant {NEG_INF} : f32")
    mask = ", ".join("[" + ", ".join("0.0" if j <= i else "-1.0e+09"
                                     for j in range(T)) + "]"
                     for i in range(T))
    e(f"%mask = arith.constant dense<[{mask}]> : {t(T, T)}")
    tok = e.matmul("%tokens", "%wte", n, d, V, KEEP_FLOAT)
    pos = e.collapse(e.broadcast("%wpe", (T, d), (bsz, T, d), [0], "wpeb"),
                     (bsz, T, d), "[[0, 1], [2]]", (n, d), "pos")
    h = e.binary("addf", tok, pos, (n, d), "h")
    for i in range(c.layers):
        p = {k: ssa_name(f"l{i}.{k}") for k in
             ("ln1.g", "ln1.b", "wq", "wk", "wv", "wo", "ln2.g", "ln2.b",
              "w1", "w2")}
        a = attention(e, c, layer_norm(e, h, p["ln1.g"], p["ln1.b"], n, d), p,
                      bsz)
        h = e.binary("addf", h, a, (n, d), "h")
        u = e.linear(layer_norm(e, h, p["ln2.g"], p["ln2.b"], n, d), p["w1"],
                     n, c.mlp, d)
        g = e.elementwise(["%c = arith.constant 0.707106769 : f32",
                           "%half = arith.constant 0.5 : f32",
                           "%one = arith.constant 1.0 : f32",
                           "%s = arith.mulf %a0, %c : f32",
                           "%er = math.erf %s : f32",
                           "%p = arith.addf %er, %one : f32",
                           "%hx = arith.mulf %a0, %half : f32",
                           "%r = arith.mulf %hx, %p : f32"], [u],
                          (n, c.mlp), "gelu")
        h = e.binary("addf", h, e.linear(g, p["w2"], n, d, c.mlp), (n, d),
                     "h")
    hf = layer_norm(e, h, "%lnf_g", "%lnf_b", n, d)
    return e.linear(hf, "%head", n, V, d, KEEP_FLOAT)


def signature(c, bsz, with_targets):
    n = bsz * c.context
    args = [f"%tokens: {t(n, c.vocab)}"]
    if with_targets:
        args.append(f"%targets: {t(n, c.vocab)}")
    args += [f"{ssa_name(name)}: {t(*shape)} {{qat.param}}"
             for name, shape, _ in params(c)]
    return ",\n    ".join(args)


def loss_module(c):
    e = Emitter()
    n, V = c.batch * c.context, c.vocab
    logits = body(e, c, c.batch)
    mx = e.reduce("maximumf", logits, (n, V), 1, "%ninf", "max")
    sh = e.binary("subf", logits, e.broadcast(mx, (n,), (n, V), [1], "maxb"),
                  (n, V), "shifted")
    ex = e.elementwise(["%r = math.exp %a0 : f32"], [sh], (n, V), "exp")
    lse = e.elementwise(["%r = math.log %a0 : f32"],
                        [e.reduce("addf", ex, (n, V), 1, "%zero", "z")], (n,),
                        "lse")
    picked = e.reduce("addf", e.binary("mulf", "%targets", sh, (n, V), "ty"),
                      (n, V), 1, "%zero", "picked")
    nll = e.binary("subf", lse, picked, (n,), "nll")
    total = e.reduce("addf", nll, (n,), 0, "%zero", "total")
    loss = e.scaled(total, 1.0 / n, (), "loss")
    e(f"return {loss} : tensor<f32>")
    return (f"func.func @transformer_loss(\n    {signature(c, c.batch, True)})"
            f"\n    -> tensor<f32> {{\n" + "\n".join(e.lines) + "\n}\n")


def logits_module(c):
    e = Emitter()
    logits = body(e, c, 1)
    e(f"return {logits} : {t(c.context, c.vocab)}")
    return (f"func.func @transformer_logits(\n    {signature(c, 1, False)})"
            f"\n    -> {t(c.context, c.vocab)} {{\n" + "\n".join(e.lines) +
            "\n}\n")


HEADER = """\
// Generated by examples/transformer/generate.py {args}; do not edit.
// A decoder-only transformer ({desc}), float forward in func + linalg on
// tensors + tensor + arith + math, as a frontend emits it: no qat op.
// Trainable weights are the arguments marked {{qat.param}}.

"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    d = Config()
    for k, v in d.as_dict().items():
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    ap.add_argument("--out-dir", type=pathlib.Path,
                    default=pathlib.Path(__file__).resolve().parent)
    a = ap.parse_args()
    c = Config(**{k: getattr(a, k) for k in d.as_dict()})
    if c.d_model % c.heads:
        ap.error(f"d_model {c.d_model} is not a multiple of heads {c.heads}")
    given = " ".join(f"--{k.replace('_', '-')}={v}"
                     for k, v in c.as_dict().items() if v != d.as_dict()[k])
    desc = (f"{c.layers} layers, d_model {c.d_model}, {c.heads} heads, mlp "
            f"{c.mlp}, context {c.context}, vocab {c.vocab}")
    head = HEADER.format(args=given or "(defaults)", desc=desc)
    a.out_dir.mkdir(parents=True, exist_ok=True)
    (a.out_dir / "transformer.mlir").write_text(
        head + f"// Batch of {c.batch} sequences.\n" + loss_module(c))
    (a.out_dir / "transformer_logits.mlir").write_text(
        head + "// One sequence, for sampling.\n" + logits_module(c))
    (a.out_dir / "transformer.json").write_text(json.dumps(
        {"config": c.as_dict(),
         "params": [{"name": n, "shape": list(s), "init": list(i)}
                    for n, s, i in params(c)]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
