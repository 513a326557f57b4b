#!/usr/bin/env python3
"""Trains a two-layer MLP (width -> hidden -> GELU -> width) on a synthetic
teacher-student task with its nn.Linear layers replaced by qat-compiled
QATLinear layers (QuEST W4A4, StableQAT W4 and W2), next to the same model in
plain PyTorch bf16 and with pure-PyTorch fake-quant layers
(examples/torch/reference.py), and prints the loss curves and step times
side by side. With --layer-bench, then times one layer's forward + backward alone
(examples/torch/layer_bench.py at the model's first layer).

Every model starts from the same weights and sees the same batches: inputs
x ~ N(0, 1) (a fixed pool of batches, cycled), targets from a fixed random
f32 teacher MLP of the same shape, MSE loss, AdamW. Activations are bf16,
parameters f32 (as under autocast). Step time: CUDA events around each whole
step (zero_grad, forward, loss, backward, optimizer step), median over the
steps after the warm-up; the machine is warm.

usage: train.py [--model base|small] [--steps 300] [--layer-bench]
"""

import argparse
import math
import pathlib
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python-bindings" / "qat"))

import reference as ref  # noqa: E402
import shapes  # noqa: E402
from torch_layers import QATLinear  # noqa: E402


class BF16Linear(nn.Linear):
    """nn.Linear with f32 parameters computing in bf16, as under autocast."""

    def forward(self, x):
        return F.linear(x.to(torch.bfloat16), self.weight.to(torch.bfloat16))


class MLP(nn.Module):
    def __init__(self, width, hidden, make_linear):
        super().__init__()
        self.fc1 = make_linear(width, hidden)
        self.fc2 = make_linear(hidden, width)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


def make(kind, bits):
    """A factory of linear layers (in, out) -> module on the GPU."""
    if kind == "bf16":
        return lambda i, o: BF16Linear(i, o, bias=False, device="cuda")
    method, impl = kind.split("-")[:2]
    if impl == "qat":
        return lambda i, o: QATLinear(i, o, method=method, bits=bits, device="cuda")
    return lambda i, o: ref.RefQuantLinear(i, o, method=method, bits=bits, device="cuda")


VARIANTS = [("bf16", "bf16", 16)] + [
    (f"{impl} {method} {'W%dA%d' % (b, b) if method == 'quest' else 'W%d' % b}",
     f"{method}-{impl}", b)
    for method, b in shapes.TRAIN_METHODS for impl in ("torch", "qat")]
# With --compile: PyTorch models under torch.compile (the first steps compile).
COMPILED = [("compiled bf16", "compiled:bf16", 16),
            ("compiled torch quest W4A4", "compiled:quest-torch", 4),
            ("compiled torch stableqat W4", "compiled:stableqat-torch", 4)]


def build(kind, bits, width, hidden, init):
    compiled = kind.startswith("compiled:")
    kind = kind.removeprefix("compiled:")
    model = MLP(width, hidden, make(kind, bits))
    with torch.no_grad():
        model.fc1.weight.copy_(init[0])
        model.fc2.weight.copy_(init[1])
    for layer in (model.fc1, model.fc2):
        if hasattr(layer, "init_step"):
            layer.init_step()
    return torch.compile(model) if compiled else model


def train(model, data, targets, steps, lr, warmup):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses, events = [], []
    torch.cuda.synchronize()
    wall = None
    for step in range(steps):
        if step == warmup:
            torch.cuda.synchronize()
            wall = time.perf_counter()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        opt.zero_grad(set_to_none=True)
        i = step % len(data)
        y = model(data[i])
        loss = F.mse_loss(y.float(), targets[i])
        loss.backward()
        opt.step()
        end.record()
        losses.append(loss.detach())
        events.append((start, end))
    torch.cuda.synchronize()
    wall = (time.perf_counter() - wall) / (steps - warmup) * 1e3
    times = [s.elapsed_time(e) for s, e in events[warmup:]]
    return torch.stack(losses).tolist(), statistics.median(times), wall


