"""Random floating-point parameters of the gradient estimators survive
print -> parse -> print bit for bit.

usage: check_float_roundtrip.py QAT_OPT [SEED]

Writes `trust<T>` and `fourier<[a, ...]>` with random doubles (log-uniform
over the whole range the verifiers accept, both signs for amplitudes, plus
edge cases: powers of ten, subnormals, the largest double), prints the
module with qat-opt, checks that every printed value is the same double as
written, and that printing the print again changes nothing. The seed is
printed so that a failure can be replayed.
"""

import random
import re
import struct
import subprocess
import sys
import time

MAX_AMPLITUDE_SUM = 0.99 / (2 ** 0.5 * 3.141592653589793)  # the verifier's bound


def literal(x):
    """An MLIR float literal that denotes exactly x (17 significant digits)."""
    return "%.16e" % x


def log_uniform(rng, lo, hi):
    import math
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def main():
    qat_opt = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
    print(f"seed {seed}")
    rng = random.Random(seed)
    trusts = [100.0, 1e-5, 1e5, 0.25, 1.0, 5e-324, 2.2250738585072014e-308,
              1.7976931348623157e308, 123456789.0, 1e22, 0.1]
    trusts += [log_uniform(rng, 5e-324, 1.7e308) for _ in range(300)]
    trusts += [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(62)))[0]
               for _ in range(100)]
    trusts = [t for t in trusts if t > 0]
    fouriers = [[1e-5], [-1e-5, 0.1], [0.21], [5e-324], [0.1, -0.0, 0.0]]
    for _ in range(150):
        n = rng.randint(1, 4)
        amplitudes = [rng.choice([-1, 1]) * log_uniform(rng, 1e-300, 0.2)
                      for _ in range(n)]
        total = sum(abs(a) for a in amplitudes)
        if total >= MAX_AMPLITUDE_SUM:
            amplitudes = [a * MAX_AMPLITUDE_SUM / total * 0.999 for a in amplitudes]
        fouriers.append(amplitudes)

    lines, expected = [], []
    for i, t in enumerate(trusts):
        lines.append(f"  qat.doc.t{i} = #qat.trust<{literal(t)}>")
        expected.append(("t", i, [t]))
    for i, amplitudes in enumerate(fouriers):
        inner = ", ".join(literal(a) for a in amplitudes)
        lines.append(f"  qat.doc.f{i} = #qat.fourier<[{inner}]>")
        expected.append(("f", i, amplitudes))
    module = "module attributes {\n" + ",\n".join(lines) + "\n} {}\n"

    def opt(text):
        run = subprocess.run([qat_opt], input=text, capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stderr)
            sys.exit(f"FAIL: qat-opt rejected its input (seed {seed})")
        return run.stdout

    first = opt(module)
    second = opt(first)
    failures = 0
    if first != second:
        print("FAIL: the print does not print the same again")
        failures += 1
    printed = {}
    for name, body in re.findall(r"qat\.doc\.(\w+) = #qat\.\w+<\[?([^\]>]*)\]?>", first):
        printed[name] = [float(v) for v in body.split(",")]
    for kind, i, values in expected:
        got = printed.get(f"{kind}{i}")
        same = got is not None and len(got) == len(values) and all(
            struct.pack("<d", a) == struct.pack("<d", b) for a, b in zip(got, values))
        if not same:
            print(f"FAIL: {kind}{i}: wrote {values!r}, printed {got!r}")
            failures += 1
    print(f"{len(expected)} attributes, {sum(len(v) for _, _, v in expected)} "
          f"values, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
