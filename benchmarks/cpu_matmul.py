#!/usr/bin/env python3
"""CPU matmul speed of qat-to-cpu against numpy and oneDNN, one thread.

C = A B for square f32 matrices (default 512), compiled by qat-to-cpu (its
default: packed operands, vectorized register blocks) and, for comparison,
with vectorize-contractions=0 (scalar loops). --transposed-b and
--transposed-a time the forms a linear layer's backward uses (A B^T, A^T B).
The timings (CPU time of the calling thread) are interleaved round by
round (qat, numpy, qat, ...) so that a busy machine slows both alike; each
figure is the median over the rounds. Results are checked against numpy
before timing.

What each row times, like with like:
  numpy     `a @ b`: the BLAS call, allocating its result (and freeing it).
  qat       the compiled function alone, called through its C interface
            (an object from `qat-run --emit-object --object-cpu=native`,
            linked into a shared library, called with ctypes on the numpy
            arrays in place): allocating its result, the fill of C, the
            packing and the matmul, then free() of the result.
  qat-call  the same function through the Python package (`f(a, b)` of
            qat.compile, the JIT): the row above plus what the wrapper does
            per call: a copy of each argument into a fresh buffer, a copy of
            the result into the returned array. These buffers are 1 MiB each
            at 512; whether malloc reuses heap pages or hands out fresh ones
            (one page fault per 4 KiB, counted in the last column) depends on
            what the process allocated before, so this row moves by ~1 ms
            between processes.
  qat-loops the Python call of the build without vectorized contractions.

Baselines: numpy's BLAS with one thread and oneDNN's f32 GEMM through
PyTorch's mkldnn linear (torch.set_num_threads(1)), when torch is there.
Debian's numpy links the netlib reference BLAS (libblas.so.3), which is no
yardstick; OpenBLAS's libblas.so.3 put first on LD_LIBRARY_PATH replaces it
without installing anything (unpacked from libopenblas0-pthread):

  dpkg -x libopenblas0-pthread_*.deb /tmp/openblas
  LD_LIBRARY_PATH=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread \\
  OPENBLAS_NUM_THREADS=1 PYTHONPATH=build/python-packages \\
    /usr/bin/python3 benchmarks/cpu_matmul.py [--size 512] [--rounds 30]

The qat row needs build/bin/qat-run (or --qat-run) and a C compiler (cc)
to link the object into a shared library.

docs/benchmarks.md has measured results.
"""

import argparse
import ctypes
import os
import platform
import resource
import subprocess
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import qat  # noqa: E402


def module(m, n, k, b_transposed, a_transposed=False):
    bt = f"tensor<{n}x{k}xf32>" if b_transposed else f"tensor<{k}x{n}xf32>"
    at = f"tensor<{k}x{m}xf32>" if a_transposed else f"tensor<{m}x{k}xf32>"
    amap = "(k, m)" if a_transposed else "(m, k)"
    bmap = "(n, k)" if b_transposed else "(k, n)"
    maps = (f"indexing_maps = [affine_map<(m, n, k) -> {amap}>, "
            f"affine_map<(m, n, k) -> {bmap}>, "
            "affine_map<(m, n, k) -> (m, n)>] "
            if a_transposed or b_transposed else "")
    return f"""
func.func @mm(%a: {at}, %b: {bt}) -> tensor<{m}x{n}xf32> {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul {maps}ins(%a, %b : {at}, {bt})
      outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}"""


def timed(f, *args):
    """CPU time of this thread and its minor page faults for one call."""
    # CPU time of this thread: every candidate runs on the calling thread
    # (one BLAS thread, one oneDNN thread, qat's single-threaded code), and
    # on a machine shared with other jobs the wall clock also counts the
    # time slices the scheduler gives them.
    f0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    t0 = time.thread_time()
    f(*args)
    t = time.thread_time() - t0
    return t, resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f0


class Memref2D(ctypes.Structure):
    """A rank-2 memref descriptor (qat-run --emit-header's qat_memref_2d)."""
    _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * 2),
                ("strides", ctypes.c_int64 * 2)]

    @classmethod
    def of(cls, array):
        assert array.flags.c_contiguous and array.ndim == 2
        p = array.ctypes.data
        return cls(p, p, 0, (ctypes.c_int64 * 2)(*array.shape),
                   (ctypes.c_int64 * 2)(array.shape[1], 1))


