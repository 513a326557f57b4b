"""qat.Context and qat.Module: parse, verify, print, functions, errors."""

import pytest

import qat

SCALE = """
func.func @scale(%x: tensor<4x256xf32>) -> tensor<4x1xf32> {
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<4x256xf32> -> tensor<4x1xf32>
  return %s : tensor<4x1xf32>
}
"""


@pytest.mark.parametrize("name", ["quest_linear.mlir", "stableqat_linear.mlir"])
def test_examples_round_trip(examples, name):
    module = qat.Module.parse_file(examples / name)
    module.verify()
    printed = str(module)
    assert "qat." in printed
    # Custom and generic forms both read back to the same module.
    again = qat.Module.parse(printed)
    assert str(again) == printed
    generic = module.print(generic=True)
    assert '"qat.' in generic
    assert str(qat.Module.parse(generic)) == printed
    assert module.functions
    for function in module.functions:
        assert function.type.startswith("(")
        assert not function.is_declaration


def test_functions():
    module = qat.Module.parse(SCALE + """
func.func private @helper(f32) -> f32
""")
    scale, helper = module.functions
    assert scale.name == "scale"
    assert scale.type == "(tensor<4x256xf32>) -> tensor<4x1xf32>"
    assert scale.inputs == ["tensor<4x256xf32>"]
    assert scale.results == ["tensor<4x1xf32>"]
    assert scale.is_public and not scale.is_declaration
    assert helper.is_declaration and not helper.is_public
    assert repr(module) == "<qat.Module with 2 functions>"


def test_parse_error_has_location():
    with pytest.raises(qat.MLIRError) as info:
        qat.Module.parse("func.func @f() {\n  %0 = qat.bogus\n}", name="bad.mlir")
    message = str(info.value)
    assert "bad.mlir:2:8: error: custom op 'qat.bogus' is unknown" in message
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.severity == "error"
    assert diagnostic.location == "bad.mlir:2:8"
    assert "qat.bogus" in diagnostic.message


def test_verifier_error():
    text = SCALE.replace("4x1xf32", "4x4xf32")
    with pytest.raises(qat.MLIRError, match=r"<string>:3:8: error: 'qat.scale' "
                       r"op expects result of shape 4x1 .* got 4x4"):
        qat.Module.parse(text)
    # Unverified, then verified on request; printed generically meanwhile.
    module = qat.Module.parse(text, verify=False)
    with pytest.raises(qat.MLIRError, match="does not verify"):
        module.verify()
    assert '"qat.scale"' in str(module)


def test_parse_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        qat.Module.parse_file(tmp_path / "missing.mlir")
    path = tmp_path / "bad.mlir"
    path.write_text("func.func @f(%x: tensor<4xf32>) {\n  return %x : tensor<4xf32>\n}\n")
    with pytest.raises(qat.MLIRError) as info:
        qat.Module.parse_file(path)
    assert f"{path}:2:3: error:" in str(info.value)


def test_debug_info_and_clone():
    module = qat.Module.parse(SCALE)
    assert 'loc("<string>":3:8)' in module.print(debug_info=True)
    copy = module.clone()
    copy.run_passes("canonicalize")
    assert str(copy) == str(module)
    assert copy is not module


def test_contexts():
    default = qat.Context.current
    assert isinstance(default, qat.Context)
    assert "qat" in default.dialects and "linalg" in default.dialects
    with qat.Context() as ctx:
        assert qat.Context.current is ctx
        assert qat.Module.parse(SCALE).context is ctx
        assert qat.ste().context is ctx
    assert qat.Context.current is default
    other = qat.Context()
    assert qat.Module.parse(SCALE, other).context is other
    with pytest.raises(TypeError, match="qat.Context or None"):
        qat.Module.parse(SCALE, ctx="nope")


def test_unregistered_dialects():
    ctx = qat.Context()
    text = '"foo.bar"() : () -> ()'
    with pytest.raises(qat.MLIRError):
        qat.Module.parse(text, ctx)
    ctx.allow_unregistered_dialects = True
    assert "foo.bar" in str(qat.Module.parse(text, ctx))
