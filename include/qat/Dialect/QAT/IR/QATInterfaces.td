//===- QATInterfaces.td - Attribute interfaces of qat ------*- tablegen -*-===//
//
// The gradient estimator interface: each estimator states its backward as
// scalar IR, once, for every lowering.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATINTERFACES_TD
#define QAT_DIALECT_QAT_IR_QATINTERFACES_TD

include "mlir/IR/OpBase.td"

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
           "::mlir::qat::Grid":$grid, "unsigned":$bits),
      [{}], [{ return ::mlir::success(); }]>,
    InterfaceMethod<[{
        The per-group statistic of the input that `buildInputGrad` reads from
        `element.deviation` (GroupStatistic::RootMeanSquare), or None.
      }], "::mlir::qat::GroupStatistic", "getGroupStatistic", (ins),
      [{}], [{ return ::mlir::qat::GroupStatistic::None; }]>,
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
