//===- QATInterfaces.td - Attribute interfaces of qat ------*- tablegen -*-===//
//
// The interfaces of a quantizer's parts: its grid, its scale method and the
// gradient estimator of its backward. Each part states its math as scalar IR,
// once, for every lowering.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATINTERFACES_TD
#define QAT_DIALECT_QAT_IR_QATINTERFACES_TD

include "mlir/IR/OpBase.td"

def QAT_GridAttrInterface : AttrInterface<"GridAttrInterface"> {
  let cppNamespace = "::mlir::qat";
  let description = [{
    A quantization grid: the integer codes of a `bits`-bit quantizer, the
    level each code stands for, and how x is rounded onto them.

    A grid states its math once, as scalar f32 IR built through a
    `QuantMath` (qat/Dialect/QAT/IR/QuantizerMath.h) on one element at a
    time; convert-qat-to-linalg and the GPU row kernels both call it through
    `#qat.quantizer`. Adding a grid means an attribute that implements this
    interface (see lib/Dialect/QAT/IR/Grids.cpp); the quantizer syntax names
    it by its mnemonic.
  }];
  let methods = [
    InterfaceMethod<[{
        The smallest integer code of a `bits`-bit quantizer.
      }], "int64_t", "getMinCode", (ins "unsigned":$bits)>,
    InterfaceMethod<[{
        The largest integer code of a `bits`-bit quantizer.
      }], "int64_t", "getMaxCode", (ins "unsigned":$bits)>,
    InterfaceMethod<[{
        The narrowest signless integer width that holds every code.
      }], "unsigned", "getCodeBits", (ins "unsigned":$bits),
      [{}], [{ return bits; }]>,
    InterfaceMethod<[{
        Whether the level of code q is (q + 1/2) * s rather than q * s: the
        integer matmul lowerings then multiply 2q + 1 and halve the result.
      }], "bool", "hasHalfIntegerLevels", (ins),
      [{}], [{ return false; }]>,
    InterfaceMethod<[{
        Whether the level of code q is q * s or (q + 1/2) * s, so that integer
        matmuls can multiply codes (false for the float element formats,
        whose codes are bit encodings).
      }], "bool", "hasIntegerLevels", (ins),
      [{}], [{ return true; }]>,
    InterfaceMethod<[{
        The range [lo, hi] of v = x/s that rounds to a level without
        clamping: what `clip` and `fourier` keep, where LSQ's step gradient
        switches to the clamped term. [qn, qp] on the integer grids.
      }], "std::pair<double, double>", "getRatioRange", (ins "unsigned":$bits),
      [{}], [{
        return {double($_attr.getMinCode(bits)),
                double($_attr.getMaxCode(bits))};
      }]>,
    InterfaceMethod<[{
        Checks that the grid is defined at `bits` bits (every width of the
        quantizer's [1, 8] unless a grid says otherwise).
      }], "::llvm::LogicalResult", "verifyBits",
      (ins "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
           "unsigned":$bits),
      [{}], [{ return ::mlir::success(); }]>,
    InterfaceMethod<[{
        The clip c of the grid as a multiple of the step: c = s * this.
      }], "double", "getClipPerStep", (ins "unsigned":$bits)>,
    InterfaceMethod<[{
        Whether quantize and fake_quant read v = x/s (false for a grid that
        only looks at x, such as the one-bit signed grid, sign(x)).
      }], "bool", "needsRatio", (ins "unsigned":$bits),
      [{}], [{ return true; }]>,
    InterfaceMethod<[{
        The step (f32) of a group whose clip is `clip` (f32).
      }], "::mlir::Value", "buildStepFromClip",
      (ins "::mlir::qat::QuantMath &":$math, "unsigned":$bits,
           "::mlir::Value":$clip)>,
    InterfaceMethod<[{
        The i32 code of x given v = x/s (v is null without needsRatio). NaN
        gives the lowest code; infinities the end codes (docs/semantics.md).
      }], "::mlir::Value", "buildQuantize",
      (ins "::mlir::qat::QuantMath &":$math, "unsigned":$bits,
           "::mlir::Value":$x, "::mlir::Value":$v)>,
    InterfaceMethod<[{
        The level (f32) of an i32 code with step s.
      }], "::mlir::Value", "buildDequantize",
      (ins "::mlir::qat::QuantMath &":$math, "unsigned":$bits,
           "::mlir::Value":$code, "::mlir::Value":$s)>,
    InterfaceMethod<[{
        dequantize(quantize(x)) without the integer, given v = x/s; NaN stays
        NaN. `negHalfStep` (may be null): -s/2 when the caller knows it to be
        exact (QuantElement::negHalfStep), for grids with half-integer levels.
      }], "::mlir::Value", "buildFakeQuant",
      (ins "::mlir::qat::QuantMath &":$math, "unsigned":$bits,
           "::mlir::Value":$x, "::mlir::Value":$v, "::mlir::Value":$s,
           "::mlir::Value":$negHalfStep)>,
  ];
}

def QAT_ScaleMethodAttrInterface : AttrInterface<"ScaleMethodAttrInterface"> {
  let cppNamespace = "::mlir::qat";
  let description = [{
    How a quantizer obtains its step: from a per-group statistic of the
    data (the method reduces nothing itself: it declares the statistic, the
    lowering reduces it and the method turns it into a clip, which the grid
    turns into a step), or as a trained operand. Adding a method means an
    attribute that implements this interface (see
    lib/Dialect/QAT/IR/ScaleMethods.cpp).
  }];
  let methods = [
    InterfaceMethod<[{
        The per-group reduction the step is computed from, or None when the
        step is an operand.
      }], "::mlir::qat::GroupStatistic", "getStepStatistic", (ins)>,
    InterfaceMethod<[{
        The clip c (f32) of a group from its statistic (f32) over
        `groupLength` elements (a constant, or an f32 value computed at run
        time), for a `bits`-bit quantizer on `grid`. Called only when
        getStepStatistic() is not None.
      }], "::mlir::Value", "buildClip",
      (ins "::mlir::qat::QuantMath &":$math,
           "::mlir::qat::GridAttrInterface":$grid, "unsigned":$bits,
           "::mlir::Value":$statistic,
           "const ::mlir::qat::GroupLength &":$groupLength)>,
    InterfaceMethod<[{
        Whether the step is a trained operand that receives a gradient
        (LSQ).
      }], "bool", "isLearned", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<[{
        Whether a group's step also depends on the whole tensor (two-level
        scaling, NVFP4). Such a qat.scale is expanded before it is lowered
        (expandTwoLevelScales, QATOps.h) into an `absmax` qat.scale per
        group, one per tensor, and an elementwise map by buildTwoLevelStep;
        buildClip is not called.
      }], "bool", "isTwoLevel", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<[{
        The step (f32) of a group of a two-level method from the group's
        `absmax` step `groupStep` and the whole tensor's `tensorStep` (both
        max|x| / the grid's clip per step).
      }], "::mlir::Value", "buildTwoLevelStep",
      (ins "::mlir::qat::QuantMath &":$math,
           "::mlir::qat::GridAttrInterface":$grid, "unsigned":$bits,
           "::mlir::Value":$groupStep, "::mlir::Value":$tensorStep),
      [{}], [{
        llvm_unreachable("not a two-level scale method");
      }]>,
    InterfaceMethod<[{
        Checks that the method is defined on `grid`.
      }], "::llvm::LogicalResult", "verifyForGrid",
      (ins "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
           "::mlir::qat::GridAttrInterface":$grid),
      [{}], [{ return ::mlir::success(); }]>,
  ];
}

