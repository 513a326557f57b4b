"""qat-differentiate on the forward halves of the hand-written examples.

examples/autodiff/{quest_linear,stableqat_linear}_loss.mlir are the forward
halves of examples/{quest_linear,stableqat_linear}.mlir. Their generated
gradients (qat-differentiate) and SGD steps (qat-training-step, momentum 0)
must reproduce the hand-written steps to fp32 rounding: the same masks and
surrogates, products that differ only in summation order.

Usage: examples_check.py SRC_ROOT [SEED]
"""

import os
import sys

import numpy as np

import qat

ROOT = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int.from_bytes(os.urandom(4), "little")
print(f"seed {SEED} (replay: examples_check.py {ROOT} {SEED})")
rng = np.random.default_rng(SEED)


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def compile_with(path, pipeline, **options):
    module = qat.Module.parse(read(path), name=path)
    qat.run_pipeline(module, pipeline, **options)
    return qat.compile(module)


def close(name, got, want, tol=2e-6):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert np.all(np.isfinite(got)), f"{name}: not finite"
    err = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
    print(f"  {name:<12} max |generated - hand-written| / max |hand-written| = {err:.2e}")
    assert err <= tol, f"{name}: relative error {err:.2e} > {tol:.0e}"


def normal(shape, std=1.0):
    return (rng.standard_normal(shape) * std).astype(np.float32)


# QuEST W4A4: the loss's gradients w.r.t. x and w, and the SGD step on w.
hand = qat.compile(qat.Module.parse(read("examples/quest_linear.mlir")))
x, w, t = normal((64, 256)), normal((128, 256), 0.06), normal((64, 128))
lr = np.float32(0.01)
w_new, dx_hand, loss_hand = hand["quest_linear_step"](x, w, t, lr)
grad = compile_with("examples/autodiff/quest_linear_loss.mlir",
                    "qat-differentiate", wrt=[0, 1])
loss, dx, dw = grad["quest_linear_loss_grad"](x, w, t)
print("QuEST W4A4 (trust):")
close("loss", loss, loss_hand, 0)
close("dx", dx, dx_hand)
step = compile_with("examples/autodiff/quest_linear_loss.mlir",
                    "qat-training-step", momentum=0.0)
loss2, w_step = step["quest_linear_loss_train_step"](x, w, t, lr)
close("w after SGD", w_step, w_new)
# The step's update is w - lr * dw with the generated dw.
close("dw", (w - w_step) / lr, (w - w_new) / lr, 1e-3)
assert np.max(np.abs(dw)) > 0 and np.allclose(w - lr * dw, w_step, rtol=0, atol=1e-7)

# StableQAT W2: gradients w.r.t. x, w and the learned step s; SGD on w and s.
hand = qat.compile(qat.Module.parse(read("examples/stableqat_linear.mlir")))
x, w, t = normal((32, 192)), normal((96, 192), 0.07), normal((32, 96))
s = np.full((96, 1), 0.05, np.float32) * (1 + 0.2 * rng.random((96, 1))).astype(np.float32)
w_new, s_new, dx_hand, loss_hand = hand["stableqat_w2_step"](x, w, s, t, lr)
grad = compile_with("examples/autodiff/stableqat_linear_loss.mlir",
                    "qat-differentiate", wrt=[0, 1, 2])
loss, dx, dw, ds = grad["stableqat_linear_loss_grad"](x, w, s, t)
print("StableQAT W2 (fourier, LSQ step):")
close("loss", loss, loss_hand, 0)
close("dx", dx, dx_hand)
step = compile_with("examples/autodiff/stableqat_linear_loss.mlir",
                    "qat-training-step", momentum=0.0)
loss2, w_step, s_step = step["stableqat_linear_loss_train_step"](x, w, s, t, lr)
close("w after SGD", w_step, w_new)
close("s after SGD", s_step, s_new)
assert np.max(np.abs(ds)) > 0
print("ok")
