"""qat-quantize and qat-convert, numerically, on the CPU.

A float MLP (Inputs/float_mlp.mlir, random odd shapes) goes through
`qat-opt --qat-quantize=<recipe> --qat-convert`; qat-run then runs

* the quantized training forward @mlp (StableQAT: with the steps that the
  generated @mlp_init_steps computes, checked against LSQ's formula),
* @mlp_pack (codes and steps from the float weights) and
* @mlp_inference on those codes,

and checks that inference reproduces the training forward exactly. The QuEST
forward is also checked against the numpy reference of the ops
(reference.py), written from the formulas. Prints the seed; replay with
--seed N.
"""

import argparse
import os
import random
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

F32 = np.float32
RECIPES = {
    "quest": "recipe=quest",
    "stableqat_w2": "recipe=stableqat bits=2",
    "ste_w4a8_group32": ("recipe=ste bits=4 activation-bits=8 "
                         "granularity=per_group group-size=32"),
    "clip_w3_rms_row": "recipe=clip bits=3 scale=rms granularity=per_row",
    # fp8 weights and activations: qat.matmul of e4m3 codes in training and
    # inference.
    "fp8_w8a8_row": "recipe=ste format=e4m3 activation-bits=8 granularity=per_row",
}


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return proc.stdout


def call(args, module, entry, inputs, work, tag):
    """Runs @entry on numpy inputs, returns its results."""
    paths = []
    for i, a in enumerate(inputs):
        p = os.path.join(work, f"{tag}_{entry}_arg{i}.npy")
        np.save(p, a)
        paths.append(p)
    out = os.path.join(work, f"{tag}_{entry}_out")
    os.makedirs(out, exist_ok=True)
    run([args.qat_run, module, f"--entry={entry}", f"--out-dir={out}"] +
        [f"--arg={p}" for p in paths])
    results = sorted(f for f in os.listdir(out) if f.endswith(".npy"))
    results.sort(key=lambda f: int(f[len("result"):-len(".npy")]))
    return [np.load(os.path.join(out, f)) for f in results]


# Distance of x / s from a rounding boundary of the centered grid (an
# integer) below which f32 results computed in another order may round to
# the other code: |x / s| < 8 and a few ulps of each of the Hadamard sum and
# the step.
NEAR_TIE = 2e-5
QUEST_Q = ref.Quantizer("centered", 4, "rms_gaussian", "per_row")


def near_ties(a, s):
    v = a.astype(np.float64) / s.astype(np.float64)
    return np.abs(v - np.rint(v)) < NEAR_TIE


def quest_reference(x, w1, w2, blocks, weight_codes):
    """y = relu(Q(xH) Q(W1^T H)^T) then the same with W2 (docs/semantics.md),
    and the number of activation codes near a rounding boundary. A weight
    code near a boundary is taken from `weight_codes` (qat's packed ones);
    every other one must equal the reference's (else an AssertionError)."""
    q = QUEST_Q
    ties = 0

    def layer(a, w, block, codes):
        nonlocal ties
        ah, wh = ref.hadamard(a, block), ref.hadamard(w, block)
        sa, sw = ref.scale(ah, q), ref.scale(wh, q)
        ties += int(near_ties(ah, sa).sum())
        wq = ref.quantize(wh, sw, q)
        tie = near_ties(wh, sw)
        assert np.array_equal(wq[~tie], codes[~tie]), \
            "qat's weight codes differ from the reference's off a tie"
        wq = np.where(tie, codes, wq)
        return ref.matmul(ref.quantize(ah, sa, q), wq, sa, sw, q, q).astype(F32)

    h = np.maximum(layer(x, np.ascontiguousarray(w1.T), blocks[0],
                         weight_codes[0]), F32(0))
    return layer(h, w2, blocks[1], weight_codes[1]), ties


