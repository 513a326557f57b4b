#!/usr/bin/env python3
"""Trains a small model of QATLinear layers under DistributedDataParallel and
checks it against a single process.

The model is QATLinear(QuEST W4A4) -> ReLU -> QATLinear(StableQAT W2, with a
bias). Every rank builds it from the same seed and trains it with SGD on its
slice of each global batch; after every step the ranks' parameters must be
bit-identical (all_gather), and at the end rank 0's must equal those of one
process trained on the whole batches (DDP averages the ranks' gradients, and
each rank's loss is the mean over its rows, so the two differ only by the
order of floating-point sums: the tolerance allows for that).

    ddp_check.py                           # gloo, 2 processes on the CPU (CI)
    ddp_check.py --backend nccl --nproc 2  # NCCL, one GPU per process

Processes are started with torch.multiprocessing (spawn) and meet on
127.0.0.1 at a free port. The QATLinear artifacts (one per layer and number
of rows: the single process's and a replica's) are compiled before the
processes start, where qat-opt is (build/bin/qat-opt, $QAT_OPT); for NCCL on
a machine without LLVM, compile them here first with `--compile-only` (for
the chip of the lent Hopper GPUs, sm_90a, unless --chip says) and carry
$QAT_TORCH_ARTIFACTS (default .device-carry/torch) there. Exit status 1 on
a mismatch.
"""

import argparse
import pathlib
import secrets
import socket
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "python-bindings"))
from qat import torch_mlir  # noqa: E402
from qat.torch_layers import QATLinear  # noqa: E402

# Widths: QuEST rotates blocks of 128 along its input.
IN, HIDDEN, OUT = 128, 80, 24
# Relative tolerance of single process vs DDP on the final parameters. The
# weights agree to ~1e-8 (f32 sums in another order); the bias's gradient is
# a sum of the bf16 output gradient, rounded to bf16 in each process, which
# leaves ~1e-4.
TOLERANCE = 2e-3


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = QATLinear(IN, HIDDEN, method="quest", bits=4)
        self.fc2 = QATLinear(HIDDEN, OUT, method="stableqat", bits=2, bias=True)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def make_model(seed, device):
    torch.manual_seed(seed)
    return Net().to(device)


def make_data(seed, steps, batch, device):
    """The global batches, the same on every rank."""
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(steps, batch, IN, generator=gen)
    target = torch.randn(steps, batch, OUT, generator=gen)
    return x.to(device), target.to(device)


def train_step(model, optimizer, x, target):
    optimizer.zero_grad()
    loss = (model(x).float() - target).pow(2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def flat_parameters(model):
    return torch.cat([p.detach().reshape(-1).float() for p in model.parameters()])


def device_for(backend, rank):
    return torch.device(f"cuda:{rank}") if backend == "nccl" else torch.device("cpu")


def worker(rank, args, port, result_path):
    torch.set_num_threads(1)
    device = device_for(args.backend, rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(args.backend, init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=args.nproc)
    try:
        model = make_model(args.seed, device)
        ddp = DistributedDataParallel(model, device_ids=[rank] if device.type == "cuda" else None)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
        xs, targets = make_data(args.seed, args.steps, args.rows * args.nproc, device)
        rows = slice(rank * args.rows, (rank + 1) * args.rows)
        for step in range(args.steps):
            loss = train_step(ddp, optimizer, xs[step, rows], targets[step, rows])
            mine = flat_parameters(model)
            replicas = [torch.empty_like(mine) for _ in range(args.nproc)]
            dist.all_gather(replicas, mine)
            for other, theirs in enumerate(replicas):
                if not torch.equal(theirs, mine):
                    differ = (theirs != mine).sum().item()
                    raise SystemExit(f"rank {rank}, step {step}: the parameters of rank "
                                     f"{other} differ in {differ} of {mine.numel()} values")
            print(f"rank {rank} step {step}: local loss {loss:.5f}, "
                  f"{args.nproc} replicas identical", flush=True)
        if rank == 0:
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, result_path)
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compile_artifacts(args):
    """Compiles the layers' artifacts for the single process's batches and
    the replicas' slices of them."""
    target = "cpu" if args.backend == "gloo" else "gpu"
    for m in (args.rows * args.nproc, args.rows):
        for method, bits, n, k in (("quest", 4, HIDDEN, IN), ("stableqat", 2, OUT, HIDDEN)):
            packed = torch_mlir.default_packed(bits, args.chip) if method == "quest" else False
            name, text = torch_mlir.layer_artifact(method, bits, m, n, k, packed=packed)
            directory = torch_mlir.artifacts_dir() / (name if target == "gpu" else name + "-cpu")
            if not (directory / "manifest.json").exists():
                torch_mlir.compile_artifact(directory, text, target, chip=args.chip)
                print(f"compiled {directory}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--rows", type=int, default=10, help="rows per process and step")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--chip", default=torch_mlir.DEFAULT_CHIP,
                    help="GPU artifacts: the chip to compile for")
    ap.add_argument("--compile-only", action="store_true",
                    help="compile the artifacts the run needs and stop (where qat-opt is)")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = secrets.randbits(31)
    print(f"seed {args.seed} (--seed {args.seed} replays it); backend {args.backend}, "
          f"{args.nproc} processes x {args.rows} rows, {args.steps} steps", flush=True)
    if torch_mlir.QAT_OPT.exists():
        compile_artifacts(args)
    if args.compile_only:
        return
    if args.backend == "nccl" and torch.cuda.device_count() < args.nproc:
        sys.exit(f"--backend nccl needs {args.nproc} GPUs, found {torch.cuda.device_count()}")

    torch.set_num_threads(1)
    # One process on the whole batches (on the first GPU for NCCL).
    device = device_for(args.backend, 0)
    model = make_model(args.seed, device)
    initial = flat_parameters(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    xs, targets = make_data(args.seed, args.steps, args.rows * args.nproc, device)
    for step in range(args.steps):
        loss = train_step(model, optimizer, xs[step], targets[step])
        print(f"single process step {step}: loss {loss:.5f}", flush=True)

    # The processes' kernels (fewer rows) loaded here first: on the GPU,
    # loading links an artifact, which concurrent processes must not do.
    for layer in (model.fc1, model.fc2):
        layer.kernels(args.rows, device.type)

    with tempfile.TemporaryDirectory() as tmp:
        result_path = pathlib.Path(tmp) / "rank0.pt"
        mp.spawn(worker, args=(args, free_port(), result_path), nprocs=args.nproc)
        ddp_state = torch.load(result_path)

    failed = False
    for name, single in model.state_dict().items():
        single, ddp = single.cpu().double(), ddp_state[name].double()
        error = ((ddp - single).norm() / single.norm()).item()
        ok = error <= TOLERANCE  # False for NaN
        failed |= not ok
        print(f"{name:12s} DDP vs single process: rel err {error:.3e}   "
              f"tol {TOLERANCE:.0e}   {'ok' if ok else 'FAIL'}")
    moved = ((flat_parameters(model) - initial).norm() / initial.norm()).item()
    print(f"parameters moved by {moved:.3e} (relative) in {args.steps} steps")
    if not moved > 0:
        failed = True
        print("FAIL: training did not change the parameters")
    print("FAIL" if failed else "DDP matches a single process")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
