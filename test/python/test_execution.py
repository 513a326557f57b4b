"""qat.compile on the CPU: qat ops called on fresh random numpy data and
compared with numpy references written here from docs/semantics.md, plus
the checks of arguments and the errors of compilation."""

import numpy as np
import pytest

import qat

F32 = np.float32
ALPHA4 = 2.513930578568423  # alpha_4, QuEST's MSE-optimal clip for 4 bits


def report(name, actual, expected):
    """Prints the error metric; fails on NaN or a shape/dtype mismatch."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert not np.isnan(actual).any(), f"{name}: NaN in the result"
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    print(f"{name}: max abs error {error.max():.3g} over {actual.size} elements")
    return error


def ties(v, width=1e-5):
    """Where v = x/s is within `width` of a rounding boundary (a half
    integer): one ulp of difference in the division may pick either side."""
    return np.abs(np.abs(v - np.floor(v)) - 0.5) < width


def signed_codes(x, s, bits):
    qn, qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return np.clip(np.round(x / s), qn, qp)  # np.round: half to even


def centered_codes(x, s, bits):
    """The stored code k - 1 of the level (k - 1/2) * s."""
    k = np.clip(np.round(x / s + F32(0.5)), -(2 ** (bits - 1)) + 1, 2 ** (bits - 1))
    return k - 1


@pytest.fixture(scope="module")
def ops():
    return qat.compile("""
#lsq3 = #qat.quantizer<signed, 3 bits, learned, per_group<8>>
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#w4 = #qat.quantizer<signed, 4 bits, absmax, per_row>

func.func @fake_quant_lsq(%x: tensor<5x24xf32>, %s: tensor<5x3xf32>) -> tensor<5x24xf32> {
  %y = qat.fake_quant %x, %s as #lsq3 with fourier : tensor<5x24xf32>, tensor<5x3xf32>
  return %y : tensor<5x24xf32>
}

func.func @fake_quant_quest(%x: tensor<7x40xf32>) -> (tensor<7x40xf32>, tensor<7x1xf32>) {
  %s = qat.scale %x as #q4 : tensor<7x40xf32> -> tensor<7x1xf32>
  %y = qat.fake_quant %x, %s as #q4 with trust : tensor<7x40xf32>, tensor<7x1xf32>
  return %y, %s : tensor<7x40xf32>, tensor<7x1xf32>
}

func.func @quantize_packed(%x: tensor<3x10xf32>, %s: tensor<3x1xf32>) -> tensor<3x5xi8> {
  %q = qat.quantize %x, %s as #q4 packed : tensor<3x10xf32>, tensor<3x1xf32> -> tensor<3x5xi8>
  return %q : tensor<3x5xi8>
}

func.func @quantize_lsq(%x: tensor<5x24xf32>, %s: tensor<5x3xf32>) -> tensor<5x24xi8> {
  %q = qat.quantize %x, %s as #lsq3 : tensor<5x24xf32>, tensor<5x3xf32> -> tensor<5x24xi8>
  return %q : tensor<5x24xi8>
}

func.func @matmul_signed(%a: tensor<7x33xi8>, %b: tensor<5x33xi8>, %sa: tensor<7x1xf32>,
                         %sb: tensor<5x1xf32>) -> tensor<7x5xf32> {
  %y = qat.matmul %a, %b, %sa, %sb as #w4, #w4
      : tensor<7x33xi8>, tensor<5x33xi8>, tensor<7x1xf32>, tensor<5x1xf32> -> tensor<7x5xf32>
  return %y : tensor<7x5xf32>
}

