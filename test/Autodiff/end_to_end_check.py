"""qat-quantize -> qat-differentiate -> qat-training-step -> qat-to-cpu -> run,
on the float MLP and transformer block of examples/float/, for QuEST W4A4
and StableQAT W2.

Quantized forwards are piecewise constant, so finite differences do not
apply; what is checked instead:
1. the training step's loss is the quantized forward's loss (same params);
2. every parameter and every learned step gets a finite, nonzero gradient;
3. StableQAT W2 (weights only): the gradients equal an independent reference
   built from the float model's gradient (itself checked against finite
   differences and torch in float-models.test) evaluated at the
   fake-quantized weights, times StableQAT's Fourier surrogate, and the LSQ
   step gradients, all written here in numpy;
   QuEST W8A8 (activations quantized too): the QAT gradient of each
   parameter points where the float model's does (cosine similarity above
   0.95: at 8 bits the trust estimator masks little, so a wrong rule shows;
   at 4 bits on these tiny tensors the quantization error alone can turn a
   gradient around, so W4A4's cosines are printed, not checked);
4. 40 AdamW steps on one batch lower the loss (W4A4 and W2).

Usage: end_to_end_check.py SRC_ROOT [SEED]
"""

import os
import re
import sys

import numpy as np

import qat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradcheck_lib  # noqa: E402

ROOT = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int.from_bytes(os.urandom(4), "little")
print(f"seed {SEED} (replay: end_to_end_check.py {ROOT} {SEED})")
rng = np.random.default_rng(SEED)

MODELS = [("mlp.mlir", "mlp_loss", 2), ("transformer_block.mlir", "transformer_block_loss", 2)]
# (label, qat-quantize options, whether the 40 training steps run)
RECIPES = [("QuEST W4A4", dict(recipe="quest", bits=4), True),
           ("QuEST W8A8", dict(recipe="quest", bits=8), False),
           ("StableQAT W2", dict(recipe="stableqat", bits=2), True)]
# The parameters that are weights of contractions, in the order of their
# contractions (the order of qat-quantize's step arguments), and whether the
# contraction reads them as N x K (True) or K x N (False, transposed for the
# per-row quantizer).
WEIGHTS = {"mlp_loss": [(0, True), (2, False)],
           "transformer_block_loss": [(i, False) for i in (2, 3, 4, 5, 8, 10, 12)]}
QN, QP, AMPLITUDE = -2, 1, 0.21


def stableqat_reference(float_grad, inputs, params, steps, weights):
    """Gradients of the StableQAT W2 model, from the float model's."""
    quantized = list(params)
    rows = []
    for (index, nk), s in zip(weights, steps):
        w = params[index] if nk else params[index].T
        v = w / s
        r = np.round(v)  # round half to even, as the dialect
        wq = (np.clip(r, QN, QP) * s).astype(np.float32)
        quantized[index] = wq if nk else wq.T
        rows.append((w, v, r))
    grads = list(float_grad(*inputs, *quantized)[1:])
    step_grads = []
    for ((index, nk), s, (w, v, r)) in zip(weights, steps, rows):
        gw = grads[index] if nk else grads[index].T
        inside = (v >= QN) & (v <= QP)
        surrogate = np.sqrt(2) * np.pi * AMPLITUDE * np.cos(np.pi * (v + r))
        dw = gw * inside * (1 - surrogate) / (1 + surrogate)
        grads[index] = dw if nk else dw.T
        g = 1 / np.sqrt(w.size * QP)
        step_grads.append(g * np.sum(gw * np.where(inside, r - v, np.clip(v, QN, QP)),
                                     axis=1, keepdims=True))
    return grads + step_grads


def trainable(module, name):
    """Indices of the qat.param / qat.step arguments of @name."""
    text = str(module)
    header = re.search(r"func\.func @" + name + r"\((.*?)\) ->", text).group(1)
    args = re.split(r",\s*(?=%)", header)
    return [i for i, a in enumerate(args) if "qat.param" in a or "qat.step" in a]


