#!/usr/bin/env python3
"""Compiles the qat artifacts of the PyTorch examples (examples/torch) for
the GPU, where qat-opt and LLVM are: one folder per layer (features,
method, bits, rows) and per matmul benchmark shape under
.device-carry/torch/ (or $QAT_TORCH_ARTIFACTS), with module.o and
manifest.json. Carry that folder to the GPU machine; QATLinear links each
artifact with the qat CUDA runtime on first use.

usage: examples/torch/build.py [--chip sm_90a] [--models base,small]

--chip names the GPU the artifacts run on: sm_90a (the default) for the
lent H100/H200, which QATLinear names for a Hopper device as well
(torch_mlir.chip_for_capability); the artifact folders do not record it.

(The CPU variants for check_layers.py --device cpu compile on first use.)
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python-bindings" / "qat"))

import shapes  # noqa: E402
import torch_mlir  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chip", default=torch_mlir.DEFAULT_CHIP)
    ap.add_argument("--models", default=",".join(shapes.MODELS))
    args = ap.parse_args()
    models = args.models.split(",")
    artifacts = []
    for method, bits, m, n, k, packed in shapes.all_layers(
            models, lambda bits: torch_mlir.default_packed(bits, args.chip)):
        # QATLinear's artifacts: one per (M, N, K, method, bits), the GEMMs inside.
        artifacts.append(torch_mlir.layer_artifact(method, bits, m, n, k, packed=packed))
    for m, n, k in shapes.matmul_shapes(models):
        artifacts += [torch_mlir.matmul_module(m, n, k, 4, packed) for packed in (False, True)]
    for name, source in dict(artifacts).items():
        torch_mlir.compile_artifact(torch_mlir.artifacts_dir() / name, source, "gpu", args.chip)
        print(f"build.py: {torch_mlir.artifacts_dir() / name}")


if __name__ == "__main__":
    main()
