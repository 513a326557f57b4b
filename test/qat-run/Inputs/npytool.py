"""Makes .npy inputs and checks .npy outputs of qat-run against numpy.

usage:
  npytool.py save OUT.npy EXPR [NAME=FILE.npy ...]
      Evaluates EXPR (numpy as np, plus the named arrays) and saves it.
  npytool.py raw OUT EXPR
      Writes the bytes EXPR evaluates to (for broken files).
  npytool.py check - EXPR [NAME=FILE.npy ...]
      Prints EXPR and fails unless it is true.
  npytool.py compare ACTUAL.npy EXPR [NAME=FILE.npy ...]
                     [--dtype=D] [--rtol=R] [--atol=A]
      Checks that ACTUAL has EXPR's shape, dtype D (default: EXPR's) and
      values within atol + rtol * |expected| (default: exactly equal), prints
      the max abs error, and fails on any NaN that EXPR does not have.

Helpers available in EXPR: bf16(x) rounds float32 to bfloat16 (nearest
even) and back, as qat-run converts bf16 inputs; erf(x) is math.erf;
--import=FILE.py makes that Python file available as `ref`.
"""

import importlib.util
import math
import sys

import numpy as np


def bf16(x):
    """Round float32 values to bfloat16 (nearest even), returned as float32."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32)


def parse(argv):
    names = {"np": np, "bf16": bf16, "erf": np.vectorize(math.erf)}
    options = {}
    for arg in argv:
        if arg.startswith("--import="):
            spec = importlib.util.spec_from_file_location("ref", arg[9:])
            names["ref"] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(names["ref"])
        elif arg.startswith("--"):
            key, value = arg[2:].split("=", 1)
            options[key] = value
        else:
            name, path = arg.split("=", 1)
            names[name] = np.load(path)
    return names, options


def main():
    command, path, expr = sys.argv[1:4]
    names, options = parse(sys.argv[4:])
    if command == "raw":
        with open(path, "wb") as f:
            f.write(eval(expr, names))
        return 0
    expected = np.asarray(eval(expr, names))
    if command == "save":
        np.save(path, expected)
        return 0
    if command == "check":
        print(f"{expr}: {bool(expected)}")
        return 0 if expected else 1
    actual = np.load(path)
    dtype = np.dtype(options.get("dtype", expected.dtype))
    if actual.dtype != dtype:
        print(f"FAIL: dtype {actual.dtype}, expected {dtype}")
        return 1
    if actual.shape != expected.shape:
        print(f"FAIL: shape {actual.shape}, expected {expected.shape}")
        return 1
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        print("FAIL: NaN where the reference has none (or the reverse)")
        return 1
    rtol = float(options.get("rtol", 0))
    atol = float(options.get("atol", 0))
    # Equal values (infinities included) and NaN pairs differ by 0.
    error = np.where(np.isnan(e) | (a == e), 0, np.abs(a - e))
    worst = float(error.max()) if error.size else 0.0
    print(f"max abs error {worst:.3g}")
    if (error > atol + rtol * np.abs(e)).any():
        print(f"FAIL: expected\n{expected}\ngot\n{actual}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