func.func @matmul_centered_packed(%a: tensor<3x17xi8>, %b: tensor<9x17xi8>, %sa: tensor<3x1xf32>,
                                  %sb: tensor<9x1xf32>) -> tensor<3x9xf32> {
  %y = qat.matmul %a, %b, %sa, %sb as #q4, #q4 packed
      : tensor<3x17xi8>, tensor<9x17xi8>, tensor<3x1xf32>, tensor<9x1xf32> -> tensor<3x9xf32>
  return %y : tensor<3x9xf32>
}
""")


def test_functions(ops):
    assert ops.functions == ["fake_quant_lsq", "fake_quant_quest", "quantize_packed",
                             "quantize_lsq", "matmul_signed", "matmul_centered_packed"]
    assert "quantize_lsq" in ops and "nope" not in ops and len(ops) == 6
    assert ops["quantize_packed"].signature == \
        "(tensor<3x10xf32>, tensor<3x1xf32>) -> tensor<3x5xi8>"


def test_fake_quant_learned_groups(ops, rng):
    x = rng.standard_normal((5, 24), dtype=F32)
    s = rng.uniform(0.2, 0.8, (5, 3)).astype(F32)
    y = ops["fake_quant_lsq"](x, s)
    step = np.repeat(s, 8, axis=1)
    expected = (signed_codes(x, step, 3) * step).astype(F32)
    error = report("fake_quant signed 3 bits per_group<8>", y, expected)
    near = ties(x / step)
    assert (error[~near] <= 1e-6 * np.abs(expected[~near])).all()
    assert (error[near] <= step[near] * 1.000001).all()


def test_fake_quant_quest(ops, rng):
    x = (rng.standard_normal((7, 40)) * rng.uniform(0.1, 3, (7, 1))).astype(F32)
    y, s = ops["fake_quant_quest"](x)
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=1, keepdims=True))
    expected_s = (2 * (ALPHA4 * rms + 1e-8) / 15).astype(F32)
    error = report("scale rms_gaussian 4 bits", s, expected_s)
    assert (error <= 1e-5 * expected_s).all()
    # The fake-quantized values, against the steps the function computed.
    expected = ((centered_codes(x, s, 4) + F32(0.5)) * s).astype(F32)
    error = report("fake_quant centered 4 bits per_row", y, expected)
    near = ties(x / s + 0.5)
    assert (error[~near] <= 1e-6 * np.abs(expected[~near])).all()
    assert (error[near] <= np.broadcast_to(s, x.shape)[near] * 1.000001).all()


def test_quantize_packed(ops, rng):
    x = rng.standard_normal((3, 10), dtype=F32) * 2
    s = rng.uniform(0.2, 0.6, (3, 1)).astype(F32)
    q = ops["quantize_packed"](x, s)
    codes = centered_codes(x, s, 4).astype(np.int64)
    near = ties(x / s + 0.5)
    # Element 2j in the low nibble, 2j+1 in the high one.
    low, high = q.view(np.uint8) & 0xF, q.view(np.uint8) >> 4
    unpacked = np.empty((3, 10), np.int64)
    unpacked[:, 0::2], unpacked[:, 1::2] = low, high
    unpacked = np.where(unpacked >= 8, unpacked - 16, unpacked)  # two's complement
    report("quantize centered 4 bits packed", unpacked, codes)
    assert q.dtype == np.int8 and q.shape == (3, 5)
    assert (np.abs(unpacked - codes)[~near] == 0).all()
    assert (np.abs(unpacked - codes) <= 1).all()


def test_quantize_learned(ops, rng):
    x = rng.standard_normal((5, 24), dtype=F32) * 3
    s = rng.uniform(0.2, 0.8, (5, 3)).astype(F32)
    q = ops["quantize_lsq"](x, s)
    step = np.repeat(s, 8, axis=1)
    codes = signed_codes(x, step, 3).astype(np.int8)
    report("quantize signed 3 bits", q, codes)
    near = ties(x / step)
    assert (q[~near] == codes[~near]).all()
    assert q.min() >= -4 and q.max() <= 3


def test_matmul_signed(ops, rng):
    a = rng.integers(-8, 8, (7, 33), dtype=np.int8)
    b = rng.integers(-8, 8, (5, 33), dtype=np.int8)
    sa = rng.uniform(0.01, 1, (7, 1)).astype(F32)
    sb = rng.uniform(0.01, 1, (5, 1)).astype(F32)
    y = ops["matmul_signed"](a, b, sa, sb)
    exact = a.astype(np.int64) @ b.astype(np.int64).T
    expected = (exact * sa.astype(np.float64) * sb.T.astype(np.float64)).astype(F32)
    error = report("matmul signed 4 bits", y, expected)
    assert (error <= 1e-6 * np.abs(expected) + 1e-30).all()


def test_matmul_centered_packed(ops, rng):
    codes_a = rng.integers(-8, 8, (3, 34))
    codes_b = rng.integers(-8, 8, (9, 34))
    pack = lambda c: ((c[:, 0::2] & 0xF) | ((c[:, 1::2] & 0xF) << 4)).astype(  # noqa: E731
        np.uint8).view(np.int8)
    sa = rng.uniform(0.01, 1, (3, 1)).astype(F32)
    sb = rng.uniform(0.01, 1, (9, 1)).astype(F32)
    y = ops["matmul_centered_packed"](pack(codes_a), pack(codes_b), sa, sb)
    # Levels code + 1/2, in units of the steps.
    exact = (codes_a + 0.5) @ (codes_b + 0.5).T
    expected = (exact * sa.astype(np.float64) * sb.T.astype(np.float64)).astype(F32)
    error = report("matmul centered 4 bits packed", y, expected)
    assert (error <= 1e-6 * np.abs(expected) + 1e-30).all()


def to_bf16(a):
    """float32 rounded to bfloat16 (nearest even), as float32."""
    bits = np.asarray(a, F32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(F32)


def test_bf16_like_qat_run():
    fn = qat.compile("""