def compile_kernel(src, qat_run, workdir):
    """`mm` of `src` compiled ahead of time for this CPU, as a callable
    f(a, b) -> (result descriptor, free) on C-contiguous arrays."""
    mlir = os.path.join(workdir, "mm.mlir")
    obj = os.path.join(workdir, "mm.o")
    lib = os.path.join(workdir, "mm.so")
    with open(mlir, "w") as f:
        f.write(src)
    subprocess.run([qat_run, mlir, "--entry=mm", f"--emit-object={obj}",
                    "--object-cpu=native"], check=True)
    subprocess.run(["cc", "-shared", "-o", lib, obj], check=True)
    fn = ctypes.CDLL(lib)._mlir_ciface_mm
    fn.restype = None
    free = ctypes.CDLL(None).free
    free.argtypes = [ctypes.c_void_p]
    return fn, free


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--transposed-b", action="store_true",
                    help="B given as N x K (x w^T, a linear layer's forward)")
    ap.add_argument("--transposed-a", action="store_true",
                    help="A given as K x M (dy^T x, a weight gradient)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--qat-run", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin",
        "qat-run"), help="qat-run that compiles the kernel's object")
    a = ap.parse_args()
    n = a.size
    rng = np.random.default_rng(a.seed)
    x = rng.standard_normal((n, n), np.float32)
    y = rng.standard_normal((n, n), np.float32)
    xa = x.T if a.transposed_a else x  # the M x K operand
    yb = y.T if a.transposed_b else y  # the K x N operand
    ref = xa @ yb
    src = module(n, n, n, a.transposed_b, a.transposed_a)
    fns = {}
    for name, opts in [("qat-call", ""),
                       ("qat-loops", "vectorize-contractions=0")]:
        f = qat.compile(qat.Module.parse(src), pipeline_options=opts)["mm"]
        err = np.abs(f(x, y) - ref).max() / np.abs(ref).max()
        if not err < 1e-5:
            raise SystemExit(f"{name}: relative error {err:.2e}")
        fns[name] = f
    workdir = tempfile.TemporaryDirectory()
    kernel, free = compile_kernel(src, a.qat_run, workdir.name)
    result = Memref2D()
    refs = [ctypes.byref(result), ctypes.byref(Memref2D.of(x)),
            ctypes.byref(Memref2D.of(y))]
    kernel(*refs)
    got = np.ctypeslib.as_array(
        ctypes.cast(result.aligned, ctypes.POINTER(ctypes.c_float)),
        (n, n)).copy()
    free(result.allocated)
    err = np.abs(got - ref).max() / np.abs(ref).max()
    if not err < 1e-5:
        raise SystemExit(f"qat (C interface): relative error {err:.2e}")

    def call_kernel(p, q):
        kernel(*refs)
        free(result.allocated)
    fns["qat"] = call_kernel
    fns["numpy"] = lambda p, q: (p.T if a.transposed_a else p) @ (
        q.T if a.transposed_b else q)
    try:
        import torch
        torch.set_num_threads(1)
        xm = torch.from_numpy(np.ascontiguousarray(xa)).to_mkldnn()
        # mkldnn_linear computes x w^T: w is B^T (N x K).
        wm = torch.from_numpy(np.ascontiguousarray(yb.T)).to_mkldnn()
        got = torch._C._nn.mkldnn_linear(xm, wm).to_dense().numpy()
        if np.abs(got - ref).max() / np.abs(ref).max() < 1e-5:
            fns["onednn"] = lambda p, q: torch._C._nn.mkldnn_linear(xm, wm)
    except (ImportError, RuntimeError, AttributeError) as e:
        print(f"no oneDNN baseline: {e}")
    times = {k: [] for k in fns}
    faults = {k: [] for k in fns}
    for f in fns.values():  # warm-up
        f(x, y)
    for _ in range(a.rounds):
        for k, f in fns.items():
            if k == "qat-loops" and len(times[k]) >= 3:
                continue  # seconds per call: three are enough
            t, flt = timed(f, x, y)
            times[k].append(t)
            faults[k].append(flt)
    med = {k: float(np.median(v)) for k, v in times.items()}
    flops = 2.0 * n ** 3
    form = (" (A transposed)" if a.transposed_a else "") + (
        " (B transposed)" if a.transposed_b else "")
    print(f"{n}x{n}x{n} f32 matmul{form}"
          f", {platform.processor() or platform.machine()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"{a.rounds} rounds, medians:")
    print(f"  numpy BLAS: {blas_name()}")
    for k in ["numpy", "onednn", "qat", "qat-call", "qat-loops"]:
        if k not in med:
            continue
        rel = f"  {med[k] / med['onednn']:5.2f}x oneDNN" if "onednn" in med \
            else ""
        print(f"  {k:<10} {med[k] * 1e3:9.2f} ms  {flops / med[k] / 1e9:6.1f} "
              f"GFLOP/s  {med[k] / med['numpy']:5.2f}x numpy{rel}"
              f"  {np.median(faults[k]):5.0f} page faults")


def blas_name():
    """The BLAS library numpy's process has loaded."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
        return ", ".join(sorted(libs)) or "unknown"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
