"""Save and load the packed weights of a model that qat-convert deployed.

`qat-opt --qat-convert` turns a trained function @f into

* @f_pack(params..., steps...) -> (codes_0, steps_0, codes_1, steps_1, ...):
  the integer codes of each quantized weight (two 4-bit codes per int8 at
  4 bits or less) and its steps, computed once from the trained weights;
* @f_inference(other args..., codes_0, steps_0, codes_1, steps_1, ...).

This module stores what @f_pack returned so that inference can start from
the file (docs/training-graphs.md). The format is a NumPy .npz archive
(uncompressed, loadable without pickling) with

* `manifest`: a JSON string (below);
* `codes_<i>`, `steps_<i>`: the arrays of quantized weight i, in the order
  of @f_pack's results.

Manifest (version 1):

    {"format": "qat-packed-weights", "version": 1,
     "function": "f", "pack": "f_pack", "inference": "f_inference",
     "weights": [{"index": 0, "codes": "codes_0", "steps": "steps_0",
                  "codes_dtype": "int8", "codes_shape": [64, 128],
                  "steps_dtype": "float32", "steps_shape": [64, 1],
                  "quantizer": "<centered, 4 bits, rms_gaussian, per_row>",
                  "packed": true}, ...]}

`quantizer` and `packed` are recorded when the module is given to `save`
(null otherwise). Pure numpy: it works where the qat extension is not built
(the GPU machine).
"""

import json
import re

import numpy as np

FORMAT = "qat-packed-weights"
VERSION = 1

_QUANTIZE = re.compile(
    r"qat\.quantize\s+%[\w.#]+,\s*%[\w.#]+\s+as\s+(<[^<>]*(?:<\d+>)?>)"
    r"(\s+packed)?")


def _pack_quantizers(module_text, function):
    """The quantizer (and whether packed) of each qat.quantize of @f_pack,
    in order: one per quantized weight."""
    start = module_text.find(f"func.func @{function}_pack(")
    if start < 0:
        raise ValueError(f"the module has no @{function}_pack; run "
                         "qat-opt --qat-convert on it first")
    end = module_text.find("\n  func.func ", start + 1)
    body = module_text[start:end if end >= 0 else len(module_text)]
    return [(m.group(1), bool(m.group(2))) for m in _QUANTIZE.finditer(body)]


def save(path, packed, *, function, module=None):
    """Writes the results of @<function>_pack to `path` (.npz).

    packed: the arrays @<function>_pack returned, codes and steps
    alternating. module: the converted module (qat.Module or its text), to
    record each weight's quantizer and check that it has as many quantized
    weights as `packed` holds.
    """
    packed = [np.asarray(a) for a in packed]
    if len(packed) % 2:
        raise ValueError(f"expected codes and steps in pairs, got {len(packed)} "
                         "arrays")
    quantizers = None
    if module is not None:
        quantizers = _pack_quantizers(str(module), function)
        if len(quantizers) != len(packed) // 2:
            raise ValueError(
                f"@{function}_pack quantizes {len(quantizers)} weights, but "
                f"{len(packed) // 2} codes/steps pairs were given")
    weights, arrays = [], {}
    for i in range(len(packed) // 2):
        codes, steps = packed[2 * i], packed[2 * i + 1]
        if not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"weight {i}: codes must be integers, got "
                             f"{codes.dtype}")
        if not np.issubdtype(steps.dtype, np.floating):
            raise ValueError(f"weight {i}: steps must be floats, got "
                             f"{steps.dtype}")
        arrays[f"codes_{i}"], arrays[f"steps_{i}"] = codes, steps
        weights.append({
            "index": i, "codes": f"codes_{i}", "steps": f"steps_{i}",
            "codes_dtype": codes.dtype.name, "codes_shape": list(codes.shape),
            "steps_dtype": steps.dtype.name, "steps_shape": list(steps.shape),
            "quantizer": quantizers[i][0] if quantizers else None,
            "packed": quantizers[i][1] if quantizers else None,
        })
    manifest = {"format": FORMAT, "version": VERSION, "function": function,
                "pack": f"{function}_pack", "inference": f"{function}_inference",
                "weights": weights}
    with open(path, "wb") as f:
        np.savez(f, manifest=np.array(json.dumps(manifest)), **arrays)
    return manifest


def load(path):
    """Reads a file that `save` wrote: (arrays, manifest), the arrays in the
    order @<function>_inference takes them (codes_0, steps_0, ...)."""
    with np.load(path, allow_pickle=False) as archive:
        if "manifest" not in archive.files:
            raise ValueError(f"{path}: not a qat packed-weights file (no "
                             "manifest)")
        manifest = json.loads(str(archive["manifest"]))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{path}: format {manifest.get('format')!r}, "
                             f"expected {FORMAT!r}")
        if manifest.get("version") != VERSION:
            raise ValueError(f"{path}: version {manifest.get('version')}, this "
                             f"reader knows {VERSION}")
        arrays = []
        for w in manifest["weights"]:
            for role in ("codes", "steps"):
                name = w[role]
                if name not in archive.files:
                    raise ValueError(f"{path}: missing array {name!r}")
                a = archive[name]
                if (a.dtype.name != w[f"{role}_dtype"]
                        or list(a.shape) != w[f"{role}_shape"]):
                    raise ValueError(
                        f"{path}: {name} is {a.dtype.name}{list(a.shape)}, the "
                        f"manifest says {w[f'{role}_dtype']}{w[f'{role}_shape']}")
                arrays.append(a)
    return arrays, manifest
