"""Builds the qat Python package with CMake for pip (pyproject.toml).

The extension qat._qat is the CMake target QATPython, built in build-pip/
(as deep as build/, so that ccache shares their objects; or in the existing
build tree that $QAT_BUILD_DIR names,
which makes a reinstall a no-op build); the pure-Python modules come from
python-bindings/qat, and _version.py, which CMake writes from
project(qat VERSION ...), joins them. Offline and without build isolation:

    pip install --no-build-isolation .
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
# setuptools writes its build and egg-info directories here (options below).
(ROOT / "build-pip" / "setuptools").mkdir(parents=True, exist_ok=True)


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(qat\s+VERSION\s+([0-9.]+)", text).group(1)


class CMakeBuild(build_ext):
    """Configures (once) and builds the CMake target QATPython, then copies
    the extension and _version.py into the package being built."""

    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("QAT_BUILD_DIR")
                             or ROOT / "build-pip").resolve()
        if not (build / "CMakeCache.txt").exists():
            configure = ["cmake", "-S", ROOT, "-B", build,
                         "-DCMAKE_BUILD_TYPE=Release",
                         "-DQAT_ENABLE_PYTHON=ON",
                         f"-DPython3_EXECUTABLE={sys.executable}"]
            if shutil.which("ninja"):
                configure += ["-G", "Ninja"]
            mlir_dir = os.environ.get("MLIR_DIR", "/usr/lib/llvm-22/lib/cmake/mlir")
            if pathlib.Path(mlir_dir).is_dir():
                configure.append(f"-DMLIR_DIR={mlir_dir}")
            subprocess.run([str(a) for a in configure], check=True)
        jobs = os.environ.get("QAT_JOBS", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "QATPython",
                        "-j", jobs], check=True)

        package = build / "python-packages" / "qat"
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = package / ("_qat" + suffix)
        if not built.exists():
            found = ", ".join(p.name for p in package.glob("_qat*")) or "nothing"
            raise RuntimeError(
                f"{build} has no {built.name} for {sys.executable} (found {found}): "
                "that build is for another Python; build in a fresh directory")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)
        shutil.copyfile(package / "_version.py", target.parent / "_version.py")


setup(
    version=project_version(),
    packages=["qat"],
    package_dir={"qat": "python-bindings/qat"},
    ext_modules=[Extension("qat._qat", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own build directory, away from CMake's build/.
    options={"build": {"build_base": "build-pip/setuptools"},
             "egg_info": {"egg_base": "build-pip/setuptools"}},
    zip_safe=False,
)
