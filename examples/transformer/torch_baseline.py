#!/usr/bin/env python3
"""The PyTorch side of the GPU benchmark (gpu_run.py): the transformer's
training step (forward under bf16 autocast, backward, torch.optim.AdamW) of
examples/transformer/reference.py, in the variants below, each timed over
--steps steps from the same weights and batches as qat's runs.

gpu_run.py runs every torch.compile variant in a process of its own (a
compiler crash, hang or leftover state stays there; no qat library is loaded
in it) and tries them in the order a user would, stopping at the first that
compiles:

1. torch.compile as is (mode "default");
2. mode="max-autotune-no-cudagraphs";
3. dynamic=False;
4. fullgraph=True (fullgraph=False is the default, variant 1): one graph
   or an error naming the graph break;
5. the pattern of the last failure rewritten: the embedding lookup
   wte[tokens] (its backward is aten.full + index_put, where inductor
   asserted: docs/training.md) as a product with one-hot rows, as qat's
   graph computes it;
6. and the cross-entropy's int64 gather as a product with one-hot targets.

usage: torch_baseline.py --model DIR --json OUT --variant NAME [--variant ..]
Prints one line per variant; OUT gets {variant: result} after each one, a
result holding ms_per_step, losses, first_step_s or the exact error (and
"environment": the torch version and the device).
"""

import argparse
import json
import pathlib
import sys
import time
import traceback

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# methods.py imports qat; without the extension (the GPU machine) the
# source package serves, as its __init__ says.
sys.path.append(str(HERE.parents[1] / "python-bindings"))

import corpus  # noqa: E402
import methods  # noqa: E402


def one_hot_model(reference, rewrite):
    """reference.Transformer with the embedding's gather and, with
    'targets', the cross-entropy's gather replaced by one-hot products."""
    import torch
    F = torch.nn.functional

    class OneHot(reference.Transformer):
        def embed(self, tokens):
            B = tokens.shape[0]
            wte, wpe = self.w("wte"), self.w("wpe")
            rows = F.one_hot(tokens.reshape(-1), wte.shape[0]).to(wte.dtype)
            return (rows @ wte).reshape(B, -1, wte.shape[1]).add(wpe) \
                .reshape(-1, wte.shape[1])

        def loss(self, tokens, targets):
            logits = self.logits(tokens)
            if "targets" not in rewrite:
                return F.cross_entropy(logits, targets.reshape(-1))
            hot = F.one_hot(targets.reshape(-1), logits.shape[-1])
            logp = F.log_softmax(logits.float(), -1)
            return -(hot.to(logp.dtype) * logp).sum(-1).mean()

    return OneHot


# name -> (method, torch.compile keyword arguments or None, rewrites)
VARIANTS = {
    "bf16 eager": ("float", None, ()),
    "QuEST W4A4 eager": ("quest", None, ()),
    "StableQAT W4 eager": ("stableqat", None, ()),
    "bf16 compile": ("float", {}, ()),
    "bf16 compile max-autotune-no-cudagraphs":
        ("float", {"mode": "max-autotune-no-cudagraphs"}, ()),
    "bf16 compile dynamic=False": ("float", {"dynamic": False}, ()),
    "bf16 compile fullgraph=True": ("float", {"fullgraph": True}, ()),
    "bf16 compile one-hot embedding": ("float", {}, ("embedding",)),
    "bf16 compile one-hot embedding+targets":
        ("float", {}, ("embedding", "targets")),
}
# The key of the result file that says which PyTorch ran where.
ENV = "environment"
EAGER = [k for k, v in VARIANTS.items() if v[1] is None]
COMPILE_ORDER = [k for k, v in VARIANTS.items() if v[1] is not None]


def run(name, a, spec, data):
    """ms per step (median after the first 5), losses and the first step's
    seconds (compilation included) of one variant."""
    import torch
    import reference
    reference.COUNT_TIES = False  # no host synchronization in the step
    method_name, compile_kw, rewrite = VARIANTS[name]
    cfg = spec["config"]
    B, T = cfg["batch"], cfg["context"]
    dev = a.device
    w = methods.init_weights(spec, a.seed)
    quantized = [f"l{i}.{n}" for i in range(cfg["layers"])
                 for n in methods.QUANTIZED] if method_name != "float" else ()
    method = reference.Method(method_name, bits=None if method_name ==
                              "float" else 4)
    steps = None
    if method_name == "stableqat":
        # LSQ's initialization, as qat's @transformer_loss_init_steps:
        # 2 mean|w| / sqrt(qp) per row.
        qp = 2 ** (method.bits - 1) - 1
        steps = {k: (2 * np.abs(w[k]).mean(1, keepdims=True) / np.sqrt(qp))
                 .astype(np.float32) for k in quantized}
    cls = one_hot_model(reference, rewrite) if rewrite else \
        reference.Transformer
    model = cls(cfg, w, method, quantized, steps).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    loss_fn = model.loss
    if compile_kw is not None:
        if not hasattr(torch, "compile"):
            raise RuntimeError(f"torch {torch.__version__} has no "
                               "torch.compile")
        loss_fn = torch.compile(model.loss, **compile_kw)
    batches = data.train_batches(B, T, a.seed)
    losses, times = [], []
    for _ in range(a.steps):
        x, y = next(batches)
        x, y = torch.tensor(x).to(dev), torch.tensor(y).to(dev)
        if dev == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(dev, dtype=torch.bfloat16):
            loss = loss_fn(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))  # synchronizes
        times.append(time.perf_counter() - start)
    return {"ms_per_step":
            float(np.median(times[min(5, len(times) - 1):])) * 1e3,
            "losses": losses, "first_step_s": times[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=pathlib.Path, required=True,
                    help="folder with transformer.json")
    ap.add_argument("--variant", action="append", required=True,
                    choices=list(VARIANTS))
    ap.add_argument("--json", type=pathlib.Path, required=True)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--after-qat", type=pathlib.Path, metavar="ARTIFACTS",
                    help="first train 5 qat float steps in this process "
                    "with ARTIFACTS (linked), before importing torch: the "
                    "order in which gpu_run.py ran both in one process "
                    "until 2026-12-06, when torch.compile failed")
    a = ap.parse_args()
    spec = json.loads((a.model / "transformer.json").read_text())
    data = corpus.Corpus()
    if a.after_qat:
        import artifacts
        step = artifacts.ArtifactStep(
            methods.make("float", a.after_qat / "model", "cuda"),
            a.after_qat, artifacts.open_runtime())
        state = step.initial_state(methods.init_weights(spec, a.seed))
        cfg = spec["config"]
        batches = data.train_batches(cfg["batch"], cfg["context"], a.seed)
        for _ in range(5):
            x, y = next(batches)
            step.train(state, corpus.one_hot(x, cfg["vocab"]),
                       corpus.one_hot(y, cfg["vocab"]), a.lr)
    import torch
    device = torch.cuda.get_device_name() if a.device == "cuda" else a.device
    out = {ENV: {"torch": torch.__version__, "device": device}}
    for name in a.variant:
        try:
            out[name] = run(name, a, spec, data)
            print(f"torch {name}: {out[name]['ms_per_step']:.2f} ms/step "
                  f"(first step {out[name]['first_step_s']:.1f} s)",
                  flush=True)
        except Exception as e:  # the exact error is the result
            out[name] = {"error": f"{type(e).__name__}: {e}",
                         "traceback": traceback.format_exc()[-4000:]}
            print(f"torch {name}: failed: {out[name]['error']}", flush=True)
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
