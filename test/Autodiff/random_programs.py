"""Gradient checks of qat-differentiate on random float programs.

Each program is a random composition of the ops qat-differentiate covers
(linalg.generic with arith/math bodies, sum and max reductions, the linalg
named ops, tensor slicing/reshaping/concatenation/padding) on random odd
shapes, in f64, with a scalar loss. Its generated gradients must match
central finite differences of the forward (both compiled for the CPU). A
failing program is printed; rerun with its seed to replay it.

Usage: random_programs.py [COUNT] [SEED]
"""

import os
import re
import sys

import numpy as np

import qat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradcheck_lib  # noqa: E402

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 8
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int.from_bytes(os.urandom(4), "little")


def ttype(shape):
    return "tensor<" + "".join(f"{d}x" for d in shape) + "f64>"


def imap(dims, results):
    names = [f"d{i}" for i in range(dims)]
    return f"affine_map<({', '.join(names)}) -> ({', '.join(names[r] for r in results)})>"


# Scalar bodies of unary elementwise ops, kept bounded so that chains of them
# stay in a range where f64 central differences are accurate.
UNARY = {
    "tanh": ["%r = math.tanh %a : f64"],
    "erf": ["%r = math.erf %a : f64"],
    "exp_tanh": ["%t = math.tanh %a : f64", "%r = math.exp %t : f64"],
    "log1p_sq": ["%s = arith.mulf %a, %a : f64", "%one = arith.constant 1.0 : f64",
                 "%u = arith.addf %s, %one : f64", "%r = math.log %u : f64"],
    "sqrt": ["%s = arith.mulf %a, %a : f64", "%one = arith.constant 1.0 : f64",
             "%u = arith.addf %s, %one : f64", "%r = math.sqrt %u : f64"],
    "rsqrt": ["%s = arith.mulf %a, %a : f64", "%one = arith.constant 1.0 : f64",
              "%u = arith.addf %s, %one : f64", "%r = math.rsqrt %u : f64"],
    "powf": ["%s = arith.mulf %a, %a : f64", "%one = arith.constant 1.0 : f64",
             "%u = arith.addf %s, %one : f64", "%e = arith.constant 0.75 : f64",
             "%r = math.powf %u, %e : f64"],
    "neg": ["%r = arith.negf %a : f64"],
    "leaky_relu": ["%z = arith.constant 0.0 : f64", "%c = arith.cmpf ogt, %a, %z : f64",
                   "%h = arith.constant 0.25 : f64", "%s = arith.mulf %a, %h : f64",
                   "%r = arith.select %c, %a, %s : f64"],
    "relu_max": ["%z = arith.constant 0.0 : f64", "%r = arith.maximumf %a, %z : f64"],
    "clamp_min": ["%z = arith.constant 0.5 : f64", "%r = arith.minnumf %a, %z : f64"],
    "rational": ["%s = arith.mulf %a, %a : f64", "%one = arith.constant 1.0 : f64",
                 "%u = arith.addf %s, %one : f64", "%r = arith.divf %a, %u : f64"],
    "gelu": ["%h = arith.constant 0.5 : f64", "%one = arith.constant 1.0 : f64",
             "%k = arith.constant 0.7071067811865476 : f64", "%s = arith.mulf %a, %k : f64",
             "%e = math.erf %s : f64", "%e1 = arith.addf %e, %one : f64",
             "%ha = arith.mulf %a, %h : f64", "%r = arith.mulf %ha, %e1 : f64"],
}
BINARY = {
    "add": ["%r = arith.addf %a, %b : f64"],
    "sub": ["%r = arith.subf %a, %b : f64"],
    "mul": ["%r = arith.mulf %a, %b : f64"],
    "max": ["%r = arith.maximumf %a, %b : f64"],
    "min": ["%r = arith.minimumf %a, %b : f64"],
    "maxnum": ["%r = arith.maxnumf %a, %b : f64"],
    "div": ["%s = arith.mulf %b, %b : f64", "%one = arith.constant 1.0 : f64",
            "%u = arith.addf %s, %one : f64", "%r = arith.divf %a, %u : f64"],
}
NAMED_BINARY = ["linalg.add", "linalg.sub", "linalg.mul", "linalg.max", "linalg.min"]


