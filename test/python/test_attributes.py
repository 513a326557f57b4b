"""qat.Quantizer and the gradient estimators: building, reading, verifying."""

import math

import pytest

import qat


def test_quantizer_text_and_properties():
    q = qat.Quantizer(grid="centered", bits=4, method="rms_gaussian",
                      granularity="per_row")
    assert str(q) == "#qat.quantizer<centered, 4 bits, rms_gaussian, per_row>"
    assert q.op_syntax == "<centered, 4 bits, rms_gaussian, per_row>"
    assert (q.grid, q.bits, q.method, q.granularity) == (
        "centered", 4, "rms_gaussian", "per_row")
    assert q.group_size is None
    assert (q.min_code, q.max_code, q.code_bits) == (-8, 7, 4)
    assert q.gaussian_alpha == pytest.approx(2.513930578568423)
    assert q.scale_shape((4, 256)) == (4, 1)
    assert isinstance(q, qat.Attribute)
    # The builder and the parser make the same (uniqued) attribute.
    assert q == qat.Attribute.parse(str(q))
    assert hash(q) == hash(qat.Attribute.parse(str(q)))
    assert isinstance(qat.Attribute.parse(str(q)), qat.Quantizer)
    assert eval(repr(q), {"qat": qat}) == q


@pytest.mark.parametrize("granularity", [("per_group", 64), ["per_group", 64],
                                         "per_group<64>"])
def test_quantizer_groups(granularity):
    q = qat.Quantizer(grid="signed", bits=2, method="learned",
                      granularity=granularity)
    assert str(q) == "#qat.quantizer<signed, 2 bits, learned, per_group<64>>"
    assert q.group_size == 64
    assert q.scale_shape([3, 256]) == (3, 4)
    assert (q.min_code, q.max_code) == (-2, 1)


def test_one_bit_signed_codes():
    q = qat.Quantizer(grid="signed", bits=1, method="absmax",
                      granularity="per_tensor")
    assert (q.min_code, q.max_code, q.code_bits) == (-1, 1, 2)
    assert q.scale_shape((5, 7)) == (1, 1)


@pytest.mark.parametrize("grid, bits, codes", [
    ("e4m3", 8, (-128, 127, 8)), ("e5m2", 8, (-128, 127, 8)),
    ("e2m1", 4, (-8, 7, 4))])
def test_float_formats(grid, bits, codes):
    q = qat.Quantizer(grid=grid, bits=bits, method="mx",
                      granularity=("per_group", 32))
    assert str(q) == f"#qat.quantizer<{grid}, {bits} bits, mx, per_group<32>>"
    assert (q.grid, q.method) == (grid, "mx")
    # The codes are the format's encodings, read as two's complement.
    assert (q.min_code, q.max_code, q.code_bits) == codes
    assert q == qat.Attribute.parse(str(q))
    with pytest.raises(qat.MLIRError,
                       match=f"the {grid} grid has {bits}-bit codes, got 3 bits"):
        qat.Quantizer(grid=grid, bits=3, method="absmax")
    with pytest.raises(qat.MLIRError, match="mx steps require a float element grid"):
        qat.Quantizer(grid="signed", bits=bits, method="mx")


def test_stochastic_rounding():
    q = qat.Quantizer(grid="e2m1", bits=4, method="nvfp4",
                      granularity=("per_group", 16), rounding="stochastic")
    assert str(q) == "#qat.quantizer<e2m1, 4 bits, nvfp4, per_group<16>, stochastic>"
    assert q.rounding == "stochastic"
    assert q == qat.Attribute.parse(str(q))
    assert eval(repr(q), {"qat": qat}) == q
    nearest = qat.Quantizer(grid="e2m1", bits=4, method="nvfp4",
                            granularity=("per_group", 16))
    assert nearest.rounding == "nearest" and nearest != q
    assert qat.Quantizer(rounding="nearest") == qat.Quantizer()
    lsq = qat.Quantizer(grid="signed", bits=2, method="learned", rounding="stochastic")
    assert lsq.rounding == "stochastic"
    with pytest.raises(ValueError, match="rounding"):
        qat.Quantizer(rounding="random")


@pytest.mark.parametrize("bits", [0, 9, -1, 2**40])
def test_bits_out_of_range(bits):
    with pytest.raises(qat.MLIRError) as info:
        qat.Quantizer(bits=bits)
    message = str(info.value)
    assert f"bits must be in [1, 8], got {bits}" in message
    # Located at the line of this file that asked.
    assert "test_attributes.py:" in info.value.diagnostics[0].location


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="learned"), r"learned steps \(LSQ\) require the signed grid"),
    (dict(granularity=("per_group", 0)), "group size must be positive, got 0"),
    (dict(granularity=("per_group", -8)), "group size must be positive, got -8"),
    (dict(granularity=("per_row", 4)),
     "a group size is only meaningful for per_group"),
])
def test_quantizer_verifier(kwargs, message):
    with pytest.raises(qat.MLIRError, match=message):
        qat.Quantizer(**kwargs)


