"""Gradients through qat.hadamard, plain and with random signs (and their
inverse), in f64 against central finite differences of the forward.

The rotations compute in f32 whatever the element type, so the loss is a
quadratic form of x, sum((rotations(x) * w)^2): its central differences are
exact at any step h, and a large h keeps the f32 rounding of the forward out
of them. A rotation whose adjoint were itself (right only without signs)
fails by tens of percent.

Usage: rotations_check.py [SEED]
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradcheck_lib  # noqa: E402

import qat  # noqa: E402

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else int.from_bytes(os.urandom(4), "little")
print(f"seed {SEED} (replay: rotations_check.py {SEED})")
rng = np.random.default_rng(SEED)

ROTATIONS = {
    "plain": ["block 8"],
    "signs": ["block 8 signs %seed"],
    "signs_then_inverse": ["block 8 signs %seed", "block 4 signs %seed inverse"],
    "inverse_then_signs": ["block 16 signs %seed inverse", "block 2 signs %seed"],
}


def program(rotations, seed):
    lines, value = [], "%x"
    for i, rotation in enumerate(rotations):
        lines.append(f"  %r{i} = qat.hadamard {value} {rotation} : tensor<3x16xf32>")
        value = f"%r{i}"
    body = "\n".join(lines)
    return f"""
#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(i, j) -> ()>
func.func @f(%x: tensor<3x16xf32> {{qat.param}}, %w: tensor<3x16xf32>) -> f32 {{
  %seed = arith.constant {seed} : i64
{body}
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<f32>) -> tensor<f32>
  %sum = linalg.generic {{indexing_maps = [#id, #id, #all],
                         iterator_types = ["reduction", "reduction"]}}
      ins({value}, %w : tensor<3x16xf32>, tensor<3x16xf32>) outs(%init : tensor<f32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.mulf %m, %m : f32
    %r = arith.addf %acc, %s : f32
    linalg.yield %r : f32
  }} -> tensor<f32>
  %loss = tensor.extract %sum[] : tensor<f32>
  return %loss : f32
}}
"""


for name, rotations in ROTATIONS.items():
    seed = int(rng.integers(-2**62, 2**62))
    module = gradcheck_lib.differentiate(gradcheck_lib.to_f64(program(rotations, seed)))
    compiled = qat.compile(module)
    args = gradcheck_lib.random_args(gradcheck_lib.arg_shapes(module, "f"), rng)
    err = gradcheck_lib.check_gradients(compiled, "f", args, [0], rng, h=0.05, tol=1e-4,
                                        label=name)
    print(f"{name}: gradient vs finite differences: max relative error {err:.2e}")
print("ok")
