"""The QAT methods of the transformer example and how each becomes a
compiled training step: qat-quantize (the method's recipe), qat-differentiate
and qat-training-step applied to the float forward, then qat-to-cpu.

Which contractions are quantized: the linear layers of the blocks (wq, wk,
wv, wo, w1, w2). The embedding (a one-hot product whose contraction
dimension is the vocabulary, 72) and the output head stay in float, as the
QuEST and StableQAT papers keep them; the generator marks those two matmuls
with qat-quantize's per-op override. Attention's activation-by-activation
products are not products with a parameter, so qat-quantize leaves them in
float by default.
"""

import pathlib

import numpy as np

import qat

# name -> (description, qat-quantize options or None for float)
METHODS = {
    "float": ("no quantization: the baseline", None),
    "quest_w4a4": ("QuEST W4A4: Hadamard 128, rms_gaussian, trust",
                   "recipe=quest bits=4"),
    "stableqat_w2": ("StableQAT W2: learned step per row, Fourier [0.21]",
                     "recipe=stableqat bits=2"),
    "stableqat_w3": ("StableQAT W3: learned step per row, Fourier [0.21]",
                     "recipe=stableqat bits=3"),
    "stableqat_w4": ("StableQAT W4: learned step per row, Fourier [0.21]",
                     "recipe=stableqat bits=4"),
    "ste_w4a4": ("STE W4A4: absmax per row, straight-through",
                 "recipe=ste bits=4"),
}
NAMES = list(METHODS)


def init_weights(spec, seed):
    """Initial weights from transformer.json's list, in its order (the same
    function as reference.init_weights, which the fidelity check uses)."""
    rng = np.random.default_rng(seed)
    out = {}
    for p in spec["params"]:
        kind, value = p["init"]
        shape = tuple(p["shape"])
        if kind == "normal":
            out[p["name"]] = rng.normal(0.0, value, shape).astype(np.float32)
        else:
            out[p["name"]] = np.full(shape, value, np.float32)
    return out


class Method:
    def __init__(self, name, model_dir, target):
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; choose from "
                             f"{', '.join(NAMES)}")
        self.name = name
        self.description, self.quantize = METHODS[name]
        self.model_dir = pathlib.Path(model_dir)
        self.target = target

    def forward_modules(self):
        """The loss and logits modules after qat-quantize (the float ones
        for the float method)."""
        loss = qat.Module.parse_file(str(self.model_dir / "transformer.mlir"))
        logits = qat.Module.parse_file(
            str(self.model_dir / "transformer_logits.mlir"))
        if self.quantize:
            for m in (loss, logits):
                qat.run_pipeline(m, f"qat-quantize{{{self.quantize}}}")
        return loss, logits

    def compile(self, args):
        return Step(self, args)


class Step:
    """A compiled training step and the forward functions that go with it.

    The training state is a dict: 'params' (name -> array, the float
    weights), 'steps' (learned steps, StableQAT), 'opt' (AdamW moments and
    step count, as the training-step function takes them)."""

    def __init__(self, method, args):
        self.method = method
        loss_mod, logits_mod = method.forward_modules()
        self._loss_mod, self._logits_mod = loss_mod, logits_mod
        self.loss_fns = qat.compile(loss_mod.clone(), target=method.target)
        self.loss = self.loss_fns["transformer_loss"]
        self.logits = qat.compile(logits_mod.clone(),
                                  target=method.target)["transformer_logits"]
        self.sample_source = "float forward" if not method.quantize else \
            "quantized forward"
        train = loss_mod.clone()
        qat.run_pipeline(train, "qat-differentiate,qat-training-step")
        self.train_fns = qat.compile(train, target=method.target)

    def initial_state(self, weights):
        return {"params": dict(weights), "steps": {}, "opt": None}

    def forward_params(self, state):
        return list(state["params"].values()) + list(state["steps"].values())

    def train(self, state, tokens, targets, lr):
        raise NotImplementedError(
            "the training-step ABI of qat-training-step is not wired yet")

    def named_weights(self, state):
        out = dict(state["params"])
        out.update({f"step:{k}": v for k, v in state["steps"].items()})
        return out

    def packed_weights(self, state):
        return None


def make(name, model_dir, target="cpu"):
    return Method(name, model_dir, target)
