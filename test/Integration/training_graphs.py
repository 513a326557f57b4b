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


def quest_reference(x, w1, w2, blocks):
    """y = relu(Q(xH) Q(W1^T H)^T) then the same with W2 (docs/semantics.md)."""
    q = ref.Quantizer("centered", 4, "rms_gaussian", "per_row")

    def layer(a, w, block):
        ah, wh = ref.hadamard(a, block), ref.hadamard(w, block)
        sa, sw = ref.scale(ah, q), ref.scale(wh, q)
        return ref.matmul(ref.quantize(ah, sa, q), ref.quantize(wh, sw, q),
                          sa, sw, q, q).astype(F32)

    h = np.maximum(layer(x, np.ascontiguousarray(w1.T), blocks[0]), F32(0))
    return layer(h, w2, blocks[1])


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
        (train,) = call(args, module, "mlp", [x] + params + steps, args.work, name)
        packed = call(args, module, "mlp_pack", params + steps, args.work, name)
        (infer,) = call(args, module, "mlp_inference", [x] + packed, args.work, name)
        diff = float(np.max(np.abs(train.astype(np.float64) - infer)))
        ok = np.array_equal(train, infer) and np.all(np.isfinite(train))
        failed |= not ok
        print(f"{'ok' if ok else 'FAIL'}: {name}: inference on packed codes == "
              f"training forward (max |diff| {diff:.3g}, "
              f"{sum(c.nbytes for c in packed[0::2])} bytes of codes)")
        if name == "quest":
            want = quest_reference(x, w1, w2, (block_for(k), block_for(h)))
            rel = float(np.linalg.norm(train - want) / np.linalg.norm(want))
            ok = rel < 1e-3 and np.all(np.isfinite(train))
            failed |= not ok
            print(f"{'ok' if ok else 'FAIL'}: {name}: training forward vs numpy "
                  f"reference: rel err {rel:.2e} (blocks {block_for(k)}, "
                  f"{block_for(h)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