def QAT_GradientEstimatorAttrInterface
    : AttrInterface<"GradientEstimatorAttrInterface"> {
  let cppNamespace = "::mlir::qat";
  let description = [{
    A rule for the backward of fake quantization with respect to its input.

    An estimator states its math once, as scalar IR built through a
    `QuantMath` (qat/Dialect/QAT/IR/QuantizerMath.h) on one element at a
    time, and declares the per-group statistic it needs before that;
    convert-qat-to-linalg and the GPU row kernels both call it. Adding an
    estimator means an attribute that implements this interface (see
    lib/Dialect/QAT/IR/GradientEstimators.cpp): `buildInputGrad` has no
    default, so an estimator cannot be lowered as something else silently.
  }];
  let methods = [
    InterfaceMethod<[{
        Checks that the estimator is defined for a quantizer on `grid` with
        `bits` bits.
      }], "::llvm::LogicalResult", "verifyForGrid",
      (ins "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
           "::mlir::qat::GridAttrInterface":$grid, "unsigned":$bits),
      [{}], [{ return ::mlir::success(); }]>,
    InterfaceMethod<[{
        The per-group statistic of the input that `buildInputGrad` reads from
        `element.deviation` (GroupStatistic::RootMeanSquare), or None.
      }], "::mlir::qat::GroupStatistic", "getGroupStatistic", (ins),
      [{}], [{ return ::mlir::qat::GroupStatistic::None; }]>,
    InterfaceMethod<[{
        A value of one group (f32) that `buildInputGrad` reads from
        `element.groupInvariant`, from the group's step and statistic
        (`deviation`, null unless getGroupStatistic() asks for one), or null
        when the estimator has none. A lowering may build it once per group,
        ahead of the elements and of any branch around them; without it,
        `buildInputGrad` builds it per element.
      }], "::mlir::Value", "buildGroupInvariant",
      (ins "::mlir::qat::QuantMath &":$math,
           "const ::mlir::qat::QuantizerAttr &":$quantizer,
           "::mlir::Value":$step, "::mlir::Value":$deviation),
      [{}], [{ return {}; }]>,
    InterfaceMethod<[{
        Builds dx (f32) of one element from `element` (dy, x, the step s,
        v = x/s, the statistic) for a quantizer `quantizer`. The shared
        intermediate values (whether v lies in the code range, the level
        of x) come from `quantizer`'s element methods so that a lowering
        that also computes the learned-step gradient builds them once.
      }], "::mlir::Value", "buildInputGrad",
      (ins "::mlir::qat::QuantMath &":$math,
           "const ::mlir::qat::QuantizerAttr &":$quantizer,
           "::mlir::qat::QuantElement &":$element)>,
    InterfaceMethod<[{
        Whether `buildInputGrad` reads the fake-quantized level of x (a
        lowering may then prepare QuantElement::negHalfStep).
      }], "bool", "usesLevel", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<[{
        Whether dx is always dy or zero (a mask): a lowering may then keep
        dy's bits without rounding them through dx's type.
      }], "bool", "isMask", (ins), [{}], [{ return false; }]>,
  ];
}

def QAT_RecipeAttrInterface : AttrInterface<"RecipeAttrInterface"> {
  let cppNamespace = "::mlir::qat";
  let description = [{
    A QAT method as `qat-quantize` applies it to a contraction: which operands
    are quantized, on which grid, with which steps and gradient estimator.
    The value of the discardable `qat.recipe` attribute of a contraction and
    of the pass's default.
  }];
}

#endif // QAT_DIALECT_QAT_IR_QATINTERFACES_TD