#id = affine_map<(d0) -> (d0)>
func.func @widen(%x: tensor<6xbf16>) -> (tensor<6xf32>, tensor<6xbf16>) {
  %ef = tensor.empty() : tensor<6xf32>
  %eb = tensor.empty() : tensor<6xbf16>
  %w, %t = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<6xbf16>) outs(%ef, %eb : tensor<6xf32>, tensor<6xbf16>) {
  ^bb0(%v: bf16, %o: f32, %p: bf16):
    %f = arith.extf %v : bf16 to f32
    %d = arith.addf %v, %v : bf16
    linalg.yield %f, %d : f32, bf16
  } -> (tensor<6xf32>, tensor<6xbf16>)
  return %w, %t : tensor<6xf32>, tensor<6xbf16>
}""")
    # Ties of bf16 rounding (to even: down, then up), near ties, negatives.
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -(1 + 2**-8), 3.5, -1e30],
                 dtype=F32)
    wide, twice = fn["widen"](x)
    assert wide.dtype == F32 and twice.dtype == F32  # bf16 results as float32
    np.testing.assert_array_equal(wide, to_bf16(x))
    np.testing.assert_array_equal(twice, to_bf16(x) * 2)
    np.testing.assert_array_equal(wide[:2], [1.0, 1 + 2**-6])
    with pytest.raises(TypeError, match=r"expects float32 data \(rounded to bfloat16"):
        fn["widen"](x.astype(np.float64))


SMALL = """
func.func @pair(%x: tensor<?x3xf32>, %n: i32, %flag: i1) -> (tensor<?x3xf32>, i32, i1) {
  return %x, %n, %flag : tensor<?x3xf32>, i32, i1
}
func.func @none(%x: tensor<2xi16>) {
  return
}
func.func private @hidden(%x: f32) -> f32 {
  return %x : f32
}
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  return %x : tensor<*xf32>
}
"""


@pytest.fixture(scope="module")
def small():
    return qat.compile(SMALL)


def test_signature_kinds(small):
    assert small.functions == ["pair", "none"]
    assert "unranked types are not supported" in small.unsupported["unranked"]
    x = np.arange(12, dtype=F32).reshape(4, 3)
    out, n, flag = small["pair"](x, np.int32(7), True)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    assert isinstance(n, np.int32) and n == 7
    assert isinstance(flag, np.bool_) and flag
    # Python data takes the argument's type.
    out, n, flag = small.call("pair", [[1, 2, 3]], -5, False)
    assert out.dtype == F32 and out.tolist() == [[1, 2, 3]]
    assert n == -5 and not flag
    assert small["none"](np.zeros(2, np.int16)) is None
    timing = small["none"].time(np.zeros(2, np.int16), warmup=1, repeat=3)
    assert timing["runs"] == 3 and 0 <= timing["min"] <= timing["median"] <= timing["max"]


@pytest.mark.parametrize("args, error, message", [
    ((np.zeros((4, 3), F32),), TypeError,
     r"'pair' takes 3 arguments \(tensor<\?x3xf32>, i32, i1\) but 1 was given"),
    ((np.zeros((4, 4), F32), 1, True), ValueError,
     r"shape mismatch: argument 0 \(tensor<\?x3xf32>\) of 'pair' has shape \(-1, 3\) "
     r"\(-1: any size\), got an array of shape \(4, 4\)"),
    ((np.zeros(3, F32), 1, True), ValueError, "shape mismatch"),
    ((np.zeros((4, 3)), 1, True), TypeError,
     r"dtype mismatch: argument 0 \(tensor<\?x3xf32>\) of 'pair' expects float32 "
     r"data, got float64; convert it with a.astype\(np.float32\)"),
    ((np.zeros((4, 3), F32), np.int64(1), True), TypeError, "expects int32 data, got int64"),
    ((np.zeros((4, 3), F32), 2**40, True), ValueError,
     "1099511627776 is out of range for int32"),
    ((np.zeros((4, 3), F32), 2**63, True), ValueError,
     "9223372036854775808 is out of range for int32"),
    ((np.zeros((4, 3), F32), 2**70, True), ValueError,
     "1180591620717411303424 is out of range for int32"),
    ((np.zeros((4, 3), F32), 1.5, True), TypeError, "expects integers, got float"),
    ((np.zeros((4, 3), F32), 1, 1), TypeError, "expects booleans, got int"),
    ((np.zeros((4, 3), F32), "1", True), TypeError, "expects integers, got str"),
    ((np.zeros((4, 3), F32), [1, 2], True), ValueError, "shape mismatch"),
    ((object(), 1, True), TypeError, "cannot convert object"),
])
def test_argument_errors(small, args, error, message):
    with pytest.raises(error, match=message):
        small["pair"](*args)


def test_lookup_errors(small):
    with pytest.raises(KeyError, match="no function 'nope' in the compiled module; "
                       "it has: pair, none"):
        small["nope"]
    with pytest.raises(KeyError):
        small["hidden"]
    with pytest.raises(TypeError, match="'unranked' cannot be called from Python"):
        small["unranked"]


def test_compile_leaves_the_module_alone():
    module = qat.Module.parse(SMALL)
    before = str(module)
    fn = qat.compile(module)
    assert str(module) == before
    assert "llvm.func @pair" in str(fn.lowered)
    assert "llvm.emit_c_interface" not in before


def test_compile_errors(tmp_path):
    with pytest.raises(qat.MLIRError, match="cannot parse the module"):
        qat.compile("func.func @f(")
    with pytest.raises(ValueError, match="nothing to compile"):
        qat.compile("func.func private @f() { return }")
    with pytest.raises(ValueError, match="chip applies to target='cuda' only"):
        qat.compile(SMALL, chip="sm_90")
    with pytest.raises(qat.MLIRError, match="invalid options 'no-such=1' for qat-to-cpu"):
        qat.compile(SMALL, pipeline_options="no-such=1")
    assert qat.compile(SMALL, pipeline_options="fuse-elementwise=false").functions
    with pytest.raises(ValueError, match="unknown target 'tpu'; qat.compile supports 'cpu' and 'cuda'"):
        qat.compile(SMALL, target="tpu")
    with pytest.raises(ValueError, match="opt_level"):
        qat.compile(SMALL, opt_level=4)
    with pytest.raises(TypeError, match="expected a qat.Module, MLIR text"):
        qat.compile(42)
    path = tmp_path / "m.mlir"
    path.write_text(SMALL)
    assert qat.compile(path, opt_level=0).functions == ["pair", "none"]
    with pytest.raises(ValueError, match=r"argument 0 of 'f' has type 'complex<f32>'"):
        qat.compile("func.func @f(%x: complex<f32>) { return }")
    # An op qat-to-cpu does not lower.
    with pytest.raises(qat.MLIRError) as info:
        qat.compile("""
