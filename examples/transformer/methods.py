"""The QAT methods of the transformer example and how each becomes a
compiled training step: qat-quantize (the method's recipe), qat-differentiate
and qat-training-step applied to the float forward, then qat-to-cpu (or
qat-to-nvptx for the GPU: JIT here, or ahead of time in artifacts.py).

Which contractions are quantized: the linear layers of the blocks (wq, wk,
wv, wo, w1, w2). The embedding (a one-hot product whose contraction
dimension is the vocabulary, 72) and the output head stay in float, as the
QuEST and StableQAT papers keep them; the generator marks those two matmuls
with qat-quantize's per-op override. Attention's activation-by-activation
products are not products with a parameter, so qat-quantize leaves them in
float by default.
"""

import pathlib
import re

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
    "ste_w4a4": ("STE W4A4: absmax steps, straight-through",
                 "recipe=ste bits=4 activation-bits=4 scale=absmax"),
}
NAMES = list(METHODS)

# The other bit widths of the same recipes (the stability study,
# docs/training.md): quest_w<b>a<b>, stableqat_w<b>, ste_w<b>a<b> and the
# weight-only ste_w<b>, b in 2..4; and the float element formats.
_FAMILIES = {
    r"quest_w([2-4])a\1": ("QuEST W{b}A{b}: Hadamard, rms_gaussian, trust",
                           "recipe=quest bits={b}"),
    r"stableqat_w([2-4])": ("StableQAT W{b}: learned step, Fourier [0.21]",
                           "recipe=stableqat bits={b}"),
    r"ste_w([2-4])a\1": ("STE W{b}A{b}: absmax steps, straight-through",
                         "recipe=ste bits={b} activation-bits={b} "
                         "scale=absmax"),
    r"ste_w([2-4])": ("STE W{b}: absmax steps, straight-through",
                     "recipe=ste bits={b} scale=absmax"),
    # The float element formats (docs/semantics.md): MXFP4 (e2m1 elements,
    # a power-of-two step per 32) and fp8 e4m3 with a step per row.
    r"mxfp4_w4a4": ("MXFP4 W4A4: e2m1, power-of-two step per 32, straight-through",
                   "recipe=ste format=e2m1 scale=mx granularity=per_group "
                   "group-size=32 activation-bits=4"),
    r"fp8_w8a8": ("FP8 W8A8: e4m3, absmax step per row, straight-through",
                 "recipe=ste format=e4m3 activation-bits=8"),
    r"nvfp4_w4a4": ("NVFP4 W4A4: e2m1, e4m3 step per 16 under a tensor scale, "
                    "straight-through",
                    "recipe=ste format=e2m1 scale=nvfp4 granularity=per_group "
                    "group-size=16 activation-bits=4"),
}


def lookup(name):
    """(description, qat-quantize options) of a method name, or None."""
    if name in METHODS:
        return METHODS[name]
    for pattern, (desc, opts) in _FAMILIES.items():
        m = re.fullmatch(pattern, name)
        if m:
            b = m.group(1) if m.re.groups else ""
            return desc.format(b=b), opts.format(b=b)
    return None


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
        if lookup(name) is None:
            raise ValueError(f"unknown method {name!r}; choose from "
                             f"{', '.join(NAMES)} (or another bit width "
                             "of them: quest_w3a3, stableqat_w2, ste_w2; or "
                             "the float formats mxfp4_w4a4, nvfp4_w4a4, "
                             "fp8_w8a8)")
        self.name = name
        self.description, self.quantize = lookup(name)
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

    @property
    def learns_steps(self):
        """Whether qat-quantize adds learned steps (StableQAT's LSQ): the
        forward then takes them after the weights, and
        @transformer_loss_init_steps computes their initial values."""
        return bool(self.quantize) and "stableqat" in self.quantize

    def modules(self, weight_decay=0.0):
        """What gets compiled for this method, by name: 'loss' (the
        quantized forward @transformer_loss, and
        @transformer_loss_init_steps where steps are learned), 'step'
        (@transformer_loss_train_step: qat-training-step with AdamW) and
        'logits' (one sequence's logits for sampling: qat-convert's
        @transformer_logits_pack and @transformer_logits_inference, or the
        float @transformer_logits). The same for the JIT (Step) and for
        the GPU artifacts (artifacts.py)."""
        loss, logits = self.forward_modules()
        step = loss.clone()
        qat.run_pipeline(step, "qat-training-step", optimizer="adamw",
                         weight_decay=weight_decay)
        if self.target == "cuda":
            # One function: qat-to-nvptx rejects the step's call of its
            # gradient function (the deallocation of the call's results
            # stores on the host; docs/training.md, "On the GPU").
            qat.run_pipeline(
                step, "symbol-privatize{exclude=transformer_loss_train_step},"
                "inline,symbol-dce")
        if self.quantize:
            qat.run_pipeline(logits, "qat-convert",
                             function="transformer_logits")
        return {"loss": loss, "step": step, "logits": logits}


