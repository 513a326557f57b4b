#!/usr/bin/env python3
"""Host overhead of one call of qat-compiled code from Python: the time a
call takes minus the time the compiled code itself runs, for a trivially
small function (so that the remainder is the Python, binding and runtime
work around it).

Two ways of calling, as a user does:

  --api jit    qat.compile(...)["f"](x, y): the extension (Execution.cpp),
               numpy in and out; --target cpu (here) or cuda (needs LLVM and
               a GPU on the same machine).
  --api torch  the layer kernels of QATLinear (python-bindings/qat/
               torch_layers.py: qat.compiled + ctypes, zero-copy on the GPU)
               on torch tensors: --device cpu uses an artifact compiled here
               with --qat-to-cpu; --device cuda one compiled ahead of time
               with scripts/gpu/compile.py (`--compile-only --chip sm_90`
               where qat-opt is; carry $QAT_TORCH_ARTIFACTS, default
               .device-carry/torch, to the GPU machine).

The function is a Hadamard rotation of 8 floats (jit), or QuEST's forward,
the call QATLinear makes most (torch: 2 arguments, 5 results; 16 x 128 by
128 x 128 on the GPU, 2 x 128 by 8 x 128 on the CPU, where its matmul is a
plain loop nest). The median over --rounds rounds of --calls calls gives the
time per call; the compiled code's own time is measured on the same inputs
(jit: the extension's CompiledFunction.time, which times the call alone;
torch: its C entry point called directly through ctypes, its results freed,
without the Python wrapper). Overhead = per call - compiled code. The torch
results come back through DLPack (QAT_TORCH_WRAP=cai: the earlier
__cuda_array_interface__ objects; =copy on the CPU: copies); the first line
printed says which. scripts/gpu/host-overhead.sh runs this before and after
a change on the GPU machine. On the GPU
calls are asynchronous, so a call's wall time is its host time while the
GPU keeps up; the GPU time per call (CUDA events around a burst queued
behind a busy GPU) is printed to show that it does.

    benchmarks/host_overhead.py                     # --api jit --target cpu
    benchmarks/host_overhead.py --api torch --device cpu
    benchmarks/host_overhead.py --api torch --compile-only --chip sm_90   # here, for the GPU
    python3 benchmarks/host_overhead.py --api torch --device cuda         # on the GPU machine
"""

import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
M, K, N = 16, 128, 128  # QuEST forward of --api torch on the GPU: x M x K, w N x K
CPU_M, CPU_N = 2, 8      # and on the CPU, where its matmul is a plain loop nest

JIT_MODULE = """
func.func @f(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %y = qat.hadamard %x block 8 : tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
"""

def per_call(fn, calls, rounds, sync=None):
    """Median over rounds of the wall time per call, in seconds."""
    for _ in range(min(calls, 200)):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if sync:
            sync()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def bench_jit(args):
    import numpy as np

    sys.path.insert(0, str(ROOT / "build" / "python-packages"))
    import qat

    f = qat.compile(JIT_MODULE, target=args.target)["f"]
    x = np.arange(8, dtype=np.float32).reshape(1, 8)
    # Its own inverse: H (H x) = x.
    assert np.allclose(f(f(x)), x, atol=1e-5)
    total = per_call(lambda: f(x), args.calls, args.rounds)
    kernel = f.time(x, warmup=100, repeat=args.calls)["median"]
    return f"qat.compile(...)['f'](x), {args.target}, a Hadamard rotation of 8 floats", total, kernel


