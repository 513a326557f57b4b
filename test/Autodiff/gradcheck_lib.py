"""Shared helpers of the qat-differentiate numerical tests.

Gradients from qat-differentiate are compared with central finite
differences of the forward function, both compiled for the CPU through the
qat Python package (qat-to-cpu, JIT) and evaluated in f64.
"""

import re

import numpy as np

import qat


def to_f64(text):
    """The same program in f64 (types and the -inf bit pattern)."""
    text = text.replace("f32", "f64")
    return text.replace("0xFF800000", "0xFFF0000000000000")


def differentiate(text, pipeline="qat-differentiate", **options):
    module = qat.Module.parse(text)
    qat.run_pipeline(module, pipeline, **options)
    return module


def arg_shapes(module, name):
    """(shape, dtype) of each argument of function `name`."""
    for info in module.functions:
        if info.name == name:
            return [_parse_type(t) for t in info.inputs]
    raise KeyError(name)


def _parse_type(text):
    m = re.fullmatch(r"tensor<((?:\d+x)*)(f32|f64)>", text)
    if m:
        dims = [int(d) for d in m.group(1).split("x") if d]
        return tuple(dims), np.float32 if m.group(2) == "f32" else np.float64
    if text in ("f32", "f64"):
        return None, np.float32 if text == "f32" else np.float64
    raise ValueError(text)


def random_args(shapes, rng, scale=1.0):
    args = []
    for shape, dtype in shapes:
        if shape is None:
            args.append(dtype(rng.standard_normal() * scale))
        else:
            args.append((rng.standard_normal(shape) * scale).astype(dtype))
    return args


def central_difference(fn, args, index, flat, h):
    """d fn(args) / d args[index].flat[flat] by central differences."""
    plus = [a.copy() for a in args]
    minus = [a.copy() for a in args]
    plus[index].flat[flat] += h
    minus[index].flat[flat] -= h
    return (float(fn(*plus)) - float(fn(*minus))) / (2 * h)


def check_gradients(compiled, name, args, wrt, rng, samples=None, h=1e-6,
                    tol=1e-6, label="", only=None):
    """Compares `name_grad`'s gradients with finite differences of `name`.

    `samples` limits the elements checked per argument (chosen at random).
    Returns the worst relative error; raises AssertionError past `tol`,
    beyond the rounding of the finite differences themselves: each
    evaluation of the loss is exact to a few ulps of it, and their
    difference is divided by 2h.
    """
    forward = compiled[name]
    results = compiled[name + "_grad"](*args)
    loss, grads = results[0], results[1:]
    assert np.isfinite(loss), f"{label}: loss is {loss}"
    np.testing.assert_allclose(loss, forward(*args), rtol=1e-12, atol=0)
    worst = 0.0
    assert len(grads) == len(wrt), (len(grads), wrt)
    for index, grad in zip(wrt, grads):
        if only is not None and index not in only:
            continue
        assert grad.shape == args[index].shape, (grad.shape, args[index].shape)
        assert np.all(np.isfinite(grad)), f"{label}: gradient #{index} not finite"
        size = args[index].size
        elements = np.arange(size)
        if samples is not None and size > samples:
            elements = rng.choice(size, samples, replace=False)
        fd = np.array([central_difference(forward, args, index, e, h)
                       for e in elements])
        ad = grad.reshape(-1)[elements]
        scale = max(np.max(np.abs(fd)), 1e-3)
        noise = 4 * np.finfo(np.float64).eps * abs(float(loss)) / h
        err = float(np.max(np.abs(ad - fd)) / scale)
        worst = max(worst, err)
        if not err <= tol + noise / scale:
            raise AssertionError(
                f"{label}: gradient of argument #{index} differs from finite "
                f"differences: relative error {err:.3e} > {tol:.1e} (+ "
                f"{noise / scale:.1e} of rounding in the differences)\n"
                f"autodiff {ad[:8]}\nfinite differences {fd[:8]}")
    return worst