class Program:
    def __init__(self, rng):
        self.rng = rng
        self.lines = []
        self.count = 0
        odd = [1, 3, 5, 7]
        self.m, self.n, self.k = (int(rng.choice(odd[1:])) for _ in range(3))
        m, n, k = self.m, self.n, self.k
        # Arguments: one input that is not differentiated, five parameters.
        self.args = [("%x", (m, n), False), ("%pa", (m, n), True), ("%pb", (n,), True),
                     ("%pc", (n, k), True), ("%pd", (k, n), True), ("%pe", (3, n, k), True)]
        self.pool = [("%x", (m, n)), ("%pa", (m, n))]
        self.unused_params = ["%pb", "%pc", "%pd", "%pe"]
        self.ops = []

    def fresh(self):
        self.count += 1
        return f"%v{self.count}"

    def emit(self, line):
        self.lines.append("  " + line)

    def empty(self, shape):
        name = self.fresh()
        self.emit(f"{name} = tensor.empty() : {ttype(shape)}")
        return name

    def zeros(self, shape, value="0.0"):
        e = self.empty(shape)
        c = self.fresh()
        self.emit(f"{c} = arith.constant {value} : f64")
        name = self.fresh()
        self.emit(f"{name} = linalg.fill ins({c} : f64) outs({e} : {ttype(shape)}) -> {ttype(shape)}")
        return name

    def generic(self, ins, out_shape, maps, iterators, body, out_init=None):
        """ins: [(name, shape)]; body lines use %a, %b, ... and define %r."""
        init = out_init or self.empty(out_shape)
        name = self.fresh()
        args = ", ".join(f"%{chr(97 + i)}: f64" for i in range(len(ins)))
        self.emit(f"{name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
                  f"iterator_types = [{', '.join(repr(i).replace(chr(39), chr(34)) for i in iterators)}]}} "
                  f"ins({', '.join(v for v, _ in ins)} : {', '.join(ttype(s) for _, s in ins)}) "
                  f"outs({init} : {ttype(out_shape)}) {{")
        self.emit(f"^bb0({args}, %acc: f64):")
        for line in body:
            self.emit("  " + line)
        self.emit("  linalg.yield %r : f64")
        self.emit(f"}} -> {ttype(out_shape)}")
        return name

    def pick(self, shape=None):
        cands = [v for v in self.pool if shape is None or v[1] == shape]
        return cands[self.rng.integers(len(cands))] if cands else None

    def add(self, name, shape, op):
        self.pool.append((name, shape))
        self.ops.append(op)

    def param(self, name):
        if name in self.unused_params:
            self.unused_params.remove(name)
        return name

    # --- templates ------------------------------------------------------
    def t_unary(self):
        v, s = self.pick()
        kind = self.rng.choice(list(UNARY))
        r = self.generic([(v, s)], s, [imap(len(s), range(len(s)))] * 2,
                         ["parallel"] * len(s), UNARY[kind])
        self.add(r, s, f"generic {kind}")

    def t_binary(self):
        v, s = self.pick()
        w, _ = self.pick(s)
        kind = self.rng.choice(list(BINARY))
        r = self.generic([(v, s), (w, s)], s, [imap(len(s), range(len(s)))] * 3,
                         ["parallel"] * len(s), BINARY[kind])
        self.add(r, s, f"generic {kind}")

    def t_named(self):
        v, s = self.pick()
        w, _ = self.pick(s)
        op = self.rng.choice(NAMED_BINARY)
        e = self.empty(s)
        r = self.fresh()
        self.emit(f"{r} = {op} ins({v}, {w} : {ttype(s)}, {ttype(s)}) outs({e} : {ttype(s)}) -> {ttype(s)}")
        self.add(r, s, op)

    def t_named_unary(self):
        v, s = self.pick()
        e = self.empty(s)
        r = self.fresh()
        op = self.rng.choice(["linalg.tanh", "linalg.erf", "linalg.negf", "linalg.square",
                              "linalg.abs", "elementwise<tanh>", "elementwise<square>"])
        if op.startswith("elementwise"):
            kind = op[len("elementwise<"):-1]
            self.emit(f"{r} = linalg.elementwise kind=#linalg.elementwise_kind<{kind}> "
                      f"ins({v} : {ttype(s)}) outs({e} : {ttype(s)}) -> {ttype(s)}")
        else:
            self.emit(f"{r} = {op} ins({v} : {ttype(s)}) outs({e} : {ttype(s)}) -> {ttype(s)}")
        self.add(r, s, op)

    def t_bias(self):
        # (m, n) + pb[n], broadcast through the indexing map.
        v, s = self.pick((self.m, self.n))
        r = self.generic([(v, s), (self.param("%pb"), (self.n,))], s,
                         [imap(2, [0, 1]), imap(2, [1]), imap(2, [0, 1])],
                         ["parallel"] * 2, ["%r = arith.addf %a, %b : f64"])
        self.add(r, s, "generic broadcast add")

    def t_broadcast_named(self):
        e = self.empty((self.m, self.n))
        r = self.fresh()
        self.emit(f"{r} = linalg.broadcast ins({self.param('%pb')} : {ttype((self.n,))}) "
                  f"outs({e} : {ttype((self.m, self.n))}) dimensions = [0]")
        self.add(r, (self.m, self.n), "linalg.broadcast")

    def t_matmul(self):
        m, n, k = self.m, self.n, self.k
        v, _ = self.pick((m, n))
        form = self.rng.integers(3)
        z = self.zeros((m, k))
        r = self.fresh()
        if form == 0:
            self.emit(f"{r} = linalg.matmul ins({v}, {self.param('%pc')} : {ttype((m, n))}, {ttype((n, k))}) "
                      f"outs({z} : {ttype((m, k))}) -> {ttype((m, k))}")
        elif form == 1:
            # A read transposed from an (n x m) value through indexing maps.
            e = self.empty((n, m))
            t = self.fresh()
            self.emit(f"{t} = linalg.transpose ins({v} : {ttype((m, n))}) outs({e} : {ttype((n, m))}) permutation = [1, 0]")
            maps = f"[{imap(3, [2, 0])}, {imap(3, [2, 1])}, {imap(3, [0, 1])}]"
            self.emit(f"{r} = linalg.matmul indexing_maps = {maps} ins({t}, {self.param('%pc')} : "
                      f"{ttype((n, m))}, {ttype((n, k))}) outs({z} : {ttype((m, k))}) -> {ttype((m, k))}")
        else:
            # B stored transposed (k x n), read through indexing maps.
            maps = f"[{imap(3, [0, 2])}, {imap(3, [1, 2])}, {imap(3, [0, 1])}]"
            self.emit(f"{r} = linalg.matmul indexing_maps = {maps} ins({v}, {self.param('%pd')} : "
                      f"{ttype((m, n))}, {ttype((k, n))}) outs({z} : {ttype((m, k))}) -> {ttype((m, k))}")
        # Back to (m, n) with a transposed-A matmul: (k, m)^T-free form via maps.
        z2 = self.zeros((m, n))
        r2 = self.fresh()
        maps = f"[{imap(3, [0, 2])}, {imap(3, [2, 1])}, {imap(3, [0, 1])}]"
        self.emit(f"{r2} = linalg.matmul indexing_maps = {maps} ins({r}, {self.param('%pd')} : "
                  f"{ttype((m, k))}, {ttype((k, n))}) outs({z2} : {ttype((m, n))}) -> {ttype((m, n))}")
        self.add(r2, (m, n), f"linalg.matmul form {form} + matmul")

    def t_batch_matmul(self):
        m, n, k = self.m, self.n, self.k
        v, _ = self.pick((m, n))
        e = self.empty((3, m, n))
        b = self.fresh()
        self.emit(f"{b} = linalg.broadcast ins({v} : {ttype((m, n))}) outs({e} : {ttype((3, m, n))}) dimensions = [0]")
        z = self.zeros((3, m, k))
        r = self.fresh()
        self.emit(f"{r} = linalg.batch_matmul ins({b}, {self.param('%pe')} : {ttype((3, m, n))}, {ttype((3, n, k))}) "
                  f"outs({z} : {ttype((3, m, k))}) -> {ttype((3, m, k))}")
        z2 = self.zeros((m, k))
        s = self.fresh()
        self.emit(f"{s} = linalg.reduce ins({r} : {ttype((3, m, k))}) outs({z2} : {ttype((m, k))}) dimensions = [0]")
        self.emit("  (%in: f64, %init: f64) {")
        self.emit("    %t = arith.addf %in, %init : f64")
        self.emit("    linalg.yield %t : f64")
        self.emit("  }")
        z3 = self.zeros((m, n))
        r3 = self.fresh()
        self.emit(f"{r3} = linalg.matmul ins({s}, {self.param('%pd')} : {ttype((m, k))}, {ttype((k, n))}) "
                  f"outs({z3} : {ttype((m, n))}) -> {ttype((m, n))}")
        self.add(r3, (m, n), "broadcast + batch_matmul + reduce")

    def t_transpose(self):
        v, s = self.pick((self.m, self.n))
        e = self.empty((self.n, self.m))
        r = self.fresh()
        self.emit(f"{r} = linalg.transpose ins({v} : {ttype(s)}) outs({e} : {ttype((self.n, self.m))}) permutation = [1, 0]")
        e2 = self.empty(s)
        r2 = self.fresh()
        self.emit(f"{r2} = linalg.copy ins({v} : {ttype(s)}) outs({e2} : {ttype(s)}) -> {ttype(s)}")
        # Multiply the transposed value back in through a transposing map.
        r3 = self.generic([(r2, s), (r, (self.n, self.m))], s,
                          [imap(2, [0, 1]), imap(2, [1, 0]), imap(2, [0, 1])],
                          ["parallel"] * 2, BINARY["mul"])
        self.add(r3, s, "transpose + copy")

    def t_softmax(self):
        # Row max, exp(x - max), row sum, normalize: max and sum reductions.
        m, n = self.m, self.n
        v, s = self.pick((m, n))
        ninf = self.zeros((m,), "0xFFF0000000000000")
        mx = self.generic([(v, s)], (m,), [imap(2, [0, 1]), imap(2, [0])],
                          ["parallel", "reduction"], ["%r = arith.maximumf %acc, %a : f64"], ninf)
        e = self.generic([(v, s), (mx, (m,))], s, [imap(2, [0, 1]), imap(2, [0]), imap(2, [0, 1])],
                         ["parallel"] * 2, ["%d = arith.subf %a, %b : f64", "%r = math.exp %d : f64"])
        z = self.zeros((m,))
        sm = self.generic([(e, s)], (m,), [imap(2, [0, 1]), imap(2, [0])],
                          ["parallel", "reduction"], ["%r = arith.addf %acc, %a : f64"], z)
        p = self.generic([(e, s), (sm, (m,))], s, [imap(2, [0, 1]), imap(2, [0]), imap(2, [0, 1])],
                         ["parallel"] * 2, ["%r = arith.divf %a, %b : f64"])
        self.add(p, s, "softmax (max + sum reductions)")

    def t_slices(self):
        m, n = self.m, self.n
        v, s = self.pick((m, n))
        w, _ = self.pick((m, n))
        # A slice of w, doubled, written into v at an offset.
        rows, cols = max(1, m - 1), max(1, n - 2)
        sl = self.fresh()
        self.emit(f"{sl} = tensor.extract_slice {w}[0, 1] [{rows}, {cols}] [1, 1] : {ttype(s)} to {ttype((rows, cols))}")
        d = self.generic([(sl, (rows, cols))], (rows, cols), [imap(2, [0, 1])] * 2,
                         ["parallel"] * 2, ["%r = arith.mulf %a, %a : f64"])
        r = self.fresh()
        self.emit(f"{r} = tensor.insert_slice {d} into {v}[1, 0] [{rows}, {cols}] [1, 1] : {ttype((rows, cols))} into {ttype(s)}")
        self.add(r, s, "extract_slice + insert_slice")

    def t_reshape(self):
        m, n = self.m, self.n
        v, s = self.pick((m, n))
        c = self.fresh()
        self.emit(f"{c} = tensor.collapse_shape {v} [[0, 1]] : {ttype(s)} into {ttype((m * n,))}")
        t = self.generic([(c, (m * n,))], (m * n,), [imap(1, [0])] * 2, ["parallel"],
                         UNARY["tanh"])
        r = self.fresh()
        self.emit(f"{r} = tensor.expand_shape {t} [[0, 1]] output_shape [{m}, {n}] : {ttype((m * n,))} into {ttype(s)}")
        self.add(r, s, "collapse_shape + expand_shape")

    def t_collapse3(self):
        # The rank-3 parameter collapsed along either pair of dimensions, a
        # nonlinearity on the flat view, and the inverse reshape.
        n, k = self.n, self.k
        s = (3, n, k)
        if self.rng.integers(2):
            groups, flat = "[[0, 1], [2]]", (3 * n, k)
        else:
            groups, flat = "[[0], [1, 2]]", (3, n * k)
        c = self.fresh()
        self.emit(f"{c} = tensor.collapse_shape {self.param('%pe')} {groups} : {ttype(s)} into {ttype(flat)}")
        t = self.generic([(c, flat)], flat, [imap(2, [0, 1])] * 2, ["parallel"] * 2, UNARY["erf"])
        r = self.fresh()
        self.emit(f"{r} = tensor.expand_shape {t} {groups} output_shape [3, {n}, {k}] : {ttype(flat)} into {ttype(s)}")
        self.add(r, s, f"collapse_shape {groups} + expand_shape")

    def t_concat_pad(self):
        # Two or three (m, n) values (repeats allowed: their adjoints add up),
        # the first possibly sliced shorter, concatenated along a random
        # dimension, padded by random amounts with a random constant, and a
        # random (m, n) window of the result.
        m, n = self.m, self.n
        s = (m, n)
        dim = int(self.rng.integers(2))
        parts = []
        for _ in range(int(self.rng.integers(2, 4))):
            v, _ = self.pick(s)
            parts.append((v, s))
        short_first = bool(self.rng.integers(2))
        if short_first:
            v, vs = parts[0]
            short = list(vs)
            short[dim] -= 2
            offsets = [0, 0]
            offsets[dim] = 1
            sl = self.fresh()
            self.emit(f"{sl} = tensor.extract_slice {v}[{offsets[0]}, {offsets[1]}] [{short[0]}, {short[1]}] [1, 1] "
                      f": {ttype(vs)} to {ttype(short)}")
            parts[0] = (sl, tuple(short))
        cs = list(s)
        cs[dim] = sum(ps[dim] for _, ps in parts)
        c = self.fresh()
        self.emit(f"{c} = tensor.concat dim({dim}) {', '.join(v for v, _ in parts)} : "
                  f"({', '.join(ttype(ps) for _, ps in parts)}) -> {ttype(cs)}")
        low = [int(x) for x in self.rng.integers(0, 3, 2)]
        high = [int(x) for x in self.rng.integers(0, 3, 2)]
        ps = [cs[i] + low[i] + high[i] for i in range(2)]
        z = self.fresh()
        self.emit(f"{z} = arith.constant {self.rng.choice(['0.0', '0.5', '-1.25'])} : f64")
        p = self.fresh()
        self.emit(f"{p} = tensor.pad {c} low[{low[0]}, {low[1]}] high[{high[0]}, {high[1]}] {{")
        self.emit("^bb0(%i: index, %j: index):")
        self.emit(f"  tensor.yield {z} : f64")
        self.emit(f"}} : {ttype(cs)} to {ttype(ps)}")
        at = [int(self.rng.integers(0, ps[i] - s[i] + 1)) for i in range(2)]
        r = self.fresh()
        self.emit(f"{r} = tensor.extract_slice {p}[{at[0]}, {at[1]}] [{m}, {n}] [1, 1] : {ttype(ps)} to {ttype(s)}")
        self.add(r, s, f"concat dim({dim}) of {len(parts)}{' (first sliced)' if short_first else ''} + pad low{low} high{high} + extract_slice")

    TEMPLATES = ["t_unary", "t_unary", "t_binary", "t_named", "t_named_unary", "t_bias", "t_broadcast_named",
                 "t_matmul", "t_batch_matmul", "t_transpose", "t_softmax", "t_slices",
                 "t_reshape", "t_collapse3", "t_concat_pad", "t_concat_pad"]

    def build(self, length):
        for _ in range(length):
            getattr(self, self.rng.choice(self.TEMPLATES))()
        # Every parameter takes part.
        for p in list(self.unused_params):
            {"%pb": self.t_bias, "%pc": self.t_matmul, "%pd": self.t_matmul,
             "%pe": self.t_batch_matmul}[p]()
        # Loss: chained sums of 0.5 v^2 + 0.3 v over every value that nothing
        # consumed (each sum starts from the previous one: an active init).
        acc = self.zeros(())
        for v, s in self.pool:
            use = re.compile(re.escape(v) + r"(?![0-9])")
            if v == "%x" or any(use.search(ln.split("=", 1)[-1]) and not ln.strip().startswith(v + " =")
                                for ln in self.lines):
                continue
            acc = self.generic([(v, s)], (), [imap(len(s), range(len(s))), imap(len(s), [])],
                               ["reduction"] * len(s),
                               ["%h = arith.constant 0.5 : f64", "%t = arith.constant 0.3 : f64",
                                "%s = arith.mulf %a, %a : f64", "%hs = arith.mulf %s, %h : f64",
                                "%ta = arith.mulf %a, %t : f64", "%u = arith.addf %hs, %ta : f64",
                                "%r = arith.addf %acc, %u : f64"], acc)
        args = ", ".join(f"{n}: {ttype(s)}" + (" {qat.param}" if p else "") for n, s, p in self.args)
        return (f"func.func @f({args}) -> tensor<f64> {{\n" + "\n".join(self.lines) +
                f"\n  return {acc} : tensor<f64>\n}}\n")


def main():
    print(f"seed {SEED} (replay: random_programs.py {COUNT} {SEED})")
    rng = np.random.default_rng(SEED)
    worst = 0.0
    for i in range(COUNT):
        program = Program(rng)
        text = program.build(int(rng.integers(4, 9)))
        label = f"program {i} (m={program.m} n={program.n} k={program.k}: {', '.join(program.ops)})"
        try:
            module = gradcheck_lib.differentiate(text)
            compiled = qat.compile(module)
            shapes = gradcheck_lib.arg_shapes(module, "f")
            args = gradcheck_lib.random_args(shapes, rng, 0.7)
            err = gradcheck_lib.check_gradients(compiled, "f", args, [1, 2, 3, 4, 5], rng,
                                                samples=12, tol=1e-5, label=label)
        except Exception:
            print(label)
            print(text)
            raise
        worst = max(worst, err)
        print(f"{label}: max relative error {err:.2e}")
    print(f"all {COUNT} programs: worst relative error {worst:.2e}")


if __name__ == "__main__":
    main()
