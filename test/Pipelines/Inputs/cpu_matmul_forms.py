#!/usr/bin/env python3
"""f32 linalg.matmul / batch_matmul in every operand layout through
qat-to-cpu (packed operands, vectorized register blocks, 16x16 vector
transposes where the packed sizes are multiples of 16) against a float64
numpy product, on random data (the seed is printed; replay with --seed).

Bound, for every seed: each output is a sum of K f32 products accumulated
in f32 in some order, so |out - ref| <= gamma_(K+1) * sum_k |a b| with
gamma_n = n u / (1 - n u), u = 2^-24 (the products and the K - 1 additions
each round once, plus the final rounding). Nothing else can make it pass:
a wrong element, a swapped operand or a stale block is off by about |ref|.
"""

import argparse
import sys

import numpy as np

import qat

U = 2.0 ** -24


def module(batch, m, n, k, ta, tb):
    b = f"{batch}x" if batch else ""
    bd = "b, " if batch else ""
    at = f"tensor<{b}{k}x{m}xf32>" if ta else f"tensor<{b}{m}x{k}xf32>"
    bt = f"tensor<{b}{n}x{k}xf32>" if tb else f"tensor<{b}{k}x{n}xf32>"
    ct = f"tensor<{b}{m}x{n}xf32>"
    amap = f"({bd}k, m)" if ta else f"({bd}m, k)"
    bmap = f"({bd}n, k)" if tb else f"({bd}k, n)"
    maps = (f"indexing_maps = [affine_map<({bd}m, n, k) -> {amap}>, "
            f"affine_map<({bd}m, n, k) -> {bmap}>, "
            f"affine_map<({bd}m, n, k) -> ({bd}m, n)>] ")
    op = "linalg.batch_matmul" if batch else "linalg.matmul"
    return f"""
func.func @mm(%a: {at}, %b: {bt}) -> {ct} {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : {ct}
  %f = linalg.fill ins(%z : f32) outs(%e : {ct}) -> {ct}
  %r = {op} {maps}ins(%a, %b : {at}, {bt}) outs(%f : {ct}) -> {ct}
  return %r : {ct}
}}"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else \
        int(np.random.SeedSequence().entropy % 2**32)
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    failures = 0
    # Multiples of 16 (vectorized transposes, 8x32 blocks), odd sizes
    # (transposes left as they are, smaller blocks or none), batches.
    shapes = [(0, 64, 96, 48), (0, 48, 32, 80), (0, 37, 130, 29),
              (0, 24, 40, 16), (2, 32, 64, 48), (3, 9, 48, 33)]
    for batch, m, n, k in shapes:
        for ta in (False, True):
            for tb in (False, True):
                lead = (batch,) if batch else ()
                a = rng.standard_normal(lead + ((k, m) if ta else (m, k)),
                                        np.float32)
                b = rng.standard_normal(lead + ((n, k) if tb else (k, n)),
                                        np.float32)
                f = qat.compile(module(batch, m, n, k, ta, tb))["mm"]
                out = np.asarray(f(a, b), np.float64)
                a64 = a.astype(np.float64)
                b64 = b.astype(np.float64)
                a64 = np.swapaxes(a64, -1, -2) if ta else a64
                b64 = np.swapaxes(b64, -1, -2) if tb else b64
                ref = a64 @ b64
                gamma = (k + 1) * U / (1 - (k + 1) * U)
                bound = gamma * (np.abs(a64) @ np.abs(b64))
                err = np.abs(out - ref)
                bad = np.argwhere(err > bound)
                form = f"{'A^T' if ta else 'A'} {'B^T' if tb else 'B'}"
                name = f"{batch}x" if batch else ""
                name += f"{m}x{n}x{k} {form}"
                if out.shape != ref.shape or len(bad):
                    failures += 1
                    i = tuple(bad[0]) if len(bad) else ()
                    print(f"FAIL {name}: shape {out.shape}, "
                          f"{len(bad)} elements past the bound, first at "
                          f"{i}: {out[i] if i else ''} vs {ref[i] if i else ''}")
                else:
                    print(f"ok {name}: max error / bound "
                          f"{float(np.max(err / bound)):.3f}")
    if failures:
        print(f"{failures} failed (seed {seed})")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
