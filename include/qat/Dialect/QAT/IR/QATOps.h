//===- QATOps.h - Operations of the qat dialect -----------------*- C++ -*-===//
//
// Declares the qat operations.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATOPS_H
#define QAT_DIALECT_QAT_IR_QATOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"

#define GET_OP_CLASSES
#include "qat/Dialect/QAT/IR/QATOps.h.inc"

namespace mlir::qat {

/// Replaces every qat.scale under `root` whose scale method is two-level
/// (nvfp4) by an `absmax` qat.scale per group, one per tensor, and the
/// elementwise map (linalg.generic) of the method's buildTwoLevelStep: what
/// the lowerings of qat.scale take. Both lowerings call it first.
void expandTwoLevelScales(Operation *root);

/// Replaces every qat.hadamard with `signs` by the plain rotation and the
/// elementwise map (linalg.generic) of the column signs, in the op's order:
/// what the lowerings of qat.hadamard take. Both lowerings call it first.
void expandRandomSignHadamards(Operation *root);

} // namespace mlir::qat

#endif // QAT_DIALECT_QAT_IR_QATOPS_H
