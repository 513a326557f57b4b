#!/usr/bin/env python3
"""Runs the numerical cases (cases.py) on the CPU or a CUDA GPU and checks
every output against the numpy reference (reference.py).

All cases go into one module, compiled once ahead of time into a shared
library that is called through ctypes (python-bindings/qat/compiled.py):
the same path for both targets, so that the GPU half can run on a machine
without LLVM/MLIR.

  run_cases.py run --target=cpu [--seed N]        compile, run and check here
  run_cases.py compile --target=cuda --out DIR    compile for the GPU (here)
  run_cases.py check --artifacts DIR [--seed N]   link, run, check (GPU machine)

The seed picks the shapes and the data; without --seed a fresh one is drawn
and printed, so that a failure can be replayed with --seed.
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
# compiled.py alone (numpy + ctypes): the GPU half runs without the qat extension.
sys.path.insert(0, str(ROOT / "python-bindings" / "qat"))

import cases as C  # noqa: E402
import compiled  # noqa: E402


def fresh_seed():
    return int.from_bytes(os.urandom(4), "little")


def select(all_cases, pattern):
    if not pattern:
        return all_cases
    chosen = [c for c in all_cases if re.search(pattern, c.name)]
    if not chosen:
        raise SystemExit(f"run_cases.py: no case matches '{pattern}'")
    return chosen


def functions(cases):
    """One case per function: cases at several row counts share a function
    whose rows are dynamic."""
    chosen = {}
    for c in cases:
        # The manifest is read from the case of most rows, whose row count
        # no other dimension shares.
        if c.func not in chosen or c.args[0][0][0] > chosen[c.func].args[0][0][0]:
            chosen[c.func] = c
    return list(chosen.values())


def module_text(cases):
    return "module {\n" + "\n".join(c.mlir for c in functions(cases)) + "}\n"


def manifest(cases, seed, target):
    return {"seed": seed, "target": target,
            "functions": [{"name": c.func, "args": [[s, d] for s, d in c.signature_args()],
                           "results": [[s, d] for s, d in c.signature_results()]}
                          for c in functions(cases)]}


def run_tool(cmd):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"run_cases.py: {pathlib.Path(str(cmd[0])).name} failed")


def compile_cases(cases, seed, target, out, build, chip, pipeline_options=""):
    out.mkdir(parents=True, exist_ok=True)
    src = out / "cases.mlir"
    src.write_text(module_text(cases))
    if target == "cpu":
        # qat-run writes every function of the module into the object.
        run_tool([build / "bin/qat-run", src, f"--entry={cases[0].func}",
                  f"--emit-object={out / 'module.o'}", "--opt-level=2"])
        run_tool([os.environ.get("CC", "cc"), "-shared", "-o", out / "module.so",
                  out / "module.o", "-lm"])
    else:
        run_tool([sys.executable, ROOT / "scripts/gpu/compile.py", src, out,
                  "--chip", chip, "--qat-opt", build / "bin/qat-opt",
                  "--pipeline-options", pipeline_options])
    (out / "manifest.json").write_text(json.dumps(manifest(cases, seed, target), indent=1))


class HostCaller:
    """Calls CPU code on numpy buffers; results are malloc'ed by the callee."""

    def __init__(self, module):
        self.module = module
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self.libc.free.argtypes = [ctypes.c_void_p]

    def __call__(self, name, arrays):
        fn = self.module[name]
        hosts = [np.ascontiguousarray(a, compiled.STORAGE[t.dtype])
                 for a, t in zip(arrays, fn.args)]
        pointers = [h.ctypes.data for h in hosts]
        descs = fn.call_on_pointers(pointers, [h.shape for h in hosts])
        outs, freed = [], set(pointers)
        for d, t in zip(descs, fn.results):
            shape = t.result_shape(d)
            size = int(np.prod(shape, dtype=np.int64))
            dtype = np.dtype(compiled.STORAGE[t.dtype])
            buf = (ctypes.c_char * (size * dtype.itemsize)).from_address(
                d.aligned + d.offset * dtype.itemsize)
            outs.append(np.frombuffer(bytes(buf), dtype).reshape(shape))
        for d in descs:
            if d.allocated not in freed:
                self.libc.free(d.allocated)
                freed.add(d.allocated)
        return outs


