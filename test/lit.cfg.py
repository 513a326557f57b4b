# lit configuration of the qat test suite.

import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QAT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py",
                   "Inputs", "lit-helpers"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qat_obj_root, "test")

config.substitutions.append(("%qat_src_root", config.qat_src_root))
config.substitutions.append(("%qat_obj_root", config.qat_obj_root))
config.substitutions.append(("%python", config.host_python))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.qat_tools_dir, config.llvm_tools_dir]
tools = ["qat-opt", "qat-capi-test", "qat-run"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# A C compiler (%cc) for tests that link objects written by qat-run into C
# programs; they carry `REQUIRES: c-compiler`.
_cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") \
    or shutil.which("clang")
if _cc:
    config.substitutions.append(("%cc", _cc))
    config.available_features.add("c-compiler")

# Tests that execute lowered MLIR on the CPU with upstream's mlir-runner
# (Debian's mlir-22-tools) carry `REQUIRES: mlir-runner`.
_runner_utils = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib",
                             "libmlir_c_runner_utils.so")
if os.path.exists(os.path.join(config.llvm_tools_dir, "mlir-runner")) and \
        os.path.exists(_runner_utils):
    config.available_features.add("mlir-runner")
    config.substitutions.append(("%mlir_c_runner_utils", _runner_utils))

# Tests of the Python package (test/python) carry `REQUIRES: python-bindings`.
if getattr(config, "qat_enable_python", False):
    config.available_features.add("python-bindings")

# Tests that compare with PyTorch (Debian's python3-torch) carry
# `REQUIRES: torch`.
import subprocess
if subprocess.run([config.host_python, "-c", "import torch"],
                  capture_output=True).returncode == 0:
    config.available_features.add("torch")

# GPU tests run only where a CUDA GPU is present (CI has none): they carry
# `REQUIRES: cuda-gpu`.
def _has_cuda_gpu():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 \
        and count.value > 0


if _has_cuda_gpu():
    config.available_features.add("cuda-gpu")

# The qat CUDA runtime, built where a CUDA toolkit is: qat-run --target=cuda
# tests that need no GPU carry `REQUIRES: cuda-runtime`. The toolkit's stub
# libcuda (%cuda_stubs/libcuda.so) lets them reach the driver without one.
if os.path.exists(os.path.join(config.qat_obj_root, "lib",
                               "libqat_cuda_runtime.so")):
    config.available_features.add("cuda-runtime")
for _stubs in [os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"),
                            "lib64", "stubs"),
               "/usr/local/cuda/lib64/stubs"]:
    if os.path.exists(os.path.join(_stubs, "libcuda.so")):
        config.substitutions.append(("%cuda_stubs", _stubs))
        config.available_features.add("cuda-stub")
        # Its headers (%cuda_include/cuda.h), for test/Runtime's mock driver.
        _include = os.path.join(os.path.dirname(os.path.dirname(_stubs)), "include")
        if os.path.exists(os.path.join(_include, "cuda.h")):
            config.substitutions.append(("%cuda_include", _include))
            config.available_features.add("cuda-headers")
        break
