#!/usr/bin/env python3
"""Applies each deliberate fault of scripts/mutations.txt to a scratch copy of
the source tree, rebuilds what changed, runs the tests the fault names and
reports whether they caught it (docs/testing.md).

  scripts/mutation-check.py                 every fault (slow: not run in CI)
  scripts/mutation-check.py --only 'mlp-'   the faults whose name matches
  scripts/mutation-check.py --anchors       only check that every anchor is
                                            found exactly once (no build)

The scratch copy (default .mutation/ in the repository, ignored by git) holds
the tracked and untracked-not-ignored files of this working tree and its own
build folder; it is re-synced before each fault, so a fault's edits (and
whatever its `after` command wrote) never reach the next one. ccache makes the
first build mostly hits when the scratch copy is under ccache's base_dir.

Outcomes: caught (a named test failed), SURVIVED (all passed), ANCHOR (the
snippet is not in the file exactly once: the fault was not applied, re-anchor
it), BUILD FAILED (the mutant does not compile: fix the fault). Anything but
caught makes the exit status 1; the baseline (no fault) must pass first.
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIT = "/usr/lib/llvm-22/bin/lit"
# The Python package too: tests such as Autodiff/end-to-end-run.test import it.
TARGETS = ["qat-opt", "qat-run", "QATPython"]


class Fault:
    def __init__(self, name):
        self.name, self.why, self.edits, self.after, self.tests = name, "", [], [], []


def parse(path):
    faults, fault = [], None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[([\w.-]+)\]", line.strip())
        if m:
            fault = Fault(m.group(1))
            faults.append(fault)
            continue
        key, sep, value = line.partition(": ")
        if not sep or fault is None:
            sys.exit(f"{path}:{number}: expected '[name]' or 'key: value', got {line!r}")
        value = value.replace("\\n", "\n")
        if key == "why":
            fault.why = value
        elif key == "file":
            fault.edits.append([value, None, None])
        elif key in ("old", "new"):
            if not fault.edits:
                sys.exit(f"{path}:{number}: '{key}' before any 'file'")
            fault.edits[-1][1 if key == "old" else 2] = value
        elif key == "after":
            fault.after.append(value)
        elif key == "tests":
            fault.tests += value.split()
        else:
            sys.exit(f"{path}:{number}: unknown key '{key}'")
    for f in faults:
        if not f.edits or not f.tests or any(None in e for e in f.edits):
            sys.exit(f"{path}: fault [{f.name}] needs file/old/new edits and tests")
    names = [f.name for f in faults]
    if len(set(names)) != len(names):
        sys.exit(f"{path}: fault names repeat")
    return faults


def anchor_problems(fault, tree):
    """Edits whose snippet is not in its file exactly once."""
    problems = []
    for file, old, _ in fault.edits:
        path = tree / file
        count = path.read_text().count(old) if path.exists() else -1
        if count != 1:
            where = "file missing" if count < 0 else f"found {count} times"
            problems.append(f"{file}: {where}: {old!r}")
    return problems


def apply(fault, tree):
    for file, old, new in fault.edits:
        path = tree / file
        text = path.read_text()
        path.write_text(text.replace(old, new, 1))


def source_files():
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout
    return [f for f in out.decode().split("\0") if f]


def sync(scratch):
    """Makes scratch/src hold this tree's sources; files already equal are
    left alone (their times too), so ninja rebuilds only what a fault changed."""
    src = scratch / "src"
    wanted = set(source_files())
    for rel in wanted:
        a, b = ROOT / rel, src / rel
        if a.is_symlink() or not a.is_file():
            continue
        if b.is_file() and b.read_bytes() == a.read_bytes():
            continue
        b.parent.mkdir(parents=True, exist_ok=True)
        # A fresh time (not copy2's), so that ninja rebuilds a restored file.
        shutil.copyfile(a, b)
        shutil.copymode(a, b)
    return src


def run(cmd, cwd, log):
    with open(log, "a") as out:
        out.write(f"$ {' '.join(map(str, cmd))}\n")
        out.flush()
        return subprocess.run([str(c) for c in cmd], cwd=cwd, stdout=out,
                              stderr=subprocess.STDOUT).returncode


def build(src, jobs, log):
    b = src / "build"
    if not (b / "build.ninja").exists():
        rc = run(["cmake", "-G", "Ninja", "-S", src, "-B", b, "-DCMAKE_BUILD_TYPE=Release",
                  "-DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir",
                  f"-DLLVM_EXTERNAL_LIT={LIT}"], src, log)
        if rc:
            return rc
    return run(["ninja", "-C", b, "-j", str(jobs), *TARGETS], src, log)


def run_tests(src, tests, log):
    """The tests that failed, of `tests`, each with the names of the cases
    its output shows as FAIL (run_cases.py, mlp_reference.py)."""
    failed = []
    for t in tests:
        proc = subprocess.run([sys.executable, LIT, "-v", str(src / "build/test" / t)], cwd=src,
                              capture_output=True, text=True)
        with open(log, "a") as out:
            out.write(f"$ lit -v {t}\n{proc.stdout}{proc.stderr}")
        if proc.returncode:
            # The runners' "FAIL name:" lines, also as FileCheck quotes its input
            # ("   5: FAIL name: ...").
            cases = list(dict.fromkeys(
                re.findall(r"^\s*(?:\d+: )?FAIL ([\w.-]+):", proc.stdout, re.M)))
            # FileCheck shows the first FAIL line and a window of its input.
            failed.append(f"{t} (FAIL seen: {' '.join(cases[:3])}"
                          f"{' ...' if len(cases) > 3 else ''})" if cases else t)
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faults", type=pathlib.Path, default=ROOT / "scripts/mutations.txt")
    ap.add_argument("--only", default="", help="regex on fault names")
    ap.add_argument("--anchors", action="store_true",
                    help="check that every anchor is found exactly once in this tree; no build")
    ap.add_argument("--scratch", type=pathlib.Path, default=ROOT / ".mutation")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("QAT_JOBS", "2")))
    args = ap.parse_args()

    faults = [f for f in parse(args.faults) if re.search(args.only, f.name)]
    if not faults:
        sys.exit(f"mutation-check: no fault matches '{args.only}'")
    missing = {f.name: anchor_problems(f, ROOT) for f in faults}
    for name, problems in missing.items():
        for p in problems:
            print(f"ANCHOR {name}: {p}")
    if args.anchors:
        bad = sum(1 for p in missing.values() if p)
        print(f"anchors: {len(faults) - bad} of {len(faults)} faults anchored")
        return 1 if bad else 0

    args.scratch.mkdir(parents=True, exist_ok=True)
    log = args.scratch / "log.txt"
    log.write_text("")
    print(f"scratch {args.scratch} (log: {log})", flush=True)
    src = sync(args.scratch)
    if build(src, args.jobs, log):
        sys.exit(f"mutation-check: the unmutated tree does not build (see {log})")
    all_tests = sorted({t for f in faults for t in f.tests})
    failed = run_tests(src, all_tests, log)
    if failed:
        sys.exit(f"mutation-check: the unmutated tree fails {', '.join(failed)} (see {log})")
    print(f"baseline: {len(all_tests)} tests pass", flush=True)

    results = []
    for fault in faults:
        start = time.time()
        if missing[fault.name]:
            results.append((fault, "ANCHOR", []))
            continue
        src = sync(args.scratch)
        apply(fault, src)
        for cmd in fault.after:
            if run(cmd.format(python=sys.executable).split(), src, log):
                sys.exit(f"mutation-check: '{cmd}' failed for [{fault.name}] (see {log})")
        if build(src, args.jobs, log):
            outcome, failed = "BUILD FAILED", []
        else:
            failed = run_tests(src, fault.tests, log)
            outcome = "caught" if failed else "SURVIVED"
        results.append((fault, outcome, failed))
        print(f"{outcome:8} {fault.name}: {fault.why} "
              f"[{', '.join(failed) or 'no test failed'}; {time.time() - start:.0f} s]", flush=True)
    sync(args.scratch)  # leave the scratch copy unmutated

    print("\n| fault | what | tests run | outcome | failing tests |\n|---|---|---|---|---|")
    for fault, outcome, failed in results:
        print(f"| {fault.name} | {fault.why} | {', '.join(fault.tests)} | {outcome} | "
              f"{', '.join(failed) or '-'} |")
    caught = sum(1 for _, o, _ in results if o == "caught")
    print(f"\nmutation check: {caught} of {len(results)} faults caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
