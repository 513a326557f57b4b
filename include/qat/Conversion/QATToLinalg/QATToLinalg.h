//===- QATToLinalg.h - qat ops to linalg on tensors -------------*- C++ -*-===//
//
// Entry points of the lowering of the qat dialect to linalg, arith and math.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_QATTOLINALG_QATTOLINALG_H
#define QAT_CONVERSION_QATTOLINALG_QATTOLINALG_H

#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace qat {
class MatmulOp;

#define GEN_PASS_DECL_CONVERTQATTOLINALG
#include "qat/Conversion/Passes.h.inc"

/// Adds one conversion pattern per qat op, each rewriting the op into
/// linalg ops on tensors with arith/math bodies computing in f32.
void populateQATToLinalgConversionPatterns(RewritePatternSet &patterns);

/// `op`'s product as linalg on tensors, from the given operands (op's or
/// their converted values): the operands' levels (i32, or f32 on the fp8
/// grids), a transposed-B linalg.matmul and the dequantizing epilogue.
Value buildMatmulAsLinalg(OpBuilder &b, Location loc, MatmulOp op,
                          Value lhsCodes, Value rhsCodes, Value lhsScale,
                          Value rhsScale);

} // namespace qat
} // namespace mlir

#endif // QAT_CONVERSION_QATTOLINALG_QATTOLINALG_H