QUANTIZED = ("wq", "wk", "wv", "wo", "w1", "w2")


class Step:
    """A compiled training step and the forward functions that go with it.

    The training state is a dict: 'params' (name -> array, the float
    weights, in argument order), 'steps' (the learned steps qat-quantize
    adds for StableQAT, in argument order), 'moments' (AdamW's m and v, one
    per trained argument) and 't' (the step count). The ABI is the one of
    docs/differentiate.md and docs/training-graphs.md:

      transformer_loss_train_step(tokens, targets, params..., steps...,
                                  m..., v..., t, lr)
        -> (loss, params..., steps..., m..., v...)
    """

    def __init__(self, method, args):
        self.method = method
        target = method.target
        # LLVM -O2 for the training step, the function called every step;
        # -O0 for the forwards that validation and sampling call a few
        # times (LLVM's -O2 of one is most of its compile time; measured in
        # docs/training.md).
        step_opt = getattr(args, "opt_level", 2)
        few_opt = 0
        mods = method.modules(getattr(args, "weight_decay", 0.0))
        self.loss_fns = qat.compile(mods["loss"], target=target,
                                    opt_level=few_opt)
        self.loss = self.loss_fns["transformer_loss"]
        self.init_steps = None
        if method.learns_steps:
            self.init_steps = self.loss_fns["transformer_loss_init_steps"]
        self.train_step = qat.compile(
            mods["step"], target=target,
            opt_level=step_opt)["transformer_loss_train_step"]
        fns = qat.compile(mods["logits"].clone(), target=target,
                          opt_level=few_opt)
        if method.quantize:
            self._logits_mod = mods["logits"]
            self.pack = fns["transformer_logits_pack"]
            self.inference = fns["transformer_logits_inference"]
            self.sample_source = "qat-convert's inference on packed codes"
        else:
            self.inference = fns["transformer_logits"]
            self.sample_source = "float forward"

    def initial_state(self, weights):
        params = dict(weights)
        steps = {}
        if self.init_steps is not None:
            out = self.init_steps(*params.values())
            out = out if isinstance(out, tuple) else (out,)
            steps = {f"step{i}": np.asarray(v) for i, v in enumerate(out)}
        trained = list(params.values()) + list(steps.values())
        return {"params": params, "steps": steps, "t": 0,
                "moments": [np.zeros_like(p) for p in trained] * 2}

    def forward_params(self, state):
        return list(state["params"].values()) + list(state["steps"].values())

    def train(self, state, tokens, targets, lr):
        state["t"] += 1
        names = list(state["params"]) + list(state["steps"])
        out = self.train_step(tokens, targets, *self.forward_params(state),
                              *state["moments"], np.float32(state["t"]),
                              np.float32(lr))
        loss, rest = float(out[0]), out[1:]
        n = len(names)
        new = dict(zip(names, rest[:n]))
        state["params"] = {k: new[k] for k in state["params"]}
        state["steps"] = {k: new[k] for k in state["steps"]}
        state["moments"] = list(rest[n:])
        return loss

    def inference_args(self, state):
        """What the sampling function takes after the tokens."""
        if not self.method.quantize:
            return self.forward_params(state)
        packed = self.packed(state)
        floats = [v for k, v in state["params"].items()
                  if k.split(".")[-1] not in QUANTIZED]
        return floats + list(packed)

    def packed(self, state):
        out = self.pack(*self.forward_params(state))
        return out if isinstance(out, tuple) else (out,)

    def named_weights(self, state):
        out = dict(state["params"])
        out.update(state["steps"])
        return out

    def save_packed(self, state, path):
        """qat.packed_weights' .npz of the converted model, or False."""
        if not self.method.quantize:
            return False
        from qat import packed_weights
        packed_weights.save(str(path), self.packed(state),
                            function="transformer_logits",
                            module=self._logits_mod)
        return True


def make(name, model_dir, target="cpu"):
    return Method(name, model_dir, target)
