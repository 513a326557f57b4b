"""Every chip the NVPTX backend knows, with a PTX version below its minimum,
gets qat's diagnostic (not LLVM's fatal error); with the minimum qat names,
the kernel compiles to PTX, or the chip is refused with a diagnostic (sm_20
has no warp shuffles), never an LLVM fatal error.

usage: check_ptx_minimums.py QAT_OPT INPUT
"""

import re
import subprocess
import sys


def opt(qat_opt, path, options):
    return subprocess.run([qat_opt, path, f"--qat-to-nvptx={options}"],
                          capture_output=True, text=True, timeout=120)


def main():
    qat_opt, path = sys.argv[1], sys.argv[2]
    run = opt(qat_opt, path, "chip=none")
    chips = re.search(r"the NVPTX backend knows (.*)", run.stderr).group(1).split(", ")
    failures = 0
    for chip in chips:
        low = opt(qat_opt, path, f"chip={chip} features=+ptx32")
        if "LLVM ERROR" in low.stderr or low.returncode not in (0, 1):
            print(f"FAIL {chip}: +ptx32 crashed (exit {low.returncode}):\n{low.stderr}")
            failures += 1
            continue
        # The PTX version qat asks for (the chip's minimum, or 6.0 for the
        # kernels' warp shuffles); none: +ptx32 is accepted.
        found = re.search(r"use \+ptx(\d+)", low.stderr)
        minimum = found.group(1) if found else "32"
        if low.returncode == 1 and "qat-to-nvptx:" in low.stderr and not found:
            print(f"FAIL {chip}: +ptx32 rejected without naming a PTX version:\n{low.stderr}")
            failures += 1
            continue
        ok = opt(qat_opt, path, f"chip={chip} features=+ptx{minimum} format=isa")
        clean_error = ok.returncode == 1 and re.search(r": error: ", ok.stderr)
        if "LLVM ERROR" in ok.stderr or not (ok.returncode == 0 or clean_error):
            print(f"FAIL {chip}: +ptx{minimum} (the minimum qat names) ends with "
                  f"exit {ok.returncode}:\n{ok.stderr}")
            failures += 1
        else:
            outcome = "compiles" if ok.returncode == 0 else \
                "refused: " + re.search(r"error: (.*)", ok.stderr).group(1)
            print(f"{chip}: minimum PTX {minimum}, {outcome}")
    print(f"{len(chips)} chips, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
