"""qat.run_pipeline / Module.run_passes: textual and named pipelines, errors."""

import re

import pytest

import qat

TWICE = """
func.func @twice(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {
  %0 = qat.hadamard %x block 128 : tensor<4x256xf32>
  %1 = qat.hadamard %0 block 128 : tensor<4x256xf32>
  return %1 : tensor<4x256xf32>
}
"""

QUANT = """
func.func @fq(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<64x256xf32> -> tensor<64x1xf32>
  %y = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row>
      with trust : tensor<64x256xf32>, tensor<64x1xf32>
  return %y : tensor<64x256xf32>
}
"""


def ops(module):
    """Names of the ops in the printed module, e.g. {'qat.hadamard', ...}."""
    return set(re.findall(r"\b([a-z_]+\.[a-z_.]+)\b", str(module)))


@pytest.mark.parametrize("pipeline", ["canonicalize", "builtin.module(canonicalize)",
                                      "func.func(canonicalize),cse"])
def test_canonicalize(pipeline):
    module = qat.Module.parse(TWICE)
    assert module.run_passes(pipeline) is module
    # Two Hadamard rotations with the same block cancel.
    assert "qat.hadamard" not in str(module)
    assert "return %arg0" in str(module)


def test_qat_to_cpu():
    module = qat.Module.parse(QUANT)
    assert qat.run_pipeline(module, "qat-to-cpu") is module
    names = {name.split(".")[0] for name in ops(module)
             if not name.startswith("builtin.")}
    assert names == {"llvm"}, names
    without_fusion = qat.Module.parse(QUANT)
    qat.run_pipeline(without_fusion, "qat-to-cpu", fuse_elementwise=False)
    assert "llvm.func @fq" in str(without_fusion)


def test_qat_to_nvptx_options():
    module = qat.Module.parse(QUANT)
    qat.run_pipeline(module, "qat-to-nvptx", chip="sm_80", format="isa",
                     linalg_tile_sizes=[2, 64])
    text = str(module)
    assert "gpu.binary" in text and 'chip = "sm_80"' in text
    assert ".entry" in text  # PTX embedded (format=isa)
    same = qat.Module.parse(QUANT)
    same.run_passes("builtin.module(qat-to-nvptx{chip=sm_80 format=isa "
                    "linalg-tile-sizes=2,64})")
    # Equal but for the measured compile time.
    timeless = lambda t: re.sub(r"TimeInMs = \d+", "", t)  # noqa: E731
    assert timeless(str(same)) == timeless(text)


def test_unknown_pass():
    module = qat.Module.parse(TWICE)
    with pytest.raises(qat.MLIRError) as info:
        qat.run_pipeline(module, "canonicalize,no-such-pass")
    assert "'no-such-pass' does not refer to a registered pass or pass pipeline" \
        in str(info.value)
    assert "qat.hadamard" in str(module)


def test_unknown_option():
    module = qat.Module.parse(QUANT)
    # Named pipelines report option errors through llvm::cl; they are in the
    # exception all the same.
    with pytest.raises(qat.MLIRError, match="no such option no-such-option"):
        qat.run_pipeline(module, "qat-to-nvptx", no_such_option=1)
    with pytest.raises(qat.MLIRError, match="no such option bogus"):
        module.run_passes("canonicalize{bogus=1}")
    with pytest.raises(TypeError, match="keyword options apply to one pass"):
        module.run_passes("canonicalize,cse", max_iterations=2)


# A tensor no GPU holds: convert-qat-to-gpu fails on it when it runs.
TOO_LARGE = """
func.func @huge(%x: tensor<4611686018427387904x256xf32>) -> tensor<4611686018427387904x256xf32> {
  %y = qat.hadamard %x block 128 : tensor<4611686018427387904x256xf32>
  return %y : tensor<4611686018427387904x256xf32>
}
"""


def test_failing_pass_leaves_module_unchanged():
    module = qat.Module.parse(TOO_LARGE)
    before = str(module)
    with pytest.raises(qat.MLIRError) as info:
        qat.run_pipeline(module, "qat-to-nvptx", format="isa")
    message = str(info.value)
    assert "failed; the module is unchanged" in message
    assert "<string>:3:8: error: 'qat.hadamard' op operand #0 of type " \
        "'tensor<4611686018427387904x256xf32>' has more elements or bytes than " \
        "int64 counts" in message
    assert str(module) == before


def test_invalid_option_is_refused_before_any_pass_runs():
    module = qat.Module.parse(QUANT)
    before = str(module)
    # 64 * 64 * 64 threads is no thread block (checked when the pipeline is
    # built, as every qat-to-nvptx option is).
    with pytest.raises(qat.MLIRError) as info:
        qat.run_pipeline(module, "qat-to-nvptx", linalg_tile_sizes=[64, 64, 64])
    message = str(info.value)
    assert "invalid pass pipeline" in message
    assert "qat-to-nvptx: linalg-tile-sizes=64,64,64 does not describe a thread " \
        "block" in message
    assert str(module) == before


def test_invalid_module_is_refused():
    module = qat.Module.parse(TWICE.replace("block 128 : tensor<4x256xf32>\n  %1",
                                            "block 96 : tensor<4x256xf32>\n  %1"),
                              verify=False)
    with pytest.raises(qat.MLIRError, match="does not verify; pass pipelines run on "
                       "valid IR only"):
        module.run_passes("canonicalize")


def test_malformed_pipeline():
    module = qat.Module.parse(TWICE)
    with pytest.raises(qat.MLIRError, match="invalid pass pipeline"):
        module.run_passes("builtin.module(canonicalize),cse")
    with pytest.raises(TypeError, match="expects a qat.Module"):
        qat.run_pipeline(TWICE, "canonicalize")


@pytest.mark.parametrize("options, message", [
    ({"chip": "sm_999"}, "unknown chip=sm_999; the NVPTX backend knows"),
    ({"chip": "sm_90", "features": "+ptx60"}, "chip=sm_90 needs PTX 7.8 or later"),
    ({"format": "foo"}, "unknown format=foo; expected bin"),
])
def test_bad_gpu_options_raise(options, message):
    # Once LLVM fatal errors that aborted the interpreter (issue 18).
    module = qat.Module.parse(TWICE)
    with pytest.raises(qat.MLIRError, match=re.escape(message)):
        module.run_passes("qat-to-nvptx", **options)
    assert "qat.hadamard" in str(module)  # unchanged
