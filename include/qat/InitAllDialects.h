//===- InitAllDialects.h - Register the qat dialect -------------*- C++ -*-===//
//
// The one place that lists what a qat tool registers: the qat dialect next to
// every upstream dialect a training graph may contain.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_INITALLDIALECTS_H
#define QAT_INITALLDIALECTS_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::qat {

/// Registers the qat dialect only.
void registerQATDialect(DialectRegistry &registry);

/// Lets the LLVM IR translation accept the qat argument attributes
/// (`qat.param`, `qat.step`, `qat.codes`) that lowered functions still carry.
void registerQATLLVMTranslation(DialectRegistry &registry);

/// Registers the qat dialect, every upstream dialect and their extensions.
void registerAllDialects(DialectRegistry &registry);

} // namespace mlir::qat

#endif // QAT_INITALLDIALECTS_H
