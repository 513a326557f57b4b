//===- QATToLinalg.h - qat ops to linalg on tensors -------------*- C++ -*-===//
//
// Entry points of the lowering of the qat dialect to linalg, arith and math.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_QATTOLINALG_QATTOLINALG_H
#define QAT_CONVERSION_QATTOLINALG_QATTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace qat {

#define GEN_PASS_DECL_CONVERTQATTOLINALG
#include "qat/Conversion/Passes.h.inc"

/// Adds one conversion pattern per qat op, each rewriting the op into
/// linalg ops on tensors with arith/math bodies computing in f32.
void populateQATToLinalgConversionPatterns(RewritePatternSet &patterns);

} // namespace qat
} // namespace mlir

#endif // QAT_CONVERSION_QATTOLINALG_QATTOLINALG_H
