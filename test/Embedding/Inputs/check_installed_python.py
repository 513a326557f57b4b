"""Uses the qat Python package installed under PREFIX (test/Embedding/
install.test): imports it from there and nowhere else, checks its version
against the checkout's CMakeLists.txt, compiles and calls a module from a
relative path, and compiles a CPU artifact with the installed qat-opt and
scripts (torch_mlir, as QATLinear does), called through qat.compiled.

usage: check_installed_python.py PREFIX SOURCE_ROOT
"""

import pathlib
import re
import sys
import tempfile

prefix, source = map(pathlib.Path, sys.argv[1:3])
(site,) = prefix.glob("lib/python*/site-packages")
sys.path.insert(0, str(site))

import numpy as np  # noqa: E402

import qat  # noqa: E402
from qat import compiled, torch_mlir  # noqa: E402

location = pathlib.Path(qat.__file__).resolve()
assert location.is_relative_to(prefix.resolve()), location
print("import qat:", location)

expected = re.search(r"project\(qat VERSION ([0-9.]+)",
                     (source / "CMakeLists.txt").read_text()).group(1)
assert qat.__version__ == expected, (qat.__version__, expected)
print(f"qat.__version__ = {qat.__version__} (CMakeLists.txt: the same)")

module = qat.compile("quest_linear.mlir")
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 256), np.float32)
w = rng.normal(0, 0.06, (128, 256)).astype(np.float32)
target = rng.standard_normal((64, 128), np.float32)
_, _, loss = module["quest_linear_step"](x, w, target, np.float32(0.01))
assert np.isfinite(loss), loss
print(f"qat.compile('quest_linear.mlir'): {', '.join(module.functions)}, loss {loss:.4f}")

qat_opt = torch_mlir.QAT_OPT.resolve()
assert qat_opt == (prefix / "bin" / "qat-opt").resolve(), qat_opt
assert (torch_mlir.SCRIPTS / "gpu" / "compile.py").exists(), torch_mlir.SCRIPTS
print("torch_mlir: qat-opt", qat_opt)

# StableQAT's layer for 3 outputs of 16 inputs (its dynamic-rows module),
# here on 2 rows, against numpy: the quantized weight exactly, y = x w^T to
# bf16 rounding.
name, text = torch_mlir.layer_artifact("stableqat", 4, None, 3, 16)
with tempfile.TemporaryDirectory() as tmp:
    artifact = pathlib.Path(tmp) / name
    torch_mlir.compile_artifact(artifact, text, "cpu")
    library = compiled.CompiledModule(artifact / "module.so", artifact / "manifest.json")
    forward = library[name + "_forward"]
    x = compiled.to_bf16(rng.standard_normal((2, 16)).astype(np.float32))
    w = rng.standard_normal((3, 16)).astype(np.float32)
    s = np.full((3, 1), 0.3, np.float32)
    y_desc, wq_desc = forward.call_on_pointers(
        [x.ctypes.data, w.ctypes.data, s.ctypes.data], [(2, 16), (3, 16), (3, 1)])

    def bf16_result(desc, rows, cols):
        bits = np.ctypeslib.as_array(
            (compiled.ctypes.c_uint16 * (rows * cols)).from_address(desc.aligned))
        return compiled.from_bf16(bits.reshape(rows, cols).copy())
    got = bf16_result(wq_desc, 3, 16)
    want = compiled.from_bf16(compiled.to_bf16(np.clip(np.round(w / s), -8, 7) * s))
    y = bf16_result(y_desc, 2, 3)
    y_want = compiled.from_bf16(x).astype(np.float64) @ want.T.astype(np.float64)
    assert np.allclose(y, y_want, rtol=2 ** -7, atol=1e-3), (y, y_want)
    print("CPU artifact: max |error|", float(np.abs(got - want).max()))