func.func @f(%x: f32) -> f32 {
  %c = complex.create %x, %x : complex<f32>
  %r = complex.abs %c : complex<f32>
  return %r : f32
}""")
    assert "cannot lower the module to the LLVM dialect" in str(info.value)
    assert "<string>:3:8: error: 'complex.create' is not in the LLVM dialect after " \
        "qat-to-cpu" in str(info.value)


def test_compile_paths(tmp_path, monkeypatch, examples):
    """A str that names a file, or ends in .mlir, is a path; any other str is
    MLIR text (issue 19: qat.compile("examples/quest_linear.mlir") parsed the
    path as text)."""
    monkeypatch.chdir(examples.parent)
    relative = "examples/quest_linear.mlir"
    for source in (relative, str(examples / "quest_linear.mlir"),
                   examples / "quest_linear.mlir"):
        assert qat.compile(source).functions == ["quest_linear_step"], source
    # A file whose name does not end in .mlir is a path too.
    other = tmp_path / "module.txt"
    other.write_text(SMALL)
    assert qat.compile(str(other)).functions == ["pair", "none"]
    # Text stays text, on one line as on several.
    assert qat.compile("func.func @one(%x: f32) -> f32 { return %x : f32 }").functions \
        == ["one"]
    for missing in ("examples/no_such.mlir", tmp_path / "no_such.mlir"):
        with pytest.raises(FileNotFoundError, match="no_such.mlir"):
            qat.compile(missing)


def test_version():
    """qat.__version__ is project(qat VERSION ...) of the top-level CMakeLists.txt."""
    import pathlib
    import re
    cmake = pathlib.Path(__file__).resolve().parents[2] / "CMakeLists.txt"
    expected = re.search(r"project\(qat VERSION ([0-9.]+)", cmake.read_text()).group(1)
    assert qat.__version__ == expected


DYNAMIC_QUEST = """
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @forward(%x: tensor<ROWSx256xf32>, %w: tensor<24x128xi8>, %sw: tensor<24x1xf32>)
    -> (tensor<ROWSx128xi8>, tensor<ROWSx1xf32>, tensor<ROWSx24xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<ROWSx256xf32>
  %s = qat.scale %xh as #q4 : tensor<ROWSx256xf32> -> tensor<ROWSx1xf32>
  %q = qat.quantize %xh, %s as #q4 packed : tensor<ROWSx256xf32>, tensor<ROWSx1xf32> -> tensor<ROWSx128xi8>
  %y = qat.matmul %q, %w, %s, %sw as #q4, #q4 packed
      : tensor<ROWSx128xi8>, tensor<24x128xi8>, tensor<ROWSx1xf32>, tensor<24x1xf32> -> tensor<ROWSx24xf32>
  return %q, %s, %y : tensor<ROWSx128xi8>, tensor<ROWSx1xf32>, tensor<ROWSx24xf32>
}
"""


def test_dynamic_rows(rng):
    """One compiled function with dynamic rows serves every row count (none
    included), with the same bits as the function compiled for that count
    (issue 19)."""
    dynamic = qat.compile(DYNAMIC_QUEST.replace("ROWS", "?"))["forward"]
    w = rng.integers(-128, 128, (24, 128)).astype(np.int8)
    sw = rng.uniform(0.01, 0.1, (24, 1)).astype(F32)
    for rows in (0, 1, 7, 130):
        x = rng.normal(0, 1, (rows, 256)).astype(F32)
        static = qat.compile(DYNAMIC_QUEST.replace("ROWS", str(rows)))["forward"]
        got, want = dynamic(x, w, sw), static(x, w, sw)
        for a, b in zip(got, want):
            assert a.shape == b.shape and a.dtype == b.dtype, (rows, a.shape, b.shape)
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), rows
    with pytest.raises(ValueError, match="shape mismatch"):
        dynamic(np.zeros((3, 128), F32), w, sw)


DYNAMIC_PER_TENSOR = """
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_tensor>
#l3 = #qat.quantizer<signed, 3 bits, learned, per_tensor>
func.func @forward(%x: tensor<ROWSx96xf32>, %dy: tensor<ROWSx96xf32>, %sl: tensor<1x1xf32>)
    -> (tensor<1x1xf32>, tensor<1x1xf32>, tensor<ROWSx48xi8>, tensor<ROWSx96xf32>,
        tensor<ROWSx96xf32>, tensor<1x1xf32>) {
  %s = qat.scale %x as #q4 : tensor<ROWSx96xf32> -> tensor<1x1xf32>
  %r = qat.rms %x as #q4 : tensor<ROWSx96xf32> -> tensor<1x1xf32>
  %q = qat.quantize %x, %s as #q4 packed : tensor<ROWSx96xf32>, tensor<1x1xf32> -> tensor<ROWSx48xi8>
  %g = qat.fake_quant_grad %dy, %x, %s as #q4 with trust : tensor<ROWSx96xf32>, tensor<1x1xf32>
  %dx, %ds = qat.fake_quant_grad %dy, %x, %sl as #l3 with ste
      : tensor<ROWSx96xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %s, %r, %q, %g, %dx, %ds
      : tensor<1x1xf32>, tensor<1x1xf32>, tensor<ROWSx48xi8>, tensor<ROWSx96xf32>,
        tensor<ROWSx96xf32>, tensor<1x1xf32>
}
"""


def test_dynamic_rows_per_tensor(rng):
    """per_tensor statistics (step, rms, trust deviation, LSQ's ds) over
    dynamic rows: the same bits as the function compiled for each row count,
    and no rows give an all-zero tensor's statistics (issue 19)."""
    dynamic = qat.compile(DYNAMIC_PER_TENSOR.replace("ROWS", "?"))["forward"]
    sl = np.array([[0.3]], F32)
    for rows in (0, 1, 7, 130):
        x = rng.normal(0, 1, (rows, 96)).astype(F32)
        dy = rng.normal(0, 1, (rows, 96)).astype(F32)
        static = qat.compile(DYNAMIC_PER_TENSOR.replace("ROWS", str(rows)))["forward"]
        got, want = dynamic(x, dy, sl), static(x, dy, sl)
        for a, b in zip(got, want):
            assert a.shape == b.shape and a.dtype == b.dtype, (rows, a.shape, b.shape)
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), rows
        if rows == 0:
            s, r, ds = got[0], got[1], got[5]
            # The all-zero tensor's: clip 1e-8, step 2 * 1e-8 / 15 in f32.
            step = F32(2) * (F32(0) + F32(1e-8)) / F32(15)
            assert s[0, 0] == step and r[0, 0] == 0 and ds[0, 0] == 0, (s, r, ds)


