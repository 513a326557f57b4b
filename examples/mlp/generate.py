#!/usr/bin/env python3
"""Writes examples/mlp/train.mlir: a two-layer MLP trained on a synthetic
teacher-student task, one training function per QAT method.

The MLIR is generated because the four methods share the MLP, the loss, the
data pipeline and the training loop and differ only in how a linear layer is
quantized forward and differentiated backward; the generated file is the
readable artifact (regenerate with `examples/mlp/generate.py`, a test checks
it is current).

Model: x[64x128] -> linear(256) -> relu -> linear(32) -> y, MSE loss against
a fixed random teacher MLP of the same shape, plain SGD.
"""

import argparse
import pathlib

B, D, H, O = 64, 128, 256, 32      # batch, input, hidden, output
N = 1024                           # samples in the data set
STEPS, PRINT_EVERY = 300, 25       # --steps and --print-every change them

MM_NT = "[affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]"
MM_NN = "[affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]"
MM_TN = "[affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]"


def t(*shape):
    return "tensor<" + "x".join(map(str, shape)) + "xf32>"


class Emitter:
    def __init__(self):
        self.lines, self.n = [], 0

    def fresh(self, hint):
        self.n += 1
        return f"%{hint}{self.n}"

    def __call__(self, line):
        self.lines.append("  " + line)

    def matmul(self, maps, a, at, b, bt, m, n):
        zero = self.fresh("z")
        out = self.fresh("mm")
        self(f"{zero}e = tensor.empty() : {t(m, n)}")
        self(f"{zero} = linalg.fill ins(%zero : f32) outs({zero}e : {t(m, n)}) -> {t(m, n)}")
        self(f"{out} = linalg.matmul indexing_maps = {maps} ins({a}, {b} : {at}, {bt}) "
             f"outs({zero} : {t(m, n)}) -> {t(m, n)}")
        return out

    def elementwise(self, body, ins, shape, hint):
        """body: list of lines using %a0.. for inputs, must define %r."""
        out = self.fresh(hint)
        rank = len(shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        idmap = f"affine_map<({dims}) -> ({dims})>"
        empty = self.fresh("e")
        self(f"{empty} = tensor.empty() : {t(*shape)}")
        args = ", ".join(f"%a{i}: f32" for i in range(len(ins)))
        maps = ", ".join([idmap] * (len(ins) + 1))
        iterators = ", ".join(['"parallel"'] * rank)
        self(f"{out} = linalg.generic {{indexing_maps = [{maps}], iterator_types = [{iterators}]}}")
        self(f"    ins({', '.join(ins)} : {', '.join([t(*shape)] * len(ins))}) outs({empty} : {t(*shape)}) {{")
        self(f"  ^bb0({args}, %unused: f32):")
        for line in body:
            self("    " + line)
        self("    linalg.yield %r : f32")
        self(f"  }} -> {t(*shape)}")
        return out


# --- How each method quantizes a linear layer y = x w^T ----------------------


class Float:
    name, summary = "fp32", "no quantization (the reference curve)"
    params = 1

    def forward(self, e, x, w, p, k, n):
        return e.matmul(MM_NT, x, t(B, k), w, t(n, k), B, n), {}

    def backward(self, e, dy, x, w, p, saved, k, n):
        dx = e.matmul(MM_NN, dy, t(B, n), w, t(n, k), B, k)
        dw = e.matmul(MM_TN, dy, t(B, n), x, t(B, k), n, k)
        return dx, [dw]


class Quest:
    name = "quest"
    summary = "QuEST W4A4: Hadamard 128, rms_gaussian clip, int4 qat.matmul forward, trust backward"
    params = 1
    Q = "#quest_w4a4"

    def forward(self, e, x, w, p, k, n):
        xh, wh = e.fresh("xh"), e.fresh("wh")
        e(f"{xh} = qat.hadamard {x} block 128 : {t(B, k)}")
        e(f"{wh} = qat.hadamard {w} block 128 : {t(n, k)}")
        sx, sw = e.fresh("sx"), e.fresh("sw")
        e(f"{sx} = qat.scale {xh} as {self.Q} : {t(B, k)} -> {t(B, 1)}")
        e(f"{sw} = qat.scale {wh} as {self.Q} : {t(n, k)} -> {t(n, 1)}")
        qx, qw, y = e.fresh("qx"), e.fresh("qw"), e.fresh("y")
        e(f"{qx} = qat.quantize {xh}, {sx} as {self.Q} packed : {t(B, k)}, {t(B, 1)} -> tensor<{B}x{k // 2}xi8>")
        e(f"{qw} = qat.quantize {wh}, {sw} as {self.Q} packed : {t(n, k)}, {t(n, 1)} -> tensor<{n}x{k // 2}xi8>")
        e(f"{y} = qat.matmul {qx}, {qw}, {sx}, {sw} as {self.Q}, {self.Q} packed : "
          f"tensor<{B}x{k // 2}xi8>, tensor<{n}x{k // 2}xi8>, {t(B, 1)}, {t(n, 1)} -> {t(B, n)}")
        return y, dict(xh=xh, wh=wh, sx=sx, sw=sw)

    def backward(self, e, dy, x, w, p, s, k, n):
        xq, wq = e.fresh("xq"), e.fresh("wq")
        e(f"{xq} = qat.fake_quant {s['xh']}, {s['sx']} as {self.Q} with trust : {t(B, k)}, {t(B, 1)}")
        e(f"{wq} = qat.fake_quant {s['wh']}, {s['sw']} as {self.Q} with trust : {t(n, k)}, {t(n, 1)}")
        dxq = e.matmul(MM_NN, dy, t(B, n), wq, t(n, k), B, k)
        dwq = e.matmul(MM_TN, dy, t(B, n), xq, t(B, k), n, k)
        dxh, dwh, dx, dw = (e.fresh(h) for h in ("dxh", "dwh", "dx", "dw"))
        e(f"{dxh} = qat.fake_quant_grad {dxq}, {s['xh']}, {s['sx']} as {self.Q} with trust : {t(B, k)}, {t(B, 1)}")
        e(f"{dwh} = qat.fake_quant_grad {dwq}, {s['wh']}, {s['sw']} as {self.Q} with trust : {t(n, k)}, {t(n, 1)}")
        e(f"{dx} = qat.hadamard {dxh} block 128 : {t(B, k)}")
        e(f"{dw} = qat.hadamard {dwh} block 128 : {t(n, k)}")
        return dx, [dw]


class StableQAT:
    params = 2  # weight and its learned per-row step

    def __init__(self, bits):
        self.bits = bits
        self.name = f"stableqat_w{bits}"
        self.summary = (f"StableQAT W{bits}: LSQ learned per-row step, Fourier "
                        "surrogate (a = 0.21), float activations")
        self.Q = f"#lsq_w{bits}"

    def init_step(self, e, w, n, k):
        """LSQ starts from a data-derived step: absmax / qp per row."""
        s = e.fresh("s")
        q = f"#lsq_w{self.bits}_init"
        e(f"{s} = qat.scale {w} as {q} : {t(n, k)} -> {t(n, 1)}")
        return s

    def forward(self, e, x, w, s, k, n):
        wq = e.fresh("wq")
        e(f"{wq} = qat.fake_quant {w}, {s} as {self.Q} with fourier : {t(n, k)}, {t(n, 1)}")
        return e.matmul(MM_NT, x, t(B, k), wq, t(n, k), B, n), dict(wq=wq)

    def backward(self, e, dy, x, w, s, saved, k, n):
        dx = e.matmul(MM_NN, dy, t(B, n), saved["wq"], t(n, k), B, k)
        dwq = e.matmul(MM_TN, dy, t(B, n), x, t(B, k), n, k)
        dw, ds = e.fresh("dw"), e.fresh("ds")
        e(f"{dw}, {ds} = qat.fake_quant_grad {dwq}, {w}, {s} as {self.Q} with fourier : "
          f"{t(n, k)}, {t(n, 1)} -> {t(n, 1)}")
        return dx, [dw, ds]


class Ste:
    name = "ste"
    summary = "plain STE W4A4: absmax per-row steps on the signed grid, straight-through backward"
    params = 1
    Q = "#ste_w4a4"

    def forward(self, e, x, w, p, k, n):
        sx, sw, xq, wq = (e.fresh(h) for h in ("sx", "sw", "xq", "wq"))
        e(f"{sx} = qat.scale {x} as {self.Q} : {t(B, k)} -> {t(B, 1)}")
        e(f"{sw} = qat.scale {w} as {self.Q} : {t(n, k)} -> {t(n, 1)}")
        e(f"{xq} = qat.fake_quant {x}, {sx} as {self.Q} with ste : {t(B, k)}, {t(B, 1)}")
        e(f"{wq} = qat.fake_quant {w}, {sw} as {self.Q} with ste : {t(n, k)}, {t(n, 1)}")
        y = e.matmul(MM_NT, xq, t(B, k), wq, t(n, k), B, n)
        return y, dict(x=x, w=w, sx=sx, sw=sw, xq=xq, wq=wq)

    def backward(self, e, dy, x, w, p, s, k, n):
        dxq = e.matmul(MM_NN, dy, t(B, n), s["wq"], t(n, k), B, k)
        dwq = e.matmul(MM_TN, dy, t(B, n), s["xq"], t(B, k), n, k)
        dx, dw = e.fresh("dx"), e.fresh("dw")
        e(f"{dx} = qat.fake_quant_grad {dxq}, {x}, {s['sx']} as {self.Q} with ste : {t(B, k)}, {t(B, 1)}")
        e(f"{dw} = qat.fake_quant_grad {dwq}, {w}, {s['sw']} as {self.Q} with ste : {t(n, k)}, {t(n, 1)}")
        return dx, [dw]


# --- The training function ----------------------------------------------------


def sgd(e, param, grad, shape):
    return e.elementwise(["%g = arith.mulf %lr, %a1 : f32", "%r = arith.subf %a0, %g : f32"],
                         [param, grad], shape, "upd")


def train_function(method):
    e = Emitter()
    layers = [(D, H), (H, O)]  # (in, out) of each linear layer
    state = []  # loop-carried parameters: per layer [w] or [w, s]
    ptypes = []
    for i, (k, n) in enumerate(layers):
        state.append(f"%w{i + 1}")
        ptypes.append(t(n, k))
        if method.params == 2:
            state.append(method.init_step(e, f"%w{i + 1}", n, k))
            ptypes.append(t(n, 1))

    # Targets of the teacher, computed once: y = relu(x t1^T) t2^T.
    th = e.matmul(MM_NT, "%data", t(N, D), "%t1", t(H, D), N, H)
    thr = e.elementwise(["%r = arith.maximumf %a0, %zero : f32"], [th], (N, H), "relu")
    targets = e.matmul(MM_NT, thr, t(N, H), "%t2", t(O, H), N, O)

    iters = ", ".join(f"%p{j} = {v}" for j, v in enumerate(state))
    results = ", ".join(ptypes)
    e(f"%trained:{len(state)} = scf.for %step = %c0 to %steps step %c1 iter_args({iters}) -> ({results}) {{")
    e("  %batch = arith.remui %step, %batches : index")
    e("  %row = arith.muli %batch, %batchSize : index")
    e(f"  %x = tensor.extract_slice %data[%row, 0] [{B}, {D}] [1, 1] : {t(N, D)} to {t(B, D)}")
    e(f"  %target = tensor.extract_slice {targets}[%row, 0] [{B}, {O}] [1, 1] : {t(N, O)} to {t(B, O)}")
    per = method.params
    p = [[f"%p{i * per + j}" for j in range(per)] for i in range(2)]
    w1, w2 = p[0][0], p[1][0]
    extra1 = p[0][1] if per == 2 else None
    extra2 = p[1][1] if per == 2 else None

    # Forward.
    z1, saved1 = method.forward(e, "%x", w1, extra1, D, H)
    h = e.elementwise(["%r = arith.maximumf %a0, %zero : f32"], [z1], (B, H), "h")
    y, saved2 = method.forward(e, h, w2, extra2, H, O)
    # Loss and dy.
    dy = e.elementwise([f"%d = arith.subf %a0, %a1 : f32",
                        f"%c = arith.constant {2.0 / (B * O)!r} : f32",
                        "%r = arith.mulf %d, %c : f32"], [y, "%target"], (B, O), "dy")
    # Backward.
    dh, grads2 = method.backward(e, dy, h, w2, extra2, saved2, H, O)
    dz1 = e.elementwise(["%pos = arith.cmpf ogt, %a1, %zero : f32",
                         "%r = arith.select %pos, %a0, %zero : f32"], [dh, z1], (B, H), "dz")
    _, grads1 = method.backward(e, dz1, "%x", w1, extra1, saved1, D, H)
    # Update.
    updated = []
    for params, grads, (k, n) in ((p[0], grads1, layers[0]), (p[1], grads2, layers[1])):
        updated.append(sgd(e, params[0], grads[0], (n, k)))
        if per == 2:
            updated.append(sgd(e, params[1], grads[1], (n, 1)))
    # Report the loss every PRINT_EVERY steps and at the last one.
    e("  %report = arith.remui %step, %printEvery : index")
    e("  %isReport = arith.cmpi eq, %report, %c0 : index")
    e("  %isLast = arith.cmpi eq, %step, %lastStep : index")
    e("  %print = arith.ori %isReport, %isLast : i1")
    e("  scf.if %print {")
    sse = e.fresh("sse")
    e(f"    {sse}i = linalg.fill ins(%zero : f32) outs(%scalar : tensor<f32>) -> tensor<f32>")
    e(f"    {sse} = linalg.generic {{indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> ()>], iterator_types = [\"reduction\", \"reduction\"]}}")
    e(f"        ins({y}, %target : {t(B, O)}, {t(B, O)}) outs({sse}i : tensor<f32>) {{")
    e("    ^bb0(%yv: f32, %tv: f32, %acc: f32):")
    e("      %d = arith.subf %yv, %tv : f32")
    e("      %sq = arith.mulf %d, %d : f32")
    e("      %sum = arith.addf %acc, %sq : f32")
    e("      linalg.yield %sum : f32")
    e("    } -> tensor<f32>")
    e(f"    %sumv = tensor.extract {sse}[] : tensor<f32>")
    e(f"    %mean = arith.divf %sumv, %count : f32")
    e(f"    vector.print str \"{method.name} step \"")
    e("    vector.print %step : index punctuation <no_punctuation>")
    e("    vector.print str \"  loss \"")
    e("    vector.print %mean : f32")
    e("  }")
    e(f"  scf.yield {', '.join(updated)} : {results}")
    e("}")
    outs = ", ".join(f"%trained#{j}" for j in range(len(state)))
    e(f"return {outs} : {results}")

    header = [
        f"// {method.name}: {method.summary}.",
        f"func.func @train_{method.name}(%data: {t(N, D)}, %t1: {t(H, D)}, %t2: {t(O, H)},",
        f"    %w1: {t(H, D)}, %w2: {t(O, H)}, %lr: f32) -> ({results}) {{",
        "  %zero = arith.constant 0.0 : f32",
        f"  %count = arith.constant {float(B * O)!r} : f32",
        "  %c0 = arith.constant 0 : index",
        "  %c1 = arith.constant 1 : index",
        f"  %steps = arith.constant {STEPS} : index",
        f"  %lastStep = arith.constant {STEPS - 1} : index",
        f"  %batches = arith.constant {N // B} : index",
        f"  %batchSize = arith.constant {B} : index",
        f"  %printEvery = arith.constant {PRINT_EVERY} : index",
        "  %scalar = tensor.empty() : tensor<f32>",
    ]
    return "\n".join(header + e.lines + ["}", ""])


METHODS = [Float(), Quest(), StableQAT(2), StableQAT(3), StableQAT(4), Ste()]


def main():
    global STEPS, PRINT_EVERY
    ap = argparse.ArgumentParser(description="Writes examples/mlp/train.mlir.")
    ap.add_argument("--steps", type=int, default=STEPS,
                    help="training steps (test/Training/mlp-reference.test runs a few)")
    ap.add_argument("--print-every", type=int, default=PRINT_EVERY)
    ap.add_argument("--method", action="append", choices=[m.name for m in METHODS],
                    help="emit only these training functions (default: all)")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).with_name("train.mlir"))
    args = ap.parse_args()
    if args.steps < 1 or args.print_every < 1:
        ap.error("--steps and --print-every must be at least 1")
    STEPS, PRINT_EVERY = args.steps, args.print_every
    text = [
        "// Generated by examples/mlp/generate.py; edit that file, not this one.",
        "//",
        f"// A two-layer MLP ({D} -> {H} -> relu -> {O}) trained for {STEPS} SGD steps of batch {B}",
        f"// on a synthetic teacher-student task ({N} inputs, targets from a fixed random MLP of",
        "// the same shape), once per quantization method. Each function prints the loss",
        f"// every {PRINT_EVERY} steps and returns the trained parameters.",
        "//",
        "// Arguments: data, teacher weights t1 and t2, initial student weights w1 and w2, and",
        "// the learning rate. Run with qat-run (see docs/training.md).",
        "",
        "// Quantizers. In op position a quantizer is written through an alias or in",
        "// the short form <...>.",
        "#quest_w4a4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>",
        "#ste_w4a4 = #qat.quantizer<signed, 4 bits, absmax, per_row>",
    ]
    for bits in (2, 3, 4):
        text.append(f"#lsq_w{bits} = #qat.quantizer<signed, {bits} bits, learned, per_row>")
        text.append(f"#lsq_w{bits}_init = #qat.quantizer<signed, {bits} bits, absmax, per_row>")
    text.append("")
    text += [train_function(m) for m in METHODS if not args.method or m.name in args.method]
    args.out.write_text("\n".join(text))


if __name__ == "__main__":
    main()
