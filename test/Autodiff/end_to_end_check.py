"""qat-quantize -> qat-differentiate -> qat-training-step -> qat-to-cpu -> run,
on the float MLP and transformer block of examples/float/, for QuEST W4A4,
W8A8 and W2A2, StableQAT W2, and the float element formats (MXFP4-style
e2m1 with mx block steps, NVFP4, and fp8 e4m3 with absmax steps; STE).

Quantized forwards are piecewise constant, so finite differences do not
apply; what is checked instead:
1. the training step's loss is the quantized forward's loss (same params);
2. every parameter and every learned step gets a finite, nonzero gradient;
3. the loss and every gradient against an independent reference:
   QuEST: the model written in PyTorch (torch_models.py) with QuEST's
   fake-quantizer (Hadamard rotation, rms_gaussian clip, centered grid,
   trust mask) around both operands of each contraction qat-quantize
   quantizes, differentiated by torch autograd (on rows this short the
   trust mask seldom drops an element at 4 and 8 bits; at 2 bits it does);
   StableQAT W2 (weights only): the float model's gradient (itself checked
   against finite differences and torch in float-models.test) evaluated at
   the fake-quantized weights, times StableQAT's Fourier surrogate, and the
   LSQ step gradients, all written here in numpy;
   float formats: the model in PyTorch with FormatMatmul's fake-quantizer
   around both operands of each quantized contraction;
4. 40 AdamW steps on one batch lower the loss (W4A4 and W2).

Two implementations that differ by f32 rounding can round an element lying
within an ulp of a rounding tie differently (and, with it, mask its
gradient differently), so inputs whose reference meets an element closer
than TIE_MARGIN to a tie are drawn again (printed as `redrawn`).

Usage: end_to_end_check.py SRC_ROOT [SEED]
"""

import os
import re
import sys

import numpy as np
import torch

import qat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradcheck_lib  # noqa: E402
import torch_models  # noqa: E402

ROOT = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int.from_bytes(os.urandom(4), "little")
print(f"seed {SEED} (replay: end_to_end_check.py {ROOT} {SEED})")
rng = np.random.default_rng(SEED)

MODELS = [("mlp.mlir", "mlp_loss", 2), ("transformer_block.mlir", "transformer_block_loss", 2)]
# (label, qat-quantize options, whether the 40 training steps run)
RECIPES = [("QuEST W4A4", dict(recipe="quest", bits=4), True),
           ("QuEST W8A8", dict(recipe="quest", bits=8), False),
           ("QuEST W2A2", dict(recipe="quest", bits=2), False),
           ("StableQAT W2", dict(recipe="stableqat", bits=2), True),
           ("MXFP4 W4A4", {"recipe": "ste", "format": "e2m1", "scale": "mx",
                           "granularity": "per_group", "group-size": 2,
                           "activation-bits": 4}, True),
           # STE, not clip: under absmax steps a row's largest element sits at
           # the clip's end (|x/s| = 448 up to an ulp), where any f32
           # difference upstream (a layer norm's last bit) flips its mask.
           ("FP8 e4m3 W8A8", {"recipe": "ste", "format": "e4m3", "scale": "absmax",
                              "granularity": "per_row", "activation-bits": 8}, False),
           ("NVFP4 W4A4", {"recipe": "ste", "format": "e2m1", "scale": "nvfp4",
                           "granularity": "per_group", "group-size": 2,
                           "activation-bits": 4}, False)]
# The parameters that are weights of contractions, in the order of their
# contractions (the order of qat-quantize's step arguments), and whether the
# contraction reads them as N x K (True) or K x N (False, transposed for the
# per-row quantizer).
WEIGHTS = {"mlp_loss": [(0, True), (2, False)],
           "transformer_block_loss": [(i, False) for i in (2, 3, 4, 5, 8, 10, 12)]}
QN, QP, AMPLITUDE = -2, 1, 0.21
TIE_MARGIN = 1e-4
TORCH_MODELS = {"mlp_loss": torch_models.mlp, "transformer_block_loss": torch_models.block}


def stableqat_reference(float_grad, inputs, params, steps, weights):
    """Gradients of the StableQAT W2 model, from the float model's."""
    quantized = list(params)
    rows = []
    margin = np.inf
    for (index, nk), s in zip(weights, steps):
        w = params[index] if nk else params[index].T
        v = w / s
        r = np.round(v)  # round half to even, as the dialect
        # Rounding ties and the clip window's ends.
        margin = min(margin, float(np.min(np.abs(v - np.floor(v) - 0.5))),
                     float(np.min(np.abs(v - QN))), float(np.min(np.abs(v - QP))))
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
    return grads + step_grads, margin


def quest_reference(name, bits, inputs, params):
    """Loss, gradients and tie margin of the torch model with QuEST's
    fake-quantizer."""
    matmul = torch_models.QuestMatmul(bits)
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    loss = TORCH_MODELS[name](*[torch.tensor(a) for a in inputs], *tparams, matmul=matmul)
    loss.backward()
    return float(loss), [p.grad.numpy() for p in tparams], matmul.margin


def format_reference(name, options, inputs, params):
    """Loss, gradients and tie margin of the torch model with the float
    format's fake-quantizer."""
    matmul = torch_models.FormatMatmul(options["format"], options["scale"],
                                       options.get("group-size", 0), options["recipe"])
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    loss = TORCH_MODELS[name](*[torch.tensor(a) for a in inputs], *tparams, matmul=matmul)
    loss.backward()
    return float(loss), [p.grad.numpy() for p in tparams], matmul.margin


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


for path, name, num_inputs in MODELS:
    with open(os.path.join(ROOT, "examples", "float", path)) as f:
        text = f.read()
    float_module = qat.Module.parse(text)
    qat.run_pipeline(float_module, "qat-differentiate")
    float_grad = qat.compile(float_module)[name + "_grad"]
    shapes = gradcheck_lib.arg_shapes(float_module, name)

    for label, options, train in RECIPES:
        module = qat.Module.parse(text)
        qat.run_pipeline(module, "qat-quantize", **options)
        wrt = trainable(module, name)
        qat.run_pipeline(module, "qat-training-step", optimizer="adamw")
        compiled = qat.compile(module)
        for redrawn in range(20):
            args = inputs(shapes, name)
            num_params = len(args) - num_inputs
            params = args[num_inputs:]
            if options["recipe"] == "stableqat":
                steps = compiled[name + "_init_steps"](*params)
                steps = list(steps) if isinstance(steps, tuple) else [steps]
                args += steps
                want, margin = stableqat_reference(float_grad, args[:num_inputs], params,
                                                   steps, WEIGHTS[name])
                want_loss = None
            elif options["recipe"] == "quest":
                want_loss, want, margin = quest_reference(name, options["bits"],
                                                          args[:num_inputs], params)
            else:
                want_loss, want, margin = format_reference(name, options,
                                                           args[:num_inputs], params)
            if margin >= TIE_MARGIN:
                break
        else:
            raise AssertionError(f"{label} {path}: 20 draws of inputs, all next to a tie")
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
        # 3: against the reference.
        if want_loss is not None:
            assert abs(loss - want_loss) <= 1e-5 * abs(want_loss), (loss, want_loss)
        err = max(float(np.max(np.abs(g - w)) / np.max(np.abs(w))) for g, w in zip(grads, want))
        print(f"{path} {label}: loss {loss:.4f}; {num_params} parameter and "
              f"{len(grads) - num_params} step gradients vs the "
              f"{'numpy' if want_loss is None else 'torch'} reference: "
              f"max relative error {err:.2e} (redrawn {redrawn})")
        assert err < 2e-4, err

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
