#!/usr/bin/env python3
"""Per-kernel GPU times of the fused row kernels (the quantizer functions of
benchmarks/qat_kernels.py), for several compiled variants side by side, with
a bitwise comparison of every variant's outputs against the first one.

usage: profile_rows.py NAME=DIR [NAME=DIR ...] [--filter REGEX] [--json PATH]
                      [--matmul]
       profile_rows.py --one NAME=DIR [FUNCTION ...]   (one call each, all
                                                  by default; e.g. under ncu)

Each DIR holds a module compiled by scripts/gpu/compile.py from the
functions of qat_kernels.py (matmuls may be left out); a variant with other
pass options runs convert-qat-to-gpu first, e.g.
  qat-opt m.mlir --pass-pipeline='builtin.module(func.func(
      convert-qat-to-gpu{elements-per-thread=32}))' -o v.mlir
and compiles v.mlir (qat-to-nvptx then finds no qat ops left). Times are GPU
milliseconds per call with the GPU kept busy (as in run_gpu.py); %BW is the
bytes each function must move (every input read once, every output written
once) over the measured copy bandwidth. Inputs are those of run_gpu.py:
bf16 x, dy ~ N(0, 1), w ~ N(0, 0.02^2), learned steps absmax(w)/7, and the
QuEST backward gets the steps (and the deviations, qat.rms) its forward
computed; questr_ is QuEST with the deviation recomputed in the backward.
With --matmul the qat.matmul functions (matmul_s8_MxNxK, matmul_s4_MxNxK)
run too, on random codes and steps.

Variants may be compiled with static or dynamic rows (qat_kernels.py
--dynamic: the same function names, M or N as `?`): each line then shows
every later variant's time over the first one's (e.g. dynamic/static), and a
last line the largest and the geometric mean of those ratios.
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
# compiled.py alone (numpy + ctypes): no qat extension on the GPU machine.
sys.path.insert(0, str(ROOT / "python-bindings" / "qat"))
import compiled  # noqa: E402

from run_gpu import bench_gpu, copy_bandwidth  # noqa: E402


def link(spec):
    """Links a variant's module.o with the qat CUDA runtime (built on first use)."""
    path = pathlib.Path(spec.split("=", 1)[1]).resolve()
    subprocess.run([str(ROOT / "scripts/gpu/link.sh"), str(path)], check=True,
                   stdout=subprocess.DEVNULL)


class Variant:
    def __init__(self, spec, runtime):
        self.name, path = spec.split("=", 1)
        self.dir = pathlib.Path(path).resolve()
        self.rt = runtime
        self.module = compiled.CompiledModule(self.dir / "module.so",
                                              self.dir / "manifest.json", runtime)

    def functions(self):
        return list(self.module.functions)

    def call(self, name, *tensors):
        return self.module[name].call_on_pointers([t.data_ptr() for t in tensors],
                                                  [tuple(t.shape) for t in tensors])

    def run(self, name, *tensors):
        for d in self.call(name, *tensors):
            self.rt.free(d.allocated)

    def fetch(self, name, *tensors):
        fn = self.module[name]
        descs = self.call(name, *tensors)
        torch.cuda.synchronize()
        outs = [self.rt.download(d.aligned, t, t.result_shape(d))
                for d, t in zip(descs, fn.results)]
        for d in descs:
            self.rt.free(d.allocated)
        self.rt.check()
        return outs


def make_runtime():
    import ctypes
    rt_dir = pathlib.Path(os.environ.get("QAT_RUNTIME_BUILD", "/tmp/qat-runtime")) / "lib"
    rt = compiled.CUDARuntime(rt_dir / "libqat_cuda_runtime.so")
    rt.lib.qat_cuda_set_stream.argtypes = [ctypes.c_void_p]
    rt.lib.qat_cuda_set_stream(torch.cuda.current_stream().cuda_stream)
    return rt


