"""Checks what `train.py --compile-only DIR` (scripts/run.sh --target=cuda
--compile-only) wrote for a GPU machine without LLVM: the index names the
methods, chip and model; each method has its loss, step and logits modules
as an object file with the kernels' cubin embedded and a manifest whose
functions take and return what the model's parameter list says (counted
from transformer.json, independently of the compiler); quantized methods
keep the converted logits module (the quantizers of the packed file).

usage: check_gpu_artifacts.py DIR METHOD...
"""

import json
import pathlib
import sys

QUANTIZED = ("wq", "wk", "wv", "wo", "w1", "w2")


def check(folder, method, spec, chip, errors):
    params = spec["params"]
    n = len(params)
    # StableQAT learns one step per quantized weight (qat-quantize's LSQ).
    steps = sum(p["name"].split(".")[-1] in QUANTIZED for p in params) \
        if method.startswith("stableqat") else 0
    trained = n + steps
    expect = {
        "loss": {"transformer_loss": (2 + trained, 1)},
        # (tokens, targets, weights, steps, m, v) -> (loss, the same three);
        # AdamW's t and lr are f32 scalars, outside the tensor manifest.
        "step": {"transformer_loss_train_step": (2 + 3 * trained,
                                                 1 + 3 * trained)},
        "logits": {"transformer_logits": (1 + trained, 1)},
    }
    if steps:
        expect["loss"]["transformer_loss_init_steps"] = (n, steps)
    if method != "float":
        quantized = sum(p["name"].split(".")[-1] in QUANTIZED
                        for p in params)
        expect["logits"]["transformer_logits_pack"] = (trained,
                                                       2 * quantized)
        # The float weights, then codes and steps of each quantized one.
        expect["logits"]["transformer_logits_inference"] = (
            1 + n - quantized + 2 * quantized, 1)
    for kind, functions in expect.items():
        art = folder / method / kind
        obj = (art / "module.o").read_bytes()
        if obj[:4] != b"\x7fELF":
            errors.append(f"{art}/module.o is not an ELF object")
        # The cubin is an ELF image inside the host object, for the chip.
        if obj.find(b"\x7fELF", 4) < 0 or chip.encode() not in obj:
            errors.append(f"{art}/module.o embeds no {chip} cubin")
        manifest = json.loads((art / "manifest.json").read_text())
        if manifest["chip"] != chip:
            errors.append(f"{art}: chip {manifest['chip']}, not {chip}")
        got = {f["name"]: (len(f["args"]), len(f["results"]))
               for f in manifest["functions"]}
        for name, shape in functions.items():
            if got.get(name) != shape:
                errors.append(f"{art}: @{name} takes/returns {got.get(name)}"
                              f" tensors, expected {shape}")
            if f"_mlir_ciface_{name}".encode() not in obj:
                errors.append(f"{art}/module.o has no _mlir_ciface_{name}")
        kept = sorted(p.name for p in art.iterdir())
        want = ["manifest.json", "module.o"] + \
            (["module.mlir"] if kind == "logits" and method != "float" else [])
        if kept != sorted(want):
            errors.append(f"{art} holds {kept}, expected {sorted(want)}")


def main():
    folder, methods = pathlib.Path(sys.argv[1]), sys.argv[2:]
    index = json.loads((folder / "artifacts.json").read_text())
    spec = json.loads((folder / "model" / "transformer.json").read_text())
    errors = []
    if index["config"] != spec["config"]:
        errors.append("the index's model config differs from model/'s")
    if sorted(index["methods"]) != sorted(methods):
        errors.append(f"the index lists {index['methods']}, expected "
                      f"{methods}")
    for m in methods:
        check(folder, m, spec, index["chip"], errors)
    for e in errors:
        print(e)
    print("OK" if not errors else "FAIL")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
