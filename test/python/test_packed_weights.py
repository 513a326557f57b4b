"""qat.packed_weights: the codes and steps that qat-convert's @f_pack
computes, saved to .npz and loaded back, feed @f_inference, which then
reproduces the quantized training forward; bad files are refused."""

import json

import numpy as np
import pytest

import qat
from qat import packed_weights

F32 = np.float32

FLOAT_LAYER = """
func.func @layer(%x: tensor<5x96xf32>, %w: tensor<96x24xf32> {qat.param})
    -> tensor<5x24xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x24xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<5x24xf32>) -> tensor<5x24xf32>
  %y = linalg.matmul ins(%x, %w : tensor<5x96xf32>, tensor<96x24xf32>)
      outs(%f : tensor<5x24xf32>) -> tensor<5x24xf32>
  return %y : tensor<5x24xf32>
}
"""


@pytest.mark.parametrize("recipe", ["recipe=quest", "recipe=stableqat bits=2",
                                    "recipe=ste bits=8 granularity=per_group "
                                    "group-size=32"])
def test_round_trip(tmp_path, rng, recipe):
    module = qat.Module.parse(FLOAT_LAYER)
    module.run_passes(f"qat-quantize{{{recipe}}},qat-convert")
    fn = qat.compile(module.clone())
    x = rng.standard_normal((5, 96)).astype(F32)
    w = (rng.standard_normal((96, 24)) / 10).astype(F32)
    params = [w]
    if "stableqat" in recipe:
        params.append(fn["layer_init_steps"](w))
    packed = fn["layer_pack"](*params)
    packed = list(packed) if isinstance(packed, (list, tuple)) else [packed]
    path = tmp_path / "layer.npz"
    manifest = packed_weights.save(path, packed, function="layer", module=module)
    assert manifest["inference"] == "layer_inference"
    loaded, read = packed_weights.load(path)
    assert read == json.loads(json.dumps(manifest))
    assert all(np.array_equal(a, b) and a.dtype == b.dtype
               for a, b in zip(loaded, packed))
    weight = read["weights"][0]
    assert weight["packed"] == ("bits=8" not in recipe)
    want = {"quest": "<centered, 4 bits, rms_gaussian, per_row>",
            "stableqat": "<signed, 2 bits, learned, per_row>",
            "ste": "<signed, 8 bits, absmax, per_group<32>>"}
    assert weight["quantizer"] == want[recipe.split()[0][len("recipe="):]]
    train = fn["layer"](x, *params)
    infer = fn["layer_inference"](x, *loaded)
    assert np.array_equal(train, infer), np.max(np.abs(train - infer))


def test_refuses_bad_files(tmp_path):
    codes = np.zeros((4, 8), np.int8)
    steps = np.ones((4, 1), F32)
    with pytest.raises(ValueError, match="codes and steps in pairs"):
        packed_weights.save(tmp_path / "a.npz", [codes], function="f")
    with pytest.raises(ValueError, match="codes must be integers"):
        packed_weights.save(tmp_path / "a.npz", [steps, steps], function="f")
    with pytest.raises(ValueError, match="no @f_pack"):
        packed_weights.save(tmp_path / "a.npz", [codes, steps], function="f",
                            module="module {}")
    np.savez(tmp_path / "plain.npz", a=codes)
    with pytest.raises(ValueError, match="no manifest"):
        packed_weights.load(tmp_path / "plain.npz")
    path = tmp_path / "ok.npz"
    packed_weights.save(path, [codes, steps], function="f")
    with np.load(path) as archive:
        manifest = json.loads(str(archive["manifest"]))
    manifest["weights"][0]["codes_shape"] = [4, 4]
    np.savez(tmp_path / "bad.npz", manifest=np.array(json.dumps(manifest)),
             codes_0=codes, steps_0=steps)
    with pytest.raises(ValueError, match=r"codes_0 is int8\[4, 8\], the manifest says int8\[4, 4\]"):
        packed_weights.load(tmp_path / "bad.npz")
