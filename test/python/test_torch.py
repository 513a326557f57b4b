"""QATLinear (python-bindings/qat/torch_layers.py) on the CPU, with the
functions compiled by qat-to-cpu: forward and backward (with and without the
input gradient) of QuEST and StableQAT layers, their GEMMs in the compiled
functions (with static or dynamic rows), against the independent PyTorch
reference of examples/torch/reference.py (the formulas of DESIGN.md,
evaluated in float64) through the checks of examples/torch/check_layers.py,
on random data at odd sizes; and
training under DistributedDataParallel (gloo, two processes) against one
process (examples/torch/ddp_check.py).

The artifacts are compiled into a fresh directory with the build's qat-opt
($QAT_OPT, set by pytest.test).
"""

import os
import pathlib
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "torch"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A fresh artifact directory for the layers of this module."""
    directory = tmp_path_factory.mktemp("torch-artifacts")
    previous = os.environ.get("QAT_TORCH_ARTIFACTS")
    os.environ["QAT_TORCH_ARTIFACTS"] = str(directory)
    yield directory
    if previous is None:
        del os.environ["QAT_TORCH_ARTIFACTS"]
    else:
        os.environ["QAT_TORCH_ARTIFACTS"] = previous


@pytest.fixture(scope="module")
def check_layers():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import check_layers
    finally:
        sys.path.remove(str(EXAMPLES))
    if not check_layers.QATLinear.__module__.endswith("torch_layers"):
        pytest.fail("check_layers did not import QATLinear")
    from torch_mlir import QAT_OPT
    if not QAT_OPT.exists():
        pytest.skip(f"no qat-opt at {QAT_OPT} to compile the CPU artifacts")
    return check_layers


def generator(rng):
    seed = int(rng.integers(2 ** 31))
    print(f"torch seed {seed}")
    return torch.Generator().manual_seed(seed)


# (bits, M, N, K, packed, dynamic_rows): M and N not multiples of anything on
# purpose (K is a multiple of QuEST's 128); M = 24 also goes through the
# (batch, tokens, features) reshape; packed codes on the CPU too; one layer
# with dynamic rows.
QUEST_CASES = [(4, 37, 41, 256, False, False), (3, 24, 57, 384, True, False),
               (4, 37, 41, 256, False, True)]
# (bits, M, N, K, dynamic_rows)
STABLEQAT_CASES = [(2, 19, 24, 72, False), (4, 5, 7, 33, False), (4, 5, 7, 33, True)]


@pytest.mark.parametrize("bits,m,n,k,packed,dynamic_rows", QUEST_CASES)
def test_quest_layer(check_layers, artifacts, rng, bits, m, n, k, packed, dynamic_rows):
    check_layers.failures.clear()
    check_layers.check_quest(bits, m, n, k, packed, "cpu", generator(rng), dynamic_rows)
    assert not check_layers.failures


@pytest.mark.parametrize("bits,m,n,k,dynamic_rows", STABLEQAT_CASES)
def test_stableqat_layer(check_layers, artifacts, rng, bits, m, n, k, dynamic_rows):
    check_layers.failures.clear()
    check_layers.check_stableqat(bits, m, n, k, "cpu", generator(rng), dynamic_rows)
    assert not check_layers.failures


@pytest.mark.parametrize("method", ["quest", "stableqat"])
def test_gemms_compiled(check_layers, artifacts, monkeypatch, method):
    """The layer's forward and backward call no torch GEMM: they are in its
    compiled functions (one artifact per number of rows, or with
    dynamic_rows one for every number)."""
    calls = []
    for name in ("mm", "matmul"):
        real = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda *a, real=real, name=name, **kw:
                            calls.append(name) or real(*a, **kw))
    for dynamic_rows in (False, True):
        layer = check_layers.QATLinear(128, 9, method=method, dynamic_rows=dynamic_rows)
        x = torch.randn(2, 3, 128).requires_grad_()
        calls.clear()
        layer(x).sum().backward()
        assert x.grad.shape == x.shape and layer.weight.grad.shape == (9, 128)
        assert not calls, f"torch GEMMs called: {calls}"
        rows = None if dynamic_rows else 6
        forward = layer._kernels[("cpu", rows)]["forward"]
        assert forward.name.endswith(f"_m{rows or 'dyn'}_n9_k128_forward"), forward.name


def test_chip_for_capability():
    from torch_mlir import chip_for_capability, default_packed
    assert chip_for_capability(9, 0) == "sm_90a"
    assert chip_for_capability(8, 0) == "sm_80"
    assert chip_for_capability(8, 9) == "sm_89"
    assert chip_for_capability(10, 0) == "sm_100"
    assert not default_packed(4, chip_for_capability(9, 0))
    assert default_packed(4, chip_for_capability(8, 9))


def test_layer_errors(check_layers, artifacts):
    QATLinear = check_layers.QATLinear
    with pytest.raises(ValueError, match="in_features = 100 is not a multiple of 128"):
        QATLinear(100, 8, method="quest")
    with pytest.raises(ValueError, match="method must be 'quest' or 'stableqat'"):
        QATLinear(128, 8, method="lsq")
    layer = QATLinear(128, 8, method="stableqat", bits=4)
    with pytest.raises(RuntimeError):
        layer(torch.zeros(3, 64))  # not 128 features


def test_ddp_gloo(check_layers, artifacts, rng):
    """Two processes, gloo on 127.0.0.1: replicas bit-identical after every
    step, and equal to one process trained on the combined batches."""
    seed = int(rng.integers(2 ** 31))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "ddp_check.py"), "--backend", "gloo",
         "--nproc", "2", "--seed", str(seed)],
        capture_output=True, text=True, timeout=300)
    print(proc.stdout[-4000:], proc.stderr[-4000:])
    assert proc.returncode == 0
    assert "2 replicas identical" in proc.stdout
    assert "DDP matches a single process" in proc.stdout


def test_kernel_argument_errors(check_layers, artifacts):
    """The per-signature checks of a kernel call name what is wrong."""
    layer = check_layers.QATLinear(128, 8, method="stableqat", bits=4)
    forward = layer.kernels(3, "cpu")["forward"]
    x = torch.zeros(3, 128, dtype=torch.bfloat16)
    w, s = layer.weight.detach(), layer.step.detach()
    y, wq = forward(x, w, s)
    assert y.dtype == wq.dtype == torch.bfloat16 and wq.shape == (8, 128) and y.shape == (3, 8)
    with pytest.raises(TypeError, match=r"argument 1 must be a contiguous, 16-byte aligned "
                       r"cpu tensor of shape \[8, 128\] and torch.float32; got \[8, 128\], "
                       r"torch.float64"):
        forward(x, w.double(), s)
    with pytest.raises(TypeError, match=r"argument 2 .* got \[8, 2\]"):
        forward(x, w, torch.zeros(8, 2))
    with pytest.raises(TypeError, match="argument 1 .*, not contiguous"):
        forward(x, torch.zeros(128, 8).t(), s)
    with pytest.raises(TypeError, match=r"argument 0 .* shape \[3, 128\] .* got \[4, 128\]"):
        forward(torch.zeros(4, 128, dtype=torch.bfloat16), w, s)  # another number of rows
    with pytest.raises(TypeError, match="takes 3 tensors, got 2"):
        forward(w, s)


def test_results_taken_over(check_layers, artifacts, rng):
    """Results come back through DLPack without a copy: each tensor is the
    compiled code's own buffer (the result descriptor's pointer), the same
    values as the copying path, and its memory goes back when torch frees
    it (200 calls with 0.6 MiB of results each, 120 MiB if they leaked, grow
    the process by less than 50 MiB)."""
    import resource

    gen = generator(rng)
    layer = check_layers.QATLinear(256, 40, method="quest", bits=4)
    forward = layer.kernels(37, "cpu")["forward"]
    assert forward.dlpack, "the CPU artifact was not linked with DLPack.cpp"
    x = torch.randn(37, 256, generator=gen).to(torch.bfloat16)
    w = layer.weight.detach()
    results = forward(x, w)
    for r, d in zip(results, forward.out_descs):
        assert r.data_ptr() == d.aligned
    saved, forward.dlpack = forward.dlpack, None
    try:
        copies = forward(x, w)
    finally:
        forward.dlpack = saved
    for r, c in zip(results, copies):
        assert r.dtype == c.dtype and r.shape == c.shape and torch.equal(r, c)

    big = torch.randn(1024, 256, generator=gen).to(torch.bfloat16)
    forward = layer.kernels(1024, "cpu")["forward"]  # the functions for 1024 rows
    for _ in range(5):
        forward(big, w)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(200):
        forward(big, w)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown < 50 * 1024, f"grew by {grown} KiB"


def test_layer_bench_smoke(check_layers, artifacts):
    """examples/torch/layer_bench.py (the GPU layer benchmark) runs every
    variant on the CPU, and its qat layers agree with their dynamic-rows
    twins."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import layer_bench
    finally:
        sys.path.remove(str(EXAMPLES))
    failed = []
    rows = layer_bench.bench_shape(37, 256, 41, "cpu", failed=failed)
    assert not failed, failed
    assert [r["variant"] for r in rows] == [
        "bf16", "bf16 autocast", "qat quest W4A4", "qat quest W4A4 dyn",
        "qat quest W4A4 packed", "qat stableqat W4", "qat stableqat W4 dyn",
        "torch quest W4A4"]
    for row in rows:
        assert row["ms"] > 0 and row["gpu_vs_bf16"] > 0
        if "agree" in row:
            assert max(row["agree"].values()) <= layer_bench.AGREE_TOLERANCE, row
