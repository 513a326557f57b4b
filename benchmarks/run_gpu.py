#!/usr/bin/env python3
"""Benchmarks on the GPU machine, side by side in one run: the fused qat
quantizer kernels and qat.matmul against PyTorch eager, torch.compile,
cuBLAS bf16 (torch.matmul) and torch._int_mm, with the bytes each quantizer
must move as a share of the measured copy bandwidth.

usage: run_gpu.py [--artifacts DIR] [--quick]
DIR holds benchmarks/qat_kernels.py's module compiled by scripts/gpu/compile.py
(module.o, manifest.json); it is linked here with the qat CUDA runtime.
Results: a table on stdout (and JSON with --json PATH). See docs/benchmarks.md.
"""

import argparse
import ctypes
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import torch

import torch_baselines as tb

ROOT = pathlib.Path(__file__).resolve().parents[1]
# compiled.py alone (numpy + ctypes): this runs where the qat extension is not built.
sys.path.insert(0, str(ROOT / "python-bindings" / "qat"))

M = 4096
SHAPES = [(2048, 2048), (11264, 2048), (4096, 4096), (22016, 4096), (4096, 11008)]


def bench_gpu(fn, calls=20, repeat=5):
    """GPU milliseconds per call of fn(): the GPU is kept busy (a sleep kernel)
    while `calls` calls are queued, so that the time between the events is
    the device's alone, without the host's launch overhead."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda._sleep(100_000_000)
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / calls)
    times.sort()
    return times[len(times) // 2]


def kernel_times(fn, steps=5):
    """[(kernel, us per step, launches per step)] of fn() from torch.profiler
    (CUPTI sees the qat runtime's launches too), longest first; where the
    step's time goes. A profiler failure is reported, not fatal."""
    from torch.profiler import ProfilerActivity, profile
    try:
        fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(steps):
                fn()
            torch.cuda.synchronize()
        rows = []
        for e in prof.key_averages():
            # The attribute's name changed across torch versions.
            us = max(getattr(e, a, 0) or 0 for a in (
                "device_time_total", "self_device_time_total", "cuda_time_total",
                "self_cuda_time_total"))
            if us > 0:
                rows.append((e.key, us / steps, e.count / steps))
        return sorted(rows, key=lambda r: -r[1])
    except Exception as e:  # noqa: BLE001
        print(f"profiler failed: {type(e).__name__}: {e}")
        return []


def bench(fn, warmup=5, repeat=30):
    """Median milliseconds of one call of fn() with CUDA events, the host's
    launch overhead included (the GPU waits for it)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


class QATKernels:
    """The compiled qat functions, called on torch tensors (zero copy) on
    torch's current stream; results come from the runtime's stream-ordered
    pool and are freed after use, as a training step would."""

    def __init__(self, artifacts):
        import compiled
        subprocess.run([str(ROOT / "scripts/gpu/link.sh"), str(artifacts)], check=True,
                       stdout=subprocess.DEVNULL)
        rt_dir = pathlib.Path(os.environ.get("QAT_RUNTIME_BUILD", "/tmp/qat-runtime")) / "lib"
        self.rt = compiled.CUDARuntime(rt_dir / "libqat_cuda_runtime.so")
        self.rt.lib.qat_cuda_set_stream.argtypes = [ctypes.c_void_p]
        self.rt.lib.qat_cuda_set_stream(torch.cuda.current_stream().cuda_stream)
        self.module = compiled.CompiledModule(artifacts / "module.so",
                                              artifacts / "manifest.json", self.rt)

    def __contains__(self, name):
        return name in self.module.functions

    def call(self, name, *tensors):
        return self.module[name].call_on_pointers([t.data_ptr() for t in tensors],
                                                  [tuple(t.shape) for t in tensors])

    def free(self, descs):
        for d in descs:
            self.rt.free(d.allocated)

    def run(self, name, *tensors):
        """One call whose results are freed at once (for timing)."""
        self.free(self.call(name, *tensors))

    def fetch(self, name, *tensors):
        """One call; results as numpy arrays (for the checks)."""
        fn = self.module[name]
        descs = self.call(name, *tensors)
        torch.cuda.synchronize()
        outs = [self.rt.download(d.aligned, t, t.result_shape(d))
                for d, t in zip(descs, fn.results)]
        self.free(descs)
        self.rt.check()
        return outs


def check_qat(qat, x, dy, w, dw, s, h, n, k):
    """Same math as the PyTorch baselines, on the benchmark's own data: the
    share of differing codes (ties may round either way after a different
    summation order) and relative errors. Printed, and failing loudly."""
    import compiled
    codes, steps, std = qat.fetch(f"quest_fwd_{M}x{k}", x)
    # qat.hadamard of a bf16 tensor is a bf16 tensor: the rotation is
    # rounded to bf16 before the step and the codes are computed from it.
    xh = (x.float().view(M, k // 128, 128) @ h).view(M, k).to(torch.bfloat16)
    eye = torch.eye(128, device="cuda")
    ref_codes, ref_steps, _ = tb.quest_forward(xh, eye)
    step_err = np.max(np.abs(steps - ref_steps.cpu().numpy()) / ref_steps.cpu().numpy())
    code_diff = np.mean(codes != ref_codes.cpu().numpy())
    (wq,) = qat.fetch(f"stable_fwd_{n}x{k}", w, s)
    ref_wq = tb.stableqat_forward(w, s).float().cpu().numpy()
    wq_diff = np.mean(compiled.from_bf16(wq) != ref_wq)
    dwq, ds = qat.fetch(f"stable_bwd_{n}x{k}", dw, w, s)
    ref_dw, ref_ds = tb.stableqat_backward(dw, w, s)
    dw_err = np.max(np.abs(compiled.from_bf16(dwq) - ref_dw.float().cpu().numpy()))
    ds_err = np.max(np.abs(ds - ref_ds.cpu().numpy())) / (np.max(np.abs(ref_ds.cpu().numpy())) + 1e-30)
    # The backward with the forward's deviation (qat.rms) against the one
    # that recomputes it: the forward sums the squares in another order (its
    # layout), so the deviation may differ in its last bit and flip the mask
    # of the rare elements within an ulp of the threshold.
    steps_t, std_t = torch.from_numpy(steps).cuda(), torch.from_numpy(std).cuda()
    (dx_saved,) = qat.fetch(f"quest_bwd_{M}x{k}", dy, x, steps_t, std_t)
    (dx_recomputed,) = qat.fetch(f"questr_bwd_{M}x{k}", dy, x, steps_t)
    dx_diff = np.mean(dx_saved != dx_recomputed)
    print(f"check {n}x{k}: quest steps rel err {step_err:.2g}, codes differing {code_diff:.2g}, "
          f"dx with saved/recomputed std differing {dx_diff:.2g}; "
          f"stable wq differing {wq_diff:.2g}, dw max err {dw_err:.3g}, ds rel err {ds_err:.2g}")
    if step_err > 1e-4 or code_diff > 1e-3 or wq_diff > 1e-3 or ds_err > 1e-2 or dx_diff > 1e-4:
        print("MISMATCH: qat kernels disagree with the PyTorch baseline")


def check_matmul(qat, a8, b8, sa, sb, n, k):
    """qat s8 matmul against an exact float64 product of the codes."""
    import compiled
    (y,) = qat.fetch(f"matmul_s8_{M}x{n}x{k}", a8, b8, sa, sb)
    rows = slice(0, 256)
    ref = (a8[rows].double() @ b8.double().t()) * sa[rows].double() * sb.double().t()
    ref = ref.cpu().numpy()
    err = np.max(np.abs(compiled.from_bf16(y)[rows] - ref) / (np.abs(ref) + 1e-3 * np.abs(ref).max()))
    print(f"check matmul {M}x{n}x{k} (s8, first 256 rows): max rel err {err:.2g}")
    if err > 2 ** -7:
        print("MISMATCH: qat.matmul disagrees with the exact product")


def timed(fn):
    return bench(fn), bench_gpu(fn)


def copy_bandwidth():
    n = 1 << 28  # 1 GiB of f32
    a = torch.empty(n, device="cuda")
    b = torch.empty_like(a)
    ms = bench(lambda: b.copy_(a))
    return 2 * a.numel() * 4 / (ms * 1e-3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--artifacts", type=pathlib.Path)
    args = ap.parse_args()
    qat = QATKernels(args.artifacts) if args.artifacts else None
    torch.manual_seed(0)
    dev = torch.cuda.get_device_name()
    bw = copy_bandwidth()
    print(f"device: {dev}; torch {torch.__version__}; copy bandwidth {bw / 1e12:.2f} TB/s")
    rows = []
    h = tb.hadamard_matrix(128, "cuda")
    qf_c, qb_c = tb.compiled(tb.quest_forward), tb.compiled(tb.quest_backward)
    sf_c, sb_c = tb.compiled(tb.stableqat_forward), tb.compiled(tb.stableqat_backward)
    shapes = SHAPES[:2] if args.quick else SHAPES
    for n, k in shapes:
        x = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        dy = torch.randn_like(x)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02
        dw = torch.randn_like(w)
        s = (w.float().abs().amax(-1, keepdim=True) / 7).contiguous()
        _, _, mask = tb.quest_forward(x, h)
        # Floor of bytes: QuEST fwd reads x (2 B) and writes int4 codes (0.5 B),
        # a bit mask (1/8 B) and one f32 step per row; bwd reads dy (2 B) and
        # the mask, writes dx (2 B).
        quest_bytes = M * k * (2 + 0.5 + 0.125) + M * 4 + M * k * (2 + 0.125 + 2)
        stable_bytes = n * k * (2 + 2) + n * k * (2 + 2 + 2) + 2 * n * 4
        # The qat kernels store no mask: the backward recomputes the rotation
        # and the mask from x (reads dy and x, writes dx), with the deviation
        # the forward saved (qat.rms: one f32 per row) or recomputing it.
        qat_quest_bytes = M * k * (2 + 0.5) + M * 8 + M * k * (2 + 2 + 2) + M * 8
        qatr_quest_bytes = M * k * (2 + 0.5) + M * 4 + M * k * (2 + 2 + 2) + M * 4
        if qat:
            check_qat(qat, x, dy, w, dw, s, h, n, k)
        for label, fwd, bwd in (("eager", tb.quest_forward, tb.quest_backward),
                                ("torch.compile", qf_c, qb_c)):
            ms, gpu_ms = timed(lambda: (fwd(x, h), bwd(dy, mask, h)))
            rows.append(dict(kernel="QuEST quantizer fwd+bwd", shape=f"{M}x{k}", impl=label,
                             ms=ms, gpu_ms=gpu_ms, pct_bw=100 * quest_bytes / (gpu_ms * 1e-3) / bw))
        if qat and f"quest_fwd_{M}x{k}" in qat:
            _, steps, std = qat.fetch(f"quest_fwd_{M}x{k}", x)
            steps, std = torch.from_numpy(steps).cuda(), torch.from_numpy(std).cuda()
            ms, gpu_ms = timed(lambda: (qat.run(f"quest_fwd_{M}x{k}", x),
                                qat.run(f"quest_bwd_{M}x{k}", dy, x, steps, std)))
            rows.append(dict(kernel="QuEST quantizer fwd+bwd", shape=f"{M}x{k}", impl="qat",
                             ms=ms, gpu_ms=gpu_ms, pct_bw=100 * qat_quest_bytes / (gpu_ms * 1e-3) / bw))
            ms, gpu_ms = timed(lambda: (qat.run(f"questr_fwd_{M}x{k}", x),
                                qat.run(f"questr_bwd_{M}x{k}", dy, x, steps)))
            rows.append(dict(kernel="QuEST quantizer fwd+bwd", shape=f"{M}x{k}",
                             impl="qat (std recomputed)", ms=ms, gpu_ms=gpu_ms,
                             pct_bw=100 * qatr_quest_bytes / (gpu_ms * 1e-3) / bw))
            for part, fn in (("fwd", lambda: qat.run(f"quest_fwd_{M}x{k}", x)),
                             ("bwd", lambda: qat.run(f"quest_bwd_{M}x{k}", dy, x, steps, std))):
                nbytes = M * k * 2.5 + M * 8 if part == "fwd" else M * k * 6 + M * 8
                ms, gpu_ms = timed(fn)
                rows.append(dict(kernel=f"QuEST quantizer {part}", shape=f"{M}x{k}", impl="qat",
                                 ms=ms, gpu_ms=gpu_ms, pct_bw=100 * nbytes / (gpu_ms * 1e-3) / bw))
        for label, fwd, bwd in (("eager", tb.stableqat_forward, tb.stableqat_backward),
                                ("torch.compile", sf_c, sb_c)):
            ms, gpu_ms = timed(lambda: (fwd(w, s), bwd(dw, w, s)))
            rows.append(dict(kernel="StableQAT quantizer fwd+bwd", shape=f"{n}x{k}", impl=label,
                             ms=ms, gpu_ms=gpu_ms, pct_bw=100 * stable_bytes / (gpu_ms * 1e-3) / bw))
        if qat:
            ms, gpu_ms = timed(lambda: (qat.run(f"stable_fwd_{n}x{k}", w, s),
                                qat.run(f"stable_bwd_{n}x{k}", dw, w, s)))
            rows.append(dict(kernel="StableQAT quantizer fwd+bwd", shape=f"{n}x{k}", impl="qat",
                             ms=ms, gpu_ms=gpu_ms, pct_bw=100 * stable_bytes / (gpu_ms * 1e-3) / bw))
        a16 = torch.randn(M, k, device="cuda", dtype=torch.bfloat16)
        b16 = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        a8 = torch.randint(-8, 8, (M, k), device="cuda", dtype=torch.int8)
        b8 = torch.randint(-8, 8, (k, n), device="cuda", dtype=torch.int8).t().contiguous().t()
        flops = 2 * M * n * k
        ms, gpu_ms = timed(lambda: a16 @ b16.t())
        rows.append(dict(kernel="matmul", shape=f"{M}x{n}x{k}", impl="cuBLAS bf16",
                         ms=ms, gpu_ms=gpu_ms, tflops=flops / gpu_ms / 1e9))
        ms, gpu_ms = timed(lambda: torch._int_mm(a8, b8))
        rows.append(dict(kernel="matmul", shape=f"{M}x{n}x{k}", impl="torch._int_mm int8",
                         ms=ms, gpu_ms=gpu_ms, tflops=flops / gpu_ms / 1e9))
        if qat:
            sa = torch.rand(M, 1, device="cuda") * 0.1 + 0.01
            sb = torch.rand(n, 1, device="cuda") * 0.1 + 0.01
            a4 = torch.randint(-128, 128, (M, k // 2), device="cuda", dtype=torch.int8)
            b4 = torch.randint(-128, 128, (n, k // 2), device="cuda", dtype=torch.int8)
            bn8 = torch.randint(-8, 8, (n, k), device="cuda", dtype=torch.int8)
            check_matmul(qat, a8[:, :], bn8, sa, sb, n, k)
            for label, name, args_ in (("qat s4 (mma.sync)", f"matmul_s4_{M}x{n}x{k}", (a4, b4, sa, sb)),
                                       ("qat s8 (mma.sync)", f"matmul_s8_{M}x{n}x{k}", (a8, bn8, sa, sb))):
                ms, gpu_ms = timed(lambda: qat.run(name, *args_))
                rows.append(dict(kernel="matmul", shape=f"{M}x{n}x{k}", impl=label,
                                 ms=ms, gpu_ms=gpu_ms, tflops=flops / gpu_ms / 1e9))
    print("ms: one call, host overhead included; GPU ms: per call with the GPU kept busy")
    print(f"{'kernel':30} {'shape':18} {'implementation':22} {'ms':>8} {'GPU ms':>8} "
          f"{'%copy BW':>9} {'TOP/s':>7}")
    for r in rows:
        pct = f"{r['pct_bw']:.1f}" if "pct_bw" in r else ""
        tf = f"{r['tflops']:.0f}" if "tflops" in r else ""
        print(f"{r['kernel']:30} {r['shape']:18} {r['impl']:22} {r['ms']:8.3f} "
              f"{r['gpu_ms']:8.3f} {pct:>9} {tf:>7}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=dev, copy_bw=bw, rows=rows), f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
