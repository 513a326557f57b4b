#!/usr/bin/env python3
"""Compiles the qat artifacts of the PyTorch examples (examples/torch) for
the GPU, where qat-opt and LLVM are: one folder per layer (features,
method, bits, rows) and per matmul benchmark shape under
.device-carry/torch/ (or $QAT_TORCH_ARTIFACTS), with module.o and
manifest.json. Carry that folder to the GPU machine; QATLinear links each
artifact with the qat CUDA runtime on first use.

usage: examples/torch/build.py [--chip sm_90a] [--models base,small] [--layer-bench SHAPES]

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

import layer_bench  # noqa: E402
import shapes  # noqa: E402
import torch_mlir  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chip", default=torch_mlir.DEFAULT_CHIP)
    ap.add_argument("--models", default=",".join(shapes.MODELS),
                    help="train.py's models ('' for none)")
    ap.add_argument("--layer-bench", default=",".join(layer_bench.SHAPES),
                    help="layer_bench.py's shapes MxKxN ('' for none)")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    default_packed = lambda bits: torch_mlir.default_packed(bits, args.chip)  # noqa: E731
    layers = shapes.all_layers(models, default_packed)
    for shape in filter(None, args.layer_bench.split(",")):
        m, k, n = layer_bench.parse(shape)
        layers += [(method, bits, m, n, k,
                    method == "quest" and (default_packed(bits) if packed is None else packed))
                   for _, method, bits, _, packed in layer_bench.QAT_VARIANTS]
    artifacts = []
    for method, bits, m, n, k, packed in layers:
        # QATLinear's artifacts: one per (M, N, K, method, bits), the GEMMs
        # inside, and the dynamic-rows one per (N, K, ...)
        # for check_layers.py --dynamic-rows and layer_bench.py.
        for rows in (m, None):
            artifacts.append(torch_mlir.layer_artifact(method, bits, rows, n, k, packed=packed))
    for m, n, k in shapes.matmul_shapes(models):
        artifacts += [torch_mlir.matmul_module(m, n, k, 4, packed) for packed in (False, True)]
    for name, source in dict(artifacts).items():
        directory = torch_mlir.artifacts_dir() / name
        torch_mlir.compile_artifact(directory, source, "gpu", args.chip)
        print(f"build.py: {directory}", flush=True)


if __name__ == "__main__":
    main()