def block_for(k, block=128):
    b = 1
    while b * 2 <= block and k % (b * 2) == 0:
        b *= 2
    return b


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qat-opt", required=True)
    p.add_argument("--qat-run", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    os.makedirs(args.work, exist_ok=True)
    # K, H multiples of 32 (int-N groups of 32) but not always of 128, so
    # that QuEST's Hadamard block shrinks; M and N odd.
    m = int(rng.integers(1, 6)) * 2 + 1
    k = int(rng.choice([96, 160, 256]))
    h = int(rng.choice([64, 96, 128]))
    n = int(rng.integers(2, 9)) * 2 + 1
    print(f"shapes M={m} K={k} H={h} N={n}")
    text = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "Inputs", "float_mlp.mlir")).read()
    for key, value in {"@M@": m, "@K@": k, "@H@": h, "@N@": n}.items():
        text = text.replace(key, str(value))
    model = os.path.join(args.work, "float_mlp.mlir")
    open(model, "w").write(text)

    x = rng.standard_normal((m, k)).astype(F32)
    w1 = (rng.standard_normal((k, h)) / np.sqrt(k)).astype(F32)
    w2 = (rng.standard_normal((n, h)) / np.sqrt(h)).astype(F32)
    failed = False
    for name, options in RECIPES.items():
        module = os.path.join(args.work, f"{name}.mlir")
        run([args.qat_opt, model, f"--qat-quantize={options}", "--qat-convert",
             "-o", module])
        params = [w1, w2]
        steps = []
        if name.startswith("stableqat"):
            steps = call(args, module, "mlp_init_steps", params, args.work, name)
            # LSQ: 2 mean|w| / sqrt(qp) per row of the N x K weight; qp = 1.
            want = [2 * np.abs(w1.T).mean(1, keepdims=True),
                    2 * np.abs(w2).mean(1, keepdims=True)]
            err = max(float(np.max(np.abs(s - w) / w)) for s, w in zip(steps, want))
            ok = err < 1e-5
            failed |= not ok
            print(f"{'ok' if ok else 'FAIL'}: {name}: initial steps vs "
                  f"2 mean|w|/sqrt(qp): max rel err {err:.2e}")
        packed = call(args, module, "mlp_pack", params + steps, args.work, name)
        if name == "quest":
            # An activation code on a tie could round either way in qat's
            # f32 and the reference's: draw x until none is near one (the
            # weights' ties take qat's codes).
            codes = [ref.unpack(c) for c in packed[0::2]]
            blocks = (block_for(k), block_for(h))
            for draws in range(1, 101):
                want, ties = quest_reference(x, w1, w2, blocks, codes)
                if not ties:
                    break
                x = rng.standard_normal((m, k)).astype(F32)
            print(f"quest: x drawn {draws} time(s) for no activation code "
                  f"within {NEAR_TIE} of a rounding boundary")
        (train,) = call(args, module, "mlp", [x] + params + steps, args.work, name)
        (infer,) = call(args, module, "mlp_inference", [x] + packed, args.work, name)
        diff = float(np.max(np.abs(train.astype(np.float64) - infer)))
        ok = np.array_equal(train, infer) and np.all(np.isfinite(train))
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {name}: inference on packed codes == "
              f"training forward (max |diff| {diff:.3g}, "
              f"{sum(c.nbytes for c in packed[0::2])} bytes of codes)")
        if name == "quest":
            rel = float(np.linalg.norm(train - want) / np.linalg.norm(want))
            ok = rel < 1e-5 and np.all(np.isfinite(train))
            failed |= not ok
            print(f"{'ok' if ok else 'FAIL'}: {name}: training forward vs numpy "
                  f"reference: rel err {rel:.2e} (blocks {block_for(k)}, "
                  f"{block_for(h)})")
    failed |= not check_tokens(args, rng)
    return 1 if failed else 0


TOKENS = """
func.func @tokens(%x: tensor<@B@x@S@x@K@xf32>, %w: tensor<@K@x@N@xf32> {qat.param})
    -> tensor<@S@x@B@x@N@xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<@S@x@B@x@N@xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<@S@x@B@x@N@xf32>) -> tensor<@S@x@B@x@N@xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, s, n, k) -> (b, s, k)>,
                                        affine_map<(b, s, n, k) -> (k, n)>,
                                        affine_map<(b, s, n, k) -> (s, b, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<@B@x@S@x@K@xf32>, tensor<@K@x@N@xf32>)
      outs(%f : tensor<@S@x@B@x@N@xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<@S@x@B@x@N@xf32>
  return %y : tensor<@S@x@B@x@N@xf32>
}
"""


def check_tokens(args, rng):
    """A B x S x K activation times a K x N weight as one linalg.generic whose
    output is S x B x N: QuEST collapses the two M dimensions into the rows
    of qat.matmul; checked against the reference on those rows."""
    b, s_, n = int(rng.integers(2, 4)), int(rng.integers(2, 6)) * 2 + 1, 7
    k = int(rng.choice([64, 96]))
    text = TOKENS
    for key, value in {"@B@": b, "@S@": s_, "@K@": k, "@N@": n}.items():
        text = text.replace(key, str(value))
    model = os.path.join(args.work, "tokens.mlir")
    open(model, "w").write(text)
    module = os.path.join(args.work, "tokens_quest.mlir")
    run([args.qat_opt, model, "--qat-quantize", "--qat-convert", "-o", module])
    x = rng.standard_normal((b, s_, k)).astype(F32)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(F32)
    (train,) = call(args, module, "tokens", [x, w], args.work, "tokens")
    packed = call(args, module, "tokens_pack", [w], args.work, "tokens")
    (infer,) = call(args, module, "tokens_inference", [x] + packed, args.work,
                    "tokens")
    q = ref.Quantizer("centered", 4, "rms_gaussian", "per_row")
    block = block_for(k)
    rows = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(s_ * b, k)
    ah, wh = ref.hadamard(rows, block), ref.hadamard(np.ascontiguousarray(w.T), block)
    sa, sw = ref.scale(ah, q), ref.scale(wh, q)
    want = ref.matmul(ref.quantize(ah, sa, q), ref.quantize(wh, sw, q), sa, sw,
                      q, q).astype(F32).reshape(s_, b, n)
    rel = float(np.linalg.norm(train - want) / np.linalg.norm(want))
    ok = rel < 1e-3 and np.array_equal(train, infer) and np.isfinite(train).all()
    print(f"{'ok' if ok else 'FAIL'}: quest_tokens {b}x{s_}x{k} -> {s_}x{b}x{n}: "
          f"vs numpy reference rel err {rel:.2e}; inference == training forward: "
          f"{np.array_equal(train, infer)}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
