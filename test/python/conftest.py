"""Shared fixtures of the qat Python tests.

lit runs them with PYTHONPATH=<build>/python-packages (test/python/pytest.test);
run by hand, `python3 -m pytest test/python` finds the package in build/ or in
$QAT_BUILD_DIR.
"""

import os
import pathlib
import secrets
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

try:
    import qat  # noqa: F401
except ImportError:
    build = pathlib.Path(os.environ.get("QAT_BUILD_DIR", ROOT / "build"))
    sys.path.insert(0, str(build / "python-packages"))


@pytest.fixture
def examples():
    return ROOT / "examples"


@pytest.fixture
def rng(request):
    """Fresh random data for every run; QAT_TEST_SEED=<seed> replays one."""
    seed = int(os.environ.get("QAT_TEST_SEED", secrets.randbits(32)))
    print(f"{request.node.name}: seed {seed} (QAT_TEST_SEED={seed} replays it)")
    return np.random.default_rng(seed)