def to_storage(a, dtype):
    return compiled.to_bf16(a) if dtype == "bf16" else a


def from_storage(a, dtype):
    return compiled.from_bf16(a) if dtype == "bf16" else a


def check_all(cases, seed, call, target):
    failures = 0
    start = time.time()
    for case in cases:
        inputs = case.inputs(seed)
        args = [to_storage(x, d) for x, (_, d, _) in zip(inputs, case.args)]
        try:
            outs = call(case.func, args)
            outs = [from_storage(o, d) for o, (_, d) in zip(outs, case.results)]
            with np.errstate(all="ignore"):  # huge-value edge cases overflow
                detail = case.check(inputs, outs)
            print(f"PASS {case.name}: {detail}")
        except (C.Failure, RuntimeError, ValueError, TypeError) as e:
            failures += 1
            print(f"FAIL {case.name}: {e}")
    for line in C.STATS.report():
        print(f"coverage: {line}")
    print(f"{target}: {len(cases) - failures} of {len(cases)} cases pass "
          f"(seed {seed}, {time.time() - start:.1f} s)")
    if failures:
        print(f"replay: run_cases.py ... --seed {seed}")
    return 1 if failures else 0


def load(artifacts, target):
    if target == "cpu":
        return HostCaller(compiled.CompiledModule(artifacts / "module.so",
                                                   artifacts / "manifest.json"))
    link = subprocess.run([str(ROOT / "scripts/gpu/link.sh"), str(artifacts)],
                          capture_output=True, text=True)
    if link.returncode:
        raise SystemExit("run_cases.py: link.sh failed:\n" + link.stderr)
    runtime_dir = pathlib.Path(os.environ.get("QAT_RUNTIME_BUILD", "/tmp/qat-runtime")) / "lib"
    runtime = compiled.CUDARuntime(runtime_dir / "libqat_cuda_runtime.so")
    module = compiled.CompiledModule(artifacts / "module.so", artifacts / "manifest.json",
                                     runtime)
    return lambda name, arrays: module.call_gpu(name, *arrays)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["run", "compile", "check"])
    ap.add_argument("--target", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--filter", default="", help="regex on case names")
    ap.add_argument("--build", type=pathlib.Path, default=ROOT / "build")
    ap.add_argument("--out", type=pathlib.Path, help="folder of the compiled artifacts")
    ap.add_argument("--artifacts", type=pathlib.Path, help="folder written by 'compile'")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--pipeline-options", default="",
                    help="more qat-to-nvptx options (cuda), e.g. 'hadamard-exchange=0'")
    args = ap.parse_args()

    if args.mode == "check":
        if not args.artifacts:
            ap.error("check needs --artifacts")
        spec = json.loads((args.artifacts / "manifest.json").read_text())
        seed = spec["seed"]
        data_seed = seed if args.seed is None else args.seed
        cases = select(C.all_cases(seed), args.filter)
        names = {f["name"] for f in spec["functions"]}
        cases = [c for c in cases if c.func in names]
        return check_all(cases, data_seed, load(args.artifacts, spec["target"]),
                         spec["target"])

    seed = fresh_seed() if args.seed is None else args.seed
    print(f"seed {seed}")
    cases = select(C.all_cases(seed), args.filter)
    out = args.out or pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"qat-cases-{seed}"
    compile_cases(cases, seed, args.target, out, args.build, args.chip,
                  args.pipeline_options)
    if args.mode == "compile":
        print(f"compiled {len(cases)} cases into {out}")
        return 0
    return check_all(cases, seed, load(out, args.target), args.target)


if __name__ == "__main__":
    sys.exit(main())
