"""The float MLP and transformer block of examples/float/ through
qat-differentiate and qat-training-step.

1. Gradients in f64 against central finite differences (a sample of the
   elements of every parameter).
2. Gradients in f32 against PyTorch's autograd on the same model written in
   torch (an independent reference), and two training steps (SGD with
   momentum and weight decay; AdamW) against torch.optim.SGD / AdamW given
   the same gradients, the optimizer state carried from the first step to
   the second.

Usage: float_models_check.py SRC_ROOT [SEED]
"""

import os
import sys

import numpy as np
import torch

import qat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gradcheck_lib  # noqa: E402
import torch_models  # noqa: E402

ROOT = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int.from_bytes(os.urandom(4), "little")
print(f"seed {SEED} (replay: float_models_check.py {ROOT} {SEED})")
rng = np.random.default_rng(SEED)
torch.manual_seed(SEED)


def read(name):
    with open(os.path.join(ROOT, "examples", "float", name)) as f:
        return f.read()


MODELS = [
    ("mlp.mlir", "mlp_loss", torch_models.mlp, 2),
    ("transformer_block.mlir", "transformer_block_loss", torch_models.block, 2),
]


def make_args(module, name, scale):
    shapes = gradcheck_lib.arg_shapes(module, name)
    args = gradcheck_lib.random_args(shapes, rng, scale)
    if name == "transformer_block_loss":
        args[1] = np.eye(7, dtype=args[1].dtype)[rng.integers(0, 7, 5)]
        # Layer-norm gains around 1, as initialized in practice.
        for i in (2, 8):
            args[i] = (1 + args[i]).astype(args[i].dtype)
    return args


def relative(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))


for path, name, reference, num_inputs in MODELS:
    text = read(path)
    # 1. f64 against finite differences.
    module = gradcheck_lib.differentiate(gradcheck_lib.to_f64(text))
    compiled = qat.compile(module)
    args = make_args(module, name, 0.5)
    wrt = list(range(num_inputs, len(args)))
    err = gradcheck_lib.check_gradients(compiled, name, args, wrt, rng, samples=8,
                                        tol=1e-6, label=path)
    print(f"{path}: f64 gradients vs finite differences: max relative error {err:.2e}")

    # 2. f32 against torch: gradients, then two SGD and two AdamW steps.
    module = qat.Module.parse(text)
    qat.run_pipeline(module, "qat-differentiate")
    compiled = qat.compile(module)
    args = make_args(module, name, 0.5)
    params = args[num_inputs:]
    results = compiled[name + "_grad"](*args)
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    tloss = reference(*[torch.tensor(a) for a in args[:num_inputs]], *tparams)
    tloss.backward()
    assert abs(float(results[0]) - float(tloss)) <= 1e-5 * abs(float(tloss)), (results[0], tloss)
    worst = max(relative(g, tp.grad.numpy()) for g, tp in zip(results[1:], tparams))
    print(f"{path}: f32 gradients vs torch autograd: max relative error {worst:.2e}")
    assert worst < 2e-5, worst

    for optimizer, options in [("sgd", dict(momentum=0.9, weight_decay=0.01)),
                               ("adamw", dict(weight_decay=0.05, beta1=0.8, beta2=0.95,
                                              epsilon=1e-8))]:
        step_module = qat.Module.parse(text)
        qat.run_pipeline(step_module, "qat-training-step", optimizer=optimizer, **options)
        step = qat.compile(step_module)[name + "_train_step"]
        lr = np.float32(0.05)
        tparams = [torch.tensor(p, requires_grad=True) for p in params]
        if optimizer == "sgd":
            opt = torch.optim.SGD(tparams, lr=float(lr), momentum=options["momentum"],
                                  weight_decay=options["weight_decay"])
            state = [np.zeros_like(p) for p in params]
        else:
            opt = torch.optim.AdamW(tparams, lr=float(lr), betas=(options["beta1"], options["beta2"]),
                                    eps=options["epsilon"], weight_decay=options["weight_decay"])
            state = [np.zeros_like(p) for p in params] * 2
        current = list(params)
        # torch.optim is given the gradients of @<name>_grad at the same
        # parameters: the gradients are checked above, and AdamW divides by
        # sqrt(v), which turns f32 noise in a near-zero gradient into a full
        # step of either sign.
        grad = compiled[name + "_grad"]
        for t in (1, 2):
            extra = [np.float32(t)] if optimizer == "adamw" else []
            ours_grads = grad(*args[:num_inputs], *current)[1:]
            with torch.no_grad():
                for tp, c, g in zip(tparams, current, ours_grads):
                    tp.copy_(torch.tensor(c))
                    tp.grad = torch.tensor(g)
            opt.step()
            out = step(*args[:num_inputs], *current, *state, *extra, lr)
            n = len(params)
            loss, current, state = out[0], list(out[1:1 + n]), list(out[1 + n:])
            err = max(relative(c, tp.detach().numpy()) for c, tp in zip(current, tparams))
            print(f"{path}: {optimizer} step {t} vs torch.optim: max relative error of the parameters {err:.2e}")
            assert err < 1e-5, err
print("ok")