DYNAMIC_TOKENS = """
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#l4 = #qat.quantizer<signed, 4 bits, learned, per_row>
func.func @forward(%x: tensor<BxTx64xf32>, %s: tensor<BxTx1xf32>)
    -> (tensor<BxTx64xf32>, tensor<BxTx32xi8>, tensor<BxTx64xf32>) {
  %y = qat.fake_quant %x, %s as #l4 with fourier : tensor<BxTx64xf32>, tensor<BxTx1xf32>
  %h = qat.hadamard %x block 64 : tensor<BxTx64xf32>
  %sq = qat.scale %h as #q4 : tensor<BxTx64xf32> -> tensor<BxTx1xf32>
  %q = qat.quantize %h, %sq as #q4 packed : tensor<BxTx64xf32>, tensor<BxTx1xf32> -> tensor<BxTx32xi8>
  return %y, %q, %h : tensor<BxTx64xf32>, tensor<BxTx32xi8>, tensor<BxTx64xf32>
}
"""


def test_dynamic_batch_and_sequence(rng):
    """Batch and sequence both dynamic (tensor<?x?x64xf32>): the row-wise ops
    run on the [B*T, 64] view, whose result is expanded back into two
    dynamic dimensions, which MLIR 22's expand-strided-metadata crashed on
    (qat-lower-dynamic-expand-shape). The same bits as the function compiled
    for each shape, and the fake quantization against numpy."""
    dynamic = qat.compile(DYNAMIC_TOKENS.replace("BxT", "?x?"))["forward"]
    for b, t in ((2, 3), (1, 5), (0, 4)):
        x = rng.normal(0, 1, (b, t, 64)).astype(F32)
        s = rng.uniform(0.1, 0.4, (b, t, 1)).astype(F32)
        static = qat.compile(DYNAMIC_TOKENS.replace("BxT", f"{b}x{t}"))["forward"]
        got, want = dynamic(x, s), static(x, s)
        for a, w in zip(got, want):
            assert a.shape == w.shape and a.dtype == w.dtype, ((b, t), a.shape, w.shape)
            assert np.array_equal(a.view(np.uint8), w.view(np.uint8)), (b, t)
        if x.size == 0:
            continue
        keep = ~ties(x / s)
        expected = signed_codes(x, s, 4) * s
        report(f"fake_quant {b}x{t}x64", got[0][keep], expected[keep].astype(F32))
        assert np.array_equal(got[0][keep], expected[keep].astype(F32)), (b, t)