def inputs_for(name, cache):
    """The arguments of a qat_kernels.py function, and the bytes it must move."""
    mm = re.fullmatch(r"matmul_(s4|s8)_(\d+)x(\d+)x(\d+)", name)
    if mm:
        kind, m, n, k = mm.group(1), *map(int, mm.groups()[1:])
        if name not in cache:
            g = torch.Generator(device="cuda").manual_seed(m * 7 + n * 13 + k)
            kc = k // 2 if kind == "s4" else k
            # Any byte is a valid s8 code, or two packed 4-bit codes.
            a = torch.randint(-128, 128, (m, kc), device="cuda", dtype=torch.int8, generator=g)
            b = torch.randint(-128, 128, (n, kc), device="cuda", dtype=torch.int8, generator=g)
            sa = torch.rand(m, 1, device="cuda", generator=g) * 0.01 + 0.001
            sb = torch.rand(n, 1, device="cuda", generator=g) * 0.01 + 0.001
            cache[name] = (a, b, sa, sb)
        return cache[name], m * kc + n * kc + (m + n) * 4 + m * n * 2
    kind, shape = re.fullmatch(r"(\w+?)_(\d+x\d+)", name).groups()
    rows, cols = map(int, shape.split("x"))
    key = (rows, cols)
    if key not in cache:
        g = torch.Generator(device="cuda").manual_seed(rows * 100003 + cols)
        x = torch.randn(rows, cols, device="cuda", dtype=torch.bfloat16, generator=g)
        dy = torch.randn(rows, cols, device="cuda", dtype=torch.bfloat16, generator=g)
        w = (torch.randn(rows, cols, device="cuda", generator=g) * 0.02).to(torch.bfloat16)
        s = (w.float().abs().amax(-1, keepdim=True) / 7).contiguous()
        cache[key] = dict(x=x, dy=dy, w=w, s=s)
    t = cache[key]
    n = rows * cols
    if kind == "quest_fwd":
        return (t["x"],), n * 2.5 + rows * 8
    if kind == "quest_bwd":
        return (t["dy"], t["x"], t["quest_steps"], t["quest_std"]), n * 6 + rows * 8
    if kind == "questr_fwd":
        return (t["x"],), n * 2.5 + rows * 4
    if kind == "questr_bwd":
        return (t["dy"], t["x"], t["quest_steps"]), n * 6 + rows * 4
    if kind == "stable_fwd":
        return (t["w"], t["s"]), n * 4 + rows * 4
    if kind == "stable_bwd":
        return (t["dy"], t["w"], t["s"]), n * 6 + rows * 8
    raise SystemExit(f"profile_rows.py: unknown function {name}")


def same(a, b):
    """Share of elements whose bits differ."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return 1.0
    return float(np.mean(a.view(np.uint8).reshape(a.size, -1) != b.view(np.uint8).reshape(b.size, -1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="*")
    ap.add_argument("--filter", default="")
    ap.add_argument("--json")
    ap.add_argument("--one", nargs="+", metavar="NAME=DIR FUNCTION")
    ap.add_argument("--matmul", action="store_true", help="the qat.matmul functions too")
    args = ap.parse_args()
    for spec in args.variants + ([args.one[0]] if args.one else []):
        link(spec)
    rt = make_runtime()
    cache = {}

    def prepare(variant, name):
        if name.startswith("matmul_"):
            return inputs_for(name, cache)
        kind, shape = re.fullmatch(r"(\w+?)_(\d+x\d+)", name).groups()
        if kind in ("quest_bwd", "questr_bwd"):
            key = tuple(map(int, shape.split("x")))
            if key not in cache or "quest_steps" not in cache[key]:
                inputs_for(f"quest_fwd_{shape}", cache)
                codes, steps, std = variant.fetch(f"quest_fwd_{shape}", cache[key]["x"])
                cache[key]["quest_steps"] = torch.from_numpy(steps).cuda()
                cache[key]["quest_std"] = torch.from_numpy(std).cuda()
        argv, nbytes = inputs_for(name, cache)
        return argv, nbytes

    if args.one:
        variant = Variant(args.one[0], rt)
        names = args.one[1:] or [f for f in variant.functions() if "matmul" not in f]
        for name in names:
            print(f"{variant.name} {name}", flush=True)
            argv, _ = prepare(variant, name)
            torch.cuda.synchronize()
            variant.run(name, *argv)
            torch.cuda.synchronize()
        rt.check()
        return 0

    variants = [Variant(spec, rt) for spec in args.variants]
    bw = copy_bandwidth()
    print(f"device: {torch.cuda.get_device_name()}; copy bandwidth {bw / 1e12:.2f} TB/s")
    names = [f for f in variants[0].functions() if re.search(args.filter, f)
             and (args.matmul or "matmul" not in f)]
    rows, ratios = [], []
    for name in names:
        argv, nbytes = prepare(variants[0], name)
        reference = None
        entry = dict(function=name, bytes=nbytes, results={})
        for v in variants:
            if name not in v.module.functions:
                continue
            outs = v.fetch(name, *argv)
            diff = None
            if reference is None:
                reference = outs
            else:
                diff = max(same(a, b) for a, b in zip(outs, reference))
            ms = bench_gpu(lambda: v.run(name, *argv))
            entry["results"][v.name] = dict(gpu_ms=ms, pct_bw=100 * nbytes / (ms * 1e-3) / bw,
                                            differing=diff)
        rows.append(entry)
        line = f"{name:26}"
        first = None
        for v in variants:
            r = entry["results"].get(v.name)
            if r:
                d = "" if r["differing"] is None else (" =" if r["differing"] == 0 else f" !{r['differing']:.1g}")
                line += f" {v.name}:{r['gpu_ms'] * 1e3:7.1f}us {r['pct_bw']:4.1f}%{d}"
                if first is None:
                    first = r["gpu_ms"]
                else:
                    r["ratio"] = r["gpu_ms"] / first
                    ratios.append(r["ratio"])
                    line += f" x{r['ratio']:.3f}"
        print(line, flush=True)
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(f"time over {variants[0].name}'s: largest x{max(ratios):.3f}, "
              f"geometric mean x{geo:.3f} ({len(ratios)} functions)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=torch.cuda.get_device_name(), copy_bw=bw, rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
