//===- QATAttrs.h - Attributes of the qat dialect ---------------*- C++ -*-===//
//
// Declares the quantizer attribute, its grids and scale methods, the gradient
// estimators and the enums. Their math as scalar IR: Grids.cpp,
// ScaleMethods.cpp, QuantizerMath.cpp and GradientEstimators.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATATTRS_H
#define QAT_DIALECT_QAT_IR_QATATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"

#include "qat/Dialect/QAT/IR/FloatFormats.h"
#include "qat/Dialect/QAT/IR/QATEnums.h.inc"
#include "qat/Dialect/QAT/IR/QuantizerMath.h"

namespace mlir::qat {
class QuantizerAttr;
} // namespace mlir::qat

#include "qat/Dialect/QAT/IR/QATAttrInterfaces.h.inc"

namespace mlir::qat {

/// The built-in grid or scale method that the C API and the Python bindings
/// name `grid` or `method`.
GridAttrInterface getBuiltinGrid(MLIRContext *ctx, Grid grid);
ScaleMethodAttrInterface getBuiltinScaleMethod(MLIRContext *ctx,
                                               ScaleMethod method);

/// The MSE-optimal clip multiplier alpha_b of a unit Gaussian for 2^b levels
/// (QuEST).
double getGaussianClipAlpha(unsigned bits);

/// The keyword of a grid or scale method inside `#qat.quantizer` (its
/// mnemonic).
StringRef stringifyGrid(GridAttrInterface grid);
StringRef stringifyScaleMethod(ScaleMethodAttrInterface method);

} // namespace mlir::qat

#define GET_ATTRDEF_CLASSES
#include "qat/Dialect/QAT/IR/QATAttrs.h.inc"

namespace mlir::qat {

/// Parses a gradient estimator written by its mnemonic, without the `#qat.`
/// prefix: `ste`, `clip`, `trust<0.25>`, `fourier<[0.21]>`.
FailureOr<GradientEstimatorAttrInterface>
parseGradientEstimator(AsmParser &parser);

/// Prints a gradient estimator in the form parseGradientEstimator reads.
void printGradientEstimator(AsmPrinter &printer,
                            GradientEstimatorAttrInterface estimator);

} // namespace mlir::qat

#endif // QAT_DIALECT_QAT_IR_QATATTRS_H