@pytest.mark.parametrize("kwargs, error", [
    (dict(grid="uniform"), ValueError),
    (dict(method="minmax"), ValueError),
    (dict(granularity="per_col"), ValueError),
    (dict(granularity="per_group"), ValueError),
    (dict(granularity="per_group<x>"), ValueError),
    (dict(granularity=64), TypeError),
    (dict(granularity=("per_group", "64")), TypeError),
])
def test_quantizer_bad_arguments(kwargs, error):
    with pytest.raises(error):
        qat.Quantizer(**kwargs)


def test_estimators():
    assert str(qat.ste()) == "#qat.ste" and qat.ste().kind == "ste"
    assert str(qat.clip()) == "#qat.clip" and qat.clip().op_syntax == "clip"
    default = qat.trust()
    assert str(default) == "#qat.trust" and default.factor is None
    assert default.factor_for_bits(4) == pytest.approx(2.513930578568423 / 15)
    t = qat.trust(0.25)
    assert str(t) == "#qat.trust<0.25>" and t.op_syntax == "trust<0.25>"
    assert t.factor == 0.25 and t.factor_for_bits(2) == 0.25
    assert qat.trust(T=0.25) == t == qat.Attribute.parse("#qat.trust<0.25>")
    f = qat.fourier()
    assert str(f) == "#qat.fourier" and f.amplitudes == [0.21]
    g = qat.fourier([0.21])
    assert str(g) == "#qat.fourier<[0.21]>" and g != f
    assert qat.fourier(0.1).amplitudes == [0.1]
    assert qat.fourier((0.2, 0.01)).op_syntax == "fourier<[0.2, 0.01]>"
    for e in (qat.ste(), t, g):
        assert isinstance(e, qat.GradientEstimator)
        assert eval(repr(e), {"qat": qat}) == e
    kinds = [e.kind for e in (qat.ste(), qat.clip(), t, g)]
    assert kinds == ["ste", "clip", "trust", "fourier"]
    assert t.amplitudes is None and g.factor is None


def test_fourier_bound():
    # sqrt(2)*pi*0.23 = 1.02: the surrogate's gradient would be unbounded.
    bound = math.sqrt(2) * math.pi * 0.23
    with pytest.raises(qat.MLIRError) as info:
        qat.fourier([0.2, -0.03])
    assert f"sqrt(2)*pi*sum|a_k| = {bound:.4f}, which must be < 1" in str(info.value)
    qat.fourier([0.2, 0.02])  # 0.98: accepted
    with pytest.raises(qat.MLIRError, match="at least one amplitude"):
        qat.fourier([])
    with pytest.raises(qat.MLIRError, match="must be finite"):
        qat.fourier([float("nan")])
    with pytest.raises(TypeError):
        qat.fourier("0.2")


@pytest.mark.parametrize("factor", [0.0, -1.0, float("inf")])
def test_trust_factor(factor):
    with pytest.raises(qat.MLIRError, match="trust factor must be positive and finite"):
        qat.trust(factor)


def test_check_estimator():
    signed = qat.Quantizer(grid="signed", bits=3, method="learned")
    signed.check_estimator(qat.fourier())
    with pytest.raises(qat.MLIRError, match="fourier estimator is defined on the "
                       "signed grid, got centered"):
        qat.Quantizer().check_estimator(qat.fourier())


def test_attribute_parse_errors():
    with pytest.raises(qat.MLIRError) as info:
        qat.Attribute.parse("#qat.quantizer<centered, 9 bits, rms_gaussian, per_row>")
    assert "<string>:1:26: error: bits must be in [1, 8], got 9" in str(info.value)
    with pytest.raises(qat.MLIRError, match="trailing characters"):
        qat.Attribute.parse("#qat.ste extra")
    plain = qat.Attribute.parse("42 : i32")
    assert type(plain) is qat.Attribute and str(plain) == "42 : i32"


def test_attributes_in_ir():
    """Built attributes spliced into IR text parse back as the same values."""
    q = qat.Quantizer(grid="signed", bits=2, method="learned",
                      granularity=("per_group", 8))
    e = qat.fourier([0.15])
    module = qat.Module.parse(f"""
#q = {q}
func.func @f(%x: tensor<2x16xf32>, %s: tensor<2x2xf32>) -> tensor<2x16xf32> {{
  %a = qat.fake_quant %x, %s as #q with {e.op_syntax} : tensor<2x16xf32>, tensor<2x2xf32>
  %b = qat.fake_quant %a, %s as {q.op_syntax} with {e.op_syntax} : tensor<2x16xf32>, tensor<2x2xf32>
  return %b : tensor<2x16xf32>
}}""")
    printed = str(module)
    assert printed.count(f"as {q.op_syntax} with {e.op_syntax}") == 2
