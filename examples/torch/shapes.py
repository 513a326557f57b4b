"""The layer shapes that examples/torch/check_layers.py, train.py and
matmul_bench.py use, so that examples/torch/build.py can compile their
artifacts ahead of time (qat shapes are static). No torch here: build.py
runs where qat-opt is."""

# check_layers.py: (method, bits, M, N, K, packed) with M the input rows
# (StableQAT's functions do not depend on M) and packed whether QuEST's codes
# go two per byte (s4 tensor cores) or one (s8). Shapes that are not
# multiples of the 128x128 matmul tile on purpose.
CHECK_CASES = [
    ("quest", 4, 200, 320, 512, False),
    ("quest", 4, 200, 320, 512, True),
    ("quest", 3, 256, 192, 384, True),
    ("quest", 8, 136, 256, 256, False),
    ("stableqat", 2, 200, 320, 512, False),
    ("stableqat", 4, 256, 192, 384, False),
    # Odd rows, columns and (StableQAT) features: the GEMMs' edge tiles and
    # rows that are not a multiple of 16 bytes.
    ("quest", 4, 37, 41, 256, False),
    ("stableqat", 4, 5, 7, 33, False),
    # The first layer of train.py's default model, at full size.
    ("quest", 4, 8192, 4096, 2048, False),
    ("quest", 4, 8192, 4096, 2048, True),
    ("stableqat", 4, 8192, 4096, 2048, False),
]

# train.py: name -> (tokens per batch, model width, hidden width).
MODELS = {
    "base": (8192, 2048, 4096),
    "small": (4096, 1024, 4096),
}
# The quantized models of train.py: (method, bits).
TRAIN_METHODS = [("quest", 4), ("stableqat", 4), ("stableqat", 2)]


def model_layers(model):
    """(M, N, K) of the two linear layers of an MLP model."""
    m, d, h = MODELS[model]
    return [(m, h, d), (m, d, h)]


def all_layers(models, default_packed):
    """Every (method, bits, M, N, K, packed) that check_layers.py and
    train.py use; default_packed(bits) for the trained QuEST layers."""
    cases = list(CHECK_CASES)
    for model in models:
        for method, bits in TRAIN_METHODS:
            cases += [(method, bits, m, n, k, default_packed(bits))
                      for m, n, k in model_layers(model)]
    return list(dict.fromkeys(cases))


def matmul_shapes(models):
    """(M, N, K) of the QuEST matmuls of the models, for matmul_bench.py."""
    return list(dict.fromkeys(s for model in models for s in model_layers(model)))
