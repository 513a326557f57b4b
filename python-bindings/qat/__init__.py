"""qat from Python: parse, verify, transform and run quantization-aware
training graphs written with the qat MLIR dialect.

    import numpy as np
    import qat

    m = qat.Module.parse(text)             # verified; qat.MLIRError if not
    q = qat.Quantizer(grid="signed", bits=4, method="learned")
    fn = qat.compile(m)                    # qat-to-cpu + JIT, as qat-run
    y = fn["main"](x, s)                   # numpy in, numpy out

Everything MLIR reports (parser, verifiers, passes, lowering, JIT) is raised
as qat.MLIRError with its diagnostics and their locations. docs/python.md
has the details; qat.compiled loads GPU artifacts compiled ahead of time
(numpy + ctypes only, for machines without LLVM).
"""

import importlib
import pathlib
import re


def _checkout_version():
    """The version in project(qat VERSION ...) of the checkout this package
    is in, for python-bindings/qat used without a build (CMake writes
    _version.py into every built or installed package)."""
    cmake = pathlib.Path(__file__).resolve().parents[2] / "CMakeLists.txt"
    try:
        match = re.search(r"project\(qat\s+VERSION\s+([0-9.]+)", cmake.read_text())
    except OSError:
        match = None
    return match.group(1) if match else "unknown"


try:
    from ._version import __version__
except ImportError:
    __version__ = _checkout_version()

try:
    from ._qat import (
        Attribute,
        CompiledFunction,
        CompiledModule,
        Context,
        Diagnostic,
        FunctionInfo,
        GradientEstimator,
        MLIRError,
        Module,
        Quantizer,
        clip,
        compile,
        fourier,
        run_pipeline,
        ste,
        trust,
    )
except ImportError as _error:
    # Where the extension is not built, or LLVM/MLIR is not installed (the
    # GPU machine), qat.compiled still works; the rest says why it does not.
    _missing = _error

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:  # a submodule such as qat.compiled
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
        if name not in __all__:
            # Not ImportError: hasattr() and getattr(qat, name, default),
            # with which tools such as torch.compile probe modules, must
            # answer "no" rather than fail.
            raise AttributeError(f"module 'qat' has no attribute '{name}'")
        raise ImportError(
            f"qat.{name} needs the qat extension (qat._qat), which did not "
            f"load: {_missing}. Build it (CMake option QAT_ENABLE_PYTHON) and "
            "put <build>/python-packages on PYTHONPATH (docs/python.md); "
            "qat.compiled works without it.") from _missing
else:
    # Shown as qat.Module, not qat._qat.Module.
    for _class in (Attribute, CompiledFunction, CompiledModule, Context,
                   Diagnostic, FunctionInfo, GradientEstimator, Module,
                   Quantizer):
        _class.__module__ = __name__
    del _class

__all__ = [
    "Attribute",
    "CompiledFunction",
    "CompiledModule",
    "Context",
    "Diagnostic",
    "FunctionInfo",
    "GradientEstimator",
    "MLIRError",
    "Module",
    "Quantizer",
    "clip",
    "compile",
    "fourier",
    "run_pipeline",
    "ste",
    "trust",
]