def splitmix_draws(seed, count):
    """docs/semantics.md's draw, written again here: SplitMix64 at counter
    i + 1 from the seed, its top 24 bits as u in [0, 1)."""
    mask = (1 << 64) - 1
    draws = []
    for i in range(count):
        z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        draws.append((z >> 40) / 2.0 ** 24)
    return np.array(draws)


def test_stochastic_rounding_seed(rng):
    """The seed is a run-time argument: a Python int; the levels follow the
    documented rule on the documented draws (signed 4 bits, step 1 from
    absmax 7), equal seeds give equal bits, and the rounding is unbiased."""
    compiled = qat.compile("""
#sr = #qat.quantizer<signed, 4 bits, absmax, per_tensor, stochastic>
func.func @sr(%x: tensor<3x5000xf32>, %seed: i64) -> tensor<3x5000xf32> {
  %s = qat.scale %x as #sr : tensor<3x5000xf32> -> tensor<1x1xf32>
  %y = qat.fake_quant %x, %s as #sr seed %seed with ste : tensor<3x5000xf32>, tensor<1x1xf32>
  return %y : tensor<3x5000xf32>
}
""")
    x = rng.uniform(-7, 7, (3, 5000)).astype(F32)
    x[2] = F32(-2.3)
    x[0, 0] = F32(7)  # the step is max|x| / 7 = 1: the levels are the integers
    seed = int(rng.integers(-2**63, 2**63))
    y = compiled["sr"](x, seed)
    u = splitmix_draws(seed % (1 << 64), 64)
    v = x.reshape(-1)[:64].astype(np.float64)
    want = np.floor(v) + (u < v - np.floor(v))
    np.testing.assert_array_equal(y.reshape(-1)[:64], want.astype(F32))
    np.testing.assert_array_equal(compiled["sr"](x, seed), y)
    assert not np.array_equal(compiled["sr"](x, seed ^ 1), y)
    # -2.3 rounds to -2 with probability 0.7: the row's mean is -2.3 within
    # 5 standard deviations of a mean of 5000 draws.
    assert abs(y[2].mean() + 2.3) <= 5 * np.sqrt(0.21 / 5000)
    with pytest.raises(ValueError, match="out of range for int64"):
        compiled["sr"](x, 2**64)


def test_huge_python_ints():
    """Python ints beyond 64 bits: out of range for an integer argument, a
    float for a float one while it has one."""
    compiled = qat.compile("func.func @f(%a: f32, %b: i64) -> f32 { return %a : f32 }")
    assert compiled["f"](2**70, 1) == F32(2.0**70)
    with pytest.raises(ValueError, match=r"argument 0 \(f32\) of 'f': 1000.* is out of "
                       "range for float32"):
        compiled["f"](10**400, 1)
    with pytest.raises(ValueError, match="-9223372036854775809 is out of range for int64"):
        compiled["f"](1.0, -2**63 - 1)
