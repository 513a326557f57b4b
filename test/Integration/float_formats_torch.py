"""The numpy reference of the float element formats (reference.py: a search
of each format's value table, built from its definition) against PyTorch's
own float8 conversions, where PyTorch has them (2.1 and later): rounding to
the nearest value with ties to even, the encodings as qat's codes, and the
value of every encoding. PyTorch's conversion does not saturate, so the
inputs are clamped to the format's range first, as the formats' definition
in docs/semantics.md does before rounding.

usage: float_formats_torch.py [SEED]
"""

import os
import sys

import numpy as np
import torch

import reference as R

if not hasattr(torch, "float8_e4m3fn"):
    print(f"float-formats-torch: skipped (torch {torch.__version__} has no float8)")
    sys.exit(0)

seed = int(sys.argv[1]) if len(sys.argv) > 1 else int.from_bytes(os.urandom(4), "little")
rng = np.random.default_rng(seed)
print(f"seed {seed}")
failures = 0
for name, dtype in [("e4m3", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2)]:
    q = R.Quantizer(name, 8, "absmax", "per_tensor")
    values = R.format_values(name)
    # Random magnitudes over the whole range and beyond, every value of the
    # format, and every midpoint between neighbours (the ties).
    v = rng.standard_normal(1 << 20) * np.exp(rng.uniform(-30, 14, 1 << 20))
    v = np.concatenate([v, values, -values, (values[1:] + values[:-1]) / 2,
                        -(values[1:] + values[:-1]) / 2]).astype(np.float32)
    clamped = torch.from_numpy(np.clip(v, -q.max_value, q.max_value)).to(dtype)
    _, rounded, negative = R.round_to_format(v, name)
    ours = np.where(negative, -rounded, rounded).astype(np.float32)
    theirs = clamped.to(torch.float32).numpy()
    codes = R.quantize_float(v, q)
    their_codes = clamped.view(torch.int8).numpy().astype(np.int64)
    every = np.arange(-128, 128)
    decoded = R.dequantize_float(every, q)
    their_decoded = torch.from_numpy(every.astype(np.int8)).view(dtype).to(torch.float32).numpy()
    bad = [int(np.sum(ours != theirs)), int(np.sum(codes != their_codes)),
           int(np.sum(~((decoded == their_decoded) | (np.isnan(decoded) & np.isnan(their_decoded)))))]
    failures += sum(bad)
    print(f"{name}: {v.size} values: {bad[0]} rounded and {bad[1]} encoded differently; "
          f"{bad[2]} of 256 encodings decoded differently")
print("float-formats-torch: " + ("ok" if not failures else "FAIL"))
sys.exit(1 if failures else 0)
