"""qat.compile(target="cuda"): qat-to-nvptx, the JIT and the qat CUDA
runtime from Python. Where a GPU is present the results are compared with
the same functions compiled for the CPU (whose numerics test_execution.py
checks against numpy); without one, the error must say what is missing."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import qat

MODULE = """
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#lsq3 = #qat.quantizer<signed, 3 bits, learned, per_row>

func.func @quest_forward(%x: tensor<37x256xf32>) -> (tensor<37x256xf32>, tensor<37x1xf32>) {
  %h = qat.hadamard %x block 128 : tensor<37x256xf32>
  %s = qat.scale %h as #q4 : tensor<37x256xf32> -> tensor<37x1xf32>
  %y = qat.fake_quant %h, %s as #q4 with trust : tensor<37x256xf32>, tensor<37x1xf32>
  return %y, %s : tensor<37x256xf32>, tensor<37x1xf32>
}

func.func @lsq_backward(%dy: tensor<19x96xf32>, %x: tensor<19x96xf32>, %s: tensor<19x1xf32>)
    -> (tensor<19x96xf32>, tensor<19x1xf32>) {
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as #lsq3 with fourier
      : tensor<19x96xf32>, tensor<19x1xf32> -> tensor<19x1xf32>
  return %dx, %ds : tensor<19x96xf32>, tensor<19x1xf32>
}

func.func @matmul(%a: tensor<45x128xi8>, %b: tensor<24x128xi8>, %sa: tensor<45x1xf32>,
                  %sb: tensor<24x1xf32>) -> tensor<45x24xf32> {
  %y = qat.matmul %a, %b, %sa, %sb as #q4, #q4 packed
      : tensor<45x128xi8>, tensor<24x128xi8>, tensor<45x1xf32>, tensor<24x1xf32> -> tensor<45x24xf32>
  return %y : tensor<45x24xf32>
}
"""

NO_GPU = r"libcuda\.so\.1 not found|no CUDA device"


@pytest.fixture(scope="module")
def gpu():
    """The module compiled for the GPU, or the RuntimeError that says why
    there is none."""
    try:
        return qat.compile(MODULE, target="cuda")
    except RuntimeError as error:
        return error


@pytest.fixture(scope="module")
def cpu():
    return qat.compile(MODULE)


def need_gpu(gpu):
    if isinstance(gpu, RuntimeError):
        pytest.skip(f"no GPU here: {gpu}")
    return gpu


def test_without_a_gpu_the_error_says_why(gpu):
    if not isinstance(gpu, RuntimeError):
        pytest.skip("a GPU is present")
    assert "target='cuda'" in str(gpu)
    assert re.search(NO_GPU, str(gpu)), str(gpu)


def test_lowering_for_a_named_chip_needs_no_gpu():
    # qat.run_pipeline shows what target='cuda' runs: kernels in a cubin.
    lowered = qat.run_pipeline(qat.Module.parse(MODULE), "qat-to-nvptx", chip="sm_80")
    assert "gpu.binary" in str(lowered)


def compare(name, actual, expected, rtol, atol, allowed_mismatch=0):
    """Elementwise |a - e| <= atol + rtol |e|, except at most
    `allowed_mismatch` elements (rounding ties decided differently by one
    ulp of a division)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    print(f"{name}: {bad.sum()} of {bad.size} differ beyond rtol={rtol} atol={atol}")
    assert bad.sum() <= allowed_mismatch, (name, np.argwhere(bad)[:5])


def test_quest_forward_matches_the_cpu(gpu, cpu, rng):
    gpu = need_gpu(gpu)
    x = rng.standard_normal((37, 256)).astype(np.float32)
    y_gpu, s_gpu = gpu["quest_forward"](x)
    y_cpu, s_cpu = cpu["quest_forward"](x)
    # The Hadamard butterflies and the RMS reduction sum in another order:
    # a few ulp; a code may then flip at a tie, moving one element a step.
    compare("scale", s_gpu, s_cpu, rtol=1e-5, atol=0)
    compare("fake_quant", y_gpu, y_cpu, rtol=1e-5, atol=1e-6, allowed_mismatch=3)


def test_lsq_backward_matches_the_cpu(gpu, cpu, rng):
    gpu = need_gpu(gpu)
    dy = rng.standard_normal((19, 96)).astype(np.float32)
    x = rng.standard_normal((19, 96)).astype(np.float32)
    s = rng.uniform(0.2, 0.6, (19, 1)).astype(np.float32)
    dx_gpu, ds_gpu = gpu["lsq_backward"](dy, x, s)
    dx_cpu, ds_cpu = cpu["lsq_backward"](dy, x, s)
    compare("dx", dx_gpu, dx_cpu, rtol=1e-5, atol=1e-6)
    # ds sums 96 terms per row in another order.
    compare("ds", ds_gpu, ds_cpu, rtol=1e-4, atol=1e-5)


def test_matmul_on_tensor_cores_matches_the_cpu(gpu, cpu, rng):
    gpu = need_gpu(gpu)
    a = rng.integers(-128, 128, (45, 128), dtype=np.int8)
    b = rng.integers(-128, 128, (24, 128), dtype=np.int8)
    sa = rng.uniform(0.01, 0.1, (45, 1)).astype(np.float32)
    sb = rng.uniform(0.01, 0.1, (24, 1)).astype(np.float32)
    # The integer sum is exact on both; the epilogue rounds differently.
    compare("matmul", gpu["matmul"](a, b, sa, sb), cpu["matmul"](a, b, sa, sb),
            rtol=1e-5, atol=1e-5)
    timing = gpu["matmul"].time(a, b, sa, sb, warmup=1, repeat=3)
    assert 0 < timing["min"] <= timing["median"] <= timing["max"]


def test_arguments_are_checked_before_the_gpu_runs(gpu):
    gpu = need_gpu(gpu)
    with pytest.raises(ValueError, match="shape mismatch"):
        gpu["quest_forward"](np.zeros((36, 256), np.float32))


STUBS = pathlib.Path("/usr/local/cuda/lib64/stubs/libcuda.so")


@pytest.mark.skipif(not STUBS.exists(), reason="no CUDA toolkit stub libcuda")
def test_driver_without_a_device(gpu, tmp_path):
    # The toolkit's stub libcuda in place of a driver: the extension finds
    # and loads the qat CUDA runtime, cuInit fails, and the error says so.
    if not isinstance(gpu, RuntimeError):
        pytest.skip("a GPU is present")
    (tmp_path / "libcuda.so.1").symlink_to(STUBS)
    code = ("import qat\n"
            "try:\n"
            "    qat.compile('func.func @f(%x: f32) -> f32 { return %x : f32 }', target='cuda')\n"
            "except RuntimeError as error:\n"
            "    print(error)\n")
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path), PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert ("target='cuda': no CUDA device: cuInit failed: CUDA_ERROR_STUB_LIBRARY"
            in result.stdout), result.stdout + result.stderr