def bench_torch(args):
    import ctypes

    import torch

    sys.path.insert(0, str(ROOT / "python-bindings"))
    from qat import torch_layers, torch_mlir

    global M, N
    device = torch.device(args.device)
    gpu = args.chip != "cpu" if args.compile_only else device.type == "cuda"
    if not gpu:
        M, N = CPU_M, CPU_N
    chip = (torch_layers.device_chip() if device.type == "cuda" else args.chip)
    # Dynamic rows, as QATLinear compiles it, or --rows static (M rows) to
    # compare with.
    rows = M if args.rows == "static" else None
    name, text = torch_mlir.layer_artifact("quest", 4, rows, N, K,
                                           packed=torch_mlir.default_packed(4, chip))
    if args.compile_only:
        directory = torch_mlir.artifacts_dir() / (name if args.chip != "cpu" else name + "-cpu")
        torch_mlir.compile_artifact(directory, text, "gpu" if args.chip != "cpu" else "cpu",
                                    chip=args.chip)
        print(f"compiled {directory}")
        sys.exit(0)
    kernels = torch_layers.load_kernels(name, text, device.type)
    forward = kernels["forward"]
    x = torch.randn(M, K, device=device).to(torch.bfloat16)
    w = torch.randn(N, K, device=device) / K ** 0.5
    results = forward(x, w)
    assert len(results) == 5 and results[0].shape == (M, N)
    wrap = ("DLPack" if getattr(forward, "dlpack", None) else
            "__cuda_array_interface__" if device.type == "cuda" else "a copy")
    what = (f"QATLinear's QuEST forward kernels, {device}, {M}x{K} by {N}x{K}, "
            f"{args.rows} rows, results through {wrap}")

    # The compiled function alone through ctypes, on the same descriptors,
    # its results freed: what the call costs without the Python wrapper.
    for d, t in zip(forward.descs, (x, w)):
        d.allocated = d.aligned = t.data_ptr()
    if device.type == "cuda":
        free = forward.runtime.lib.qat_cuda_free  # stream-ordered, to the pool
    else:
        libc = ctypes.CDLL(None)
        libc.free.argtypes = [ctypes.c_void_p]
        free = libc.free

    def raw():
        forward.function.entry(forward.out_ref, *forward.refs)
        for d in forward.out_descs:
            free(d.allocated)

    sync = torch.cuda.synchronize if device.type == "cuda" else None
    # On the GPU, launches are asynchronous: a call's wall time is its host
    # time as long as the GPU keeps up (checked below).
    total = per_call(lambda: forward(x, w), args.calls, args.rounds, sync)
    kernel = per_call(raw, args.calls, args.rounds, sync)
    if device.type == "cuda":
        # Device time alone: a burst queued behind a busy GPU, between events.
        burst = 50
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        device_ms = []
        for _ in range(args.rounds):
            torch.cuda._sleep(int(2e7))
            start.record()
            for _ in range(burst):
                forward(x, w)
            end.record()
            sync()
            device_ms.append(start.elapsed_time(end) / burst)
        gpu = statistics.median(device_ms) * 1e-3
        what += f"; GPU time per call {gpu * 1e6:.2f} us"
        if gpu > 0.8 * kernel:
            what += " (the GPU, not the host, may bound the calls: use smaller --calls bursts)"
    return what, total, kernel


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", choices=("jit", "torch"), default="jit")
    ap.add_argument("--target", choices=("cpu", "cuda"), default="cpu", help="--api jit")
    ap.add_argument("--device", default="cpu", help="--api torch: cpu or cuda")
    ap.add_argument("--chip", default="sm_90",
                    help="--compile-only: the GPU to compile for (cpu: a CPU artifact)")
    ap.add_argument("--compile-only", action="store_true")
    ap.add_argument("--rows", choices=("dynamic", "static"), default="dynamic",
                    help="--api torch: the artifact's rows, ? (QATLinear's) or M")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    what, total, kernel = (bench_jit if args.api == "jit" else bench_torch)(args)
    print(what)
    print(f"  per call        {total * 1e6:8.2f} us  (median of {args.rounds} x {args.calls} calls)")
    how = "CompiledFunction.time" if args.api == "jit" else "its entry point through ctypes"
    print(f"  compiled code   {kernel * 1e6:8.2f} us  ({how})")
    print(f"  host overhead   {(total - kernel) * 1e6:8.2f} us")


if __name__ == "__main__":
    main()