def profile(variant, width, hidden, init, data, targets, lr):
    name, kind, bits = variant
    model = build(kind, bits, width, hidden, init)
    train(model, data, targets, 10, lr, 5)
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=activities) as prof:
        train(model, data, targets, 5, lr, 0)
    print(f"\nGPU kernels of 5 steps of {name}")
    print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=20,
                                    max_name_column_width=60))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="base", choices=list(shapes.MODELS))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batches", type=int, default=8, help="size of the data pool")
    ap.add_argument("--print-every", type=int, default=25)
    ap.add_argument("--variants", default="all",
                    help="comma-separated names' first words, e.g. bf16,qat")
    ap.add_argument("--compile", action="store_true",
                    help="add the PyTorch models under torch.compile")
    ap.add_argument("--layer-bench", action="store_true",
                    help="also time one layer (the first) alone")
    ap.add_argument("--profile", default=None,
                    help="print the GPU kernels of 5 steps of this variant, e.g. 'qat quest W4A4'")
    args = ap.parse_args()
    m, width, hidden = shapes.MODELS[args.model]
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"model: {width} -> {hidden} -> GELU -> {width}, {m} tokens per batch, "
          f"{args.steps} AdamW steps (lr {args.lr}), median step time after "
          f"{args.warmup} warm-up steps")

    gen = torch.Generator(device="cuda").manual_seed(0)
    teacher = [torch.randn(hidden, width, device="cuda", generator=gen) / math.sqrt(width),
               torch.randn(width, hidden, device="cuda", generator=gen) / math.sqrt(hidden)]
    data = [torch.randn(m, width, device="cuda", generator=gen).to(torch.bfloat16)
            for _ in range(args.batches)]
    targets = [F.gelu(x.float() @ teacher[0].t()) @ teacher[1].t() for x in data]
    init = [nn.Linear(width, hidden, bias=False, device="cuda").weight.detach(),
            nn.Linear(hidden, width, bias=False, device="cuda").weight.detach()]

    variants = VARIANTS + (COMPILED if args.compile else [])
    if args.variants != "all":
        keep = args.variants.split(",")
        variants = [v for v in variants if v[0].split()[0] in keep or v[0] in keep]
    results = []
    for name, kind, bits in variants:
        model = build(kind, bits, width, hidden, init)
        losses, median_ms, wall_ms = train(model, data, targets, args.steps, args.lr,
                                           args.warmup)
        results.append((name, losses, median_ms, wall_ms))
        print(f"  {name:28s} final loss {losses[-1]:.4f}   step {median_ms:7.3f} ms "
              f"(wall {wall_ms:.3f} ms)", flush=True)
        del model
        torch.cuda.empty_cache()

    names = [r[0] for r in results]
    col = max(map(len, names)) + 2
    print("\nloss (MSE against the teacher)")
    print("step  " + "".join(f"{n:>{col}s}" for n in names))
    for step in list(range(0, args.steps, args.print_every)) + [args.steps - 1]:
        print(f"{step:4d}  " + "".join(f"{r[1][step]:{col}.4f}" for r in results))
    base = results[0][2]
    print("\nstep time (median, ms)")
    print(f"{'':{col}s}{'step ms':>10s}{'vs ' + names[0]:>{len(names[0]) + 6}s}{'wall ms':>10s}")
    for name, _, median_ms, wall_ms in results:
        print(f"{name:{col}s}{median_ms:10.3f}{median_ms / base:{len(names[0]) + 5}.2f}x"
              f"{wall_ms:10.3f}")

    if args.profile:
        profile(dict((v[0], v) for v in VARIANTS)[args.profile], width, hidden, init,
                data, targets, args.lr)

    if args.layer_bench:
        # examples/torch/layer_bench.py, at the model's first layer.
        import layer_bench
        print(f"\none layer alone: forward + backward, x {m}x{width} -> {hidden}")
        layer_bench.bench_shape(m, width, hidden)


if __name__ == "__main__":
    main()
