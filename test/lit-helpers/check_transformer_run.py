"""Checks a run of examples/transformer/train.py: every method (those named
after the folder, if any, must all be there) has a validation loss that fell
from the initial weights' and is finite, and the plot, the trained weights
and (for quantized methods) the packed weights were written."""

import json
import math
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
results = json.loads((out / "losses.json").read_text())
ok = True
missing = sorted(set(sys.argv[2:]) - set(results))
if missing:
    print(f"methods missing from the run: {', '.join(missing)}")
    ok = False
for name, r in results.items():
    first, last = r["evals"][0][1], r["evals"][-1][1]
    fell = math.isfinite(last) and last < first
    print(f"{name}: validation loss {first:.4f} -> {last:.4f} "
          f"{'falls' if fell else 'DOES NOT FALL'}")
    ok &= fell
    need = [f"{name}.weights.npz"] + ([] if name == "float"
                                      else [f"{name}.packed.npz"])
    for f in need:
        if not (out / f).stat().st_size:
            print(f"{f} is empty")
            ok = False
if (out / "losses.png").read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
    print("losses.png is not a PNG")
    ok = False
print("OK" if ok else "FAIL")
sys.exit(0 if ok else 1)
