"""qat-quantize and qat-convert on examples/float_transformer_block.mlir.

* The float @block_loss matches a numpy transformer block written here
  (pre-norm, causal single-head attention, GELU MLP, residuals,
  cross-entropy).
* QuEST W4A4 and StableQAT W2: the seven products with a weight are
  quantized and attention's two activation products stay float; the
  quantized losses run; @block_inference on packed codes reproduces the
  quantized @block exactly.

Prints the seed; replay with --seed N.
"""

import argparse
import math
import os
import random
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from training_graphs import call, run  # noqa: E402

F32 = np.float32
S, D, F, V = 16, 64, 128, 32


def layernorm(x):
    m = x.mean(-1, keepdims=True)
    return (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + 1e-5)


def erf(x):
    return np.vectorize(math.erf)(x)


def block_loss(x, t, wq, wk, wv, wo, w1, w2, wout):
    x, t = x.astype(np.float64), t.astype(np.float64)
    a = layernorm(x)
    q, k, v = a @ wq.T, a @ wk.T, a @ wv.T
    s = (q @ k.T) / np.sqrt(D)
    s = np.where(np.triu(np.ones((S, S), bool), 1), -1e9, s)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    h = x + (p @ v) @ wo.T
    u = layernorm(h) @ w1.T
    out = h + (0.5 * u * (1 + erf(u / np.sqrt(2)))) @ w2.T
    logits = out @ wout.T
    m = logits.max(-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(-1))
    return np.mean(lse - (t * logits).sum(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qat-opt", required=True)
    p.add_argument("--qat-run", required=True)
    p.add_argument("--example", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    os.makedirs(args.work, exist_ok=True)

    x = rng.standard_normal((S, D)).astype(F32)
    target = np.eye(V, dtype=F32)[rng.integers(0, V, S)]
    shapes = [(D, D)] * 4 + [(F, D), (D, F), (V, D)]
    params = [(rng.standard_normal(s) / np.sqrt(s[1])).astype(F32) for s in shapes]
    failed = False

    (loss,) = call(args, args.example, "block_loss", [x, target] + params,
                   args.work, "float")
    want = block_loss(x, target, *params)
    err = abs(float(loss) - want) / abs(want)
    ok = err < 1e-4
    failed |= not ok
    print(f"{'ok' if ok else 'FAIL'}: float block_loss {float(loss):.6f} vs numpy "
          f"{want:.6f} (rel err {err:.1e})")

    for name, options in [("quest", "recipe=quest"),
                          ("stableqat_w2", "recipe=stableqat bits=2")]:
        module = os.path.join(args.work, f"{name}.mlir")
        run([args.qat_opt, args.example, f"--qat-quantize={options}",
             "--qat-convert=function=block", "-o", module])
        text = open(module).read()
        fwd = text[text.index("func.func @block("):text.index("func.func @block_inference(")]
        counts = (len(re.findall(r"= qat\.matmul", fwd)),
                  len(re.findall(r"qat\.fake_quant", fwd)),
                  len(re.findall(r"= linalg\.matmul", fwd)))
        want_counts = (7, 0, 2) if name == "quest" else (0, 7, 9)
        ok = counts == want_counts
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {name}: @block has {counts[0]} qat.matmul, "
              f"{counts[1]} qat.fake_quant, {counts[2]} linalg.matmul "
              f"(expected {want_counts})")
        steps = []
        if name.startswith("stableqat"):
            steps = call(args, module, "block_init_steps", params, args.work, name)
        (loss,) = call(args, module, "block_loss", [x, target] + params + steps,
                       args.work, name)
        (train,) = call(args, module, "block", [x] + params + steps, args.work, name)
        packed = call(args, module, "block_pack", params + steps, args.work, name)
        (infer,) = call(args, module, "block_inference", [x] + packed, args.work, name)
        ok = np.array_equal(train, infer) and np.isfinite(train).all() \
            and np.isfinite(loss)
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {name}: loss {float(loss):.4f} (float "
              f"{want:.4f}); inference on packed codes == training forward "
              f"(max |diff| {float(np.max(np.abs(train - infer))):.3g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