def inputs(shapes, name):
    args = [(rng.standard_normal(s) * 0.5).astype(np.float32) for s, _ in shapes]
    if name == "transformer_block_loss":
        args[1] = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 5)]
        for i in (2, 8):
            args[i] = (1 + args[i]).astype(np.float32)
    return args


def cosine(a, b):
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


for path, name, num_inputs in MODELS:
    with open(os.path.join(ROOT, "examples", "float", path)) as f:
        text = f.read()
    float_module = qat.Module.parse(text)
    qat.run_pipeline(float_module, "qat-differentiate")
    float_grad = qat.compile(float_module)[name + "_grad"]
    shapes = gradcheck_lib.arg_shapes(float_module, name)
    base = inputs(shapes, name)
    float_grads = float_grad(*base)[1:]

    for label, options, train in RECIPES:
        module = qat.Module.parse(text)
        qat.run_pipeline(module, "qat-quantize", **options)
        wrt = trainable(module, name)
        qat.run_pipeline(module, "qat-training-step", optimizer="adamw")
        compiled = qat.compile(module)
        args = list(base)
        num_params = len(base) - num_inputs
        if options["recipe"] == "stableqat":
            steps = compiled[name + "_init_steps"](*args[num_inputs:])
            steps = list(steps) if isinstance(steps, tuple) else [steps]
            args += steps
        assert len(wrt) == len(args) - num_inputs, (wrt, len(args))

        # 1 and 2: the gradient function and the forward agree on the loss;
        # every gradient is finite and nonzero.
        results = compiled[name + "_grad"](*args)
        loss, grads = float(results[0]), results[1:]
        forward_loss = float(compiled[name](*args))
        # Not bit for bit: qat-to-cpu computes the f32 matmuls it vectorizes
        # with fused multiply-adds (one rounding per step, not two), and the
        # forward and the gradient function do not always reach it with the
        # same ops (a frontend's linalg.generic contraction in one, the
        # derivative's linalg.matmul in the other). Each of the loss's dot
        # products then differs by a few f32 roundings of its terms.
        assert abs(loss - forward_loss) <= 1e-5 * abs(forward_loss), (loss, forward_loss)
        for i, g in zip(wrt, grads):
            assert np.all(np.isfinite(g)) and np.any(g != 0), f"{label} {path}: gradient #{i}"
        # 3: against a reference (StableQAT) or the float gradients (QuEST).
        if options["recipe"] == "stableqat":
            want = stableqat_reference(float_grad, args[:num_inputs], args[num_inputs:][:num_params],
                                       args[num_inputs + num_params:], WEIGHTS[name])
            err = max(float(np.max(np.abs(g - w)) / np.max(np.abs(w))) for g, w in zip(grads, want))
            print(f"{path} {label}: loss {loss:.4f}; {num_params} parameter and "
                  f"{len(grads) - num_params} step gradients vs the numpy reference: "
                  f"max relative error {err:.2e}")
            assert err < 1e-4, err
        else:
            cos = [cosine(g, fg) for g, fg in zip(grads, float_grads)]
            print(f"{path} {label}: loss {loss:.4f}; cosine(QAT grad, float grad) "
                  f"min {min(cos):.3f} mean {np.mean(cos):.3f} over {num_params} params")
            # The QuEST rules themselves are checked bit for bit against the
            # hand-written backward (examples_check.py).
            if options["bits"] == 8:
                assert min(cos) > 0.95, cos

        if not train:
            continue

        # 4: AdamW on one batch.
        step = compiled[name + "_train_step"]
        params = args[num_inputs:]
        state = [np.zeros_like(p) for p in params] * 2
        first = None
        for t in range(1, 41):
            out = step(*args[:num_inputs], *params, *state, np.float32(t), np.float32(0.01))
            n = len(params)
            loss_t, params, state = float(out[0]), list(out[1:1 + n]), list(out[1 + n:])
            first = loss_t if first is None else first
        final = float(compiled[name](*args[:num_inputs], *params))
        print(f"{path} {label}: 40 AdamW steps: loss {first:.4f} -> {final:.4f}")
        assert final < 0.8 * first, (first, final)
print("ok")
