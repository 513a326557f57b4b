#!/usr/bin/env python3
"""Compiles the qat artifacts of the PyTorch examples (examples/torch) for
the GPU, where qat-opt and LLVM are: one folder per layer (features,
method, bits; any number of rows) and per matmul benchmark shape under
.device-carry/torch/ (or $QAT_TORCH_ARTIFACTS), with module.o and
manifest.json. Carry that folder to the GPU machine; QATLinear links each
artifact with the qat CUDA runtime on first use.

usage: examples/torch/build.py [--chip sm_90] [--models base,small]

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
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--models", default=",".join(shapes.MODELS))
    args = ap.parse_args()
    models = args.models.split(",")
    artifacts = []
    for method, bits, m, n, k, packed in shapes.all_layers(
            models, lambda bits: torch_mlir.default_packed(bits, args.chip)):
        # QATLinear's artifacts have dynamic rows: one per (N, K, method).
        artifacts.append(torch_mlir.layer_artifact(method, bits, None, n, k, packed=packed))
    for m, n, k in shapes.matmul_shapes(models):
        artifacts += [torch_mlir.matmul_module(m, n, k, 4, packed) for packed in (False, True)]
    for name, source in dict(artifacts).items():
        torch_mlir.compile_artifact(torch_mlir.artifacts_dir() / name, source, "gpu", args.chip)
        print(f"build.py: {torch_mlir.artifacts_dir() / name}")


if __name__ == "__main__":
    main()
