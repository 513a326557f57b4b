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

/// Registers the qat dialect, every upstream dialect and their extensions
/// (not registerQATUpstreamExtensions: tools call that one explicitly).
void registerAllDialects(DialectRegistry &registry);

/// Registers what qat attaches to upstream ops and dialects, which the IR
/// its GPU passes produce relies on:
///  - memory effects on gpu.launch_func (the qat.matmul kernel launches) and
///    on gpu.barrier and nvvm.bar.warp.sync (the row kernels' barriers), so
///    that buffer deallocation accepts them;
///  - a constant materialization (fold) interface on the gpu dialect, which
///    keeps the constants of a kernel inside its gpu.launch.
/// They change how upstream passes treat upstream ops, so registering the qat
/// dialect does not bring them: a compiler that runs qat's GPU pipeline on
/// its own context calls this. The qat GPU passes also declare them as
/// dependent registrations (getDependentDialects), so they apply whenever one
/// of those passes is in the pipeline.
void registerQATUpstreamExtensions(DialectRegistry &registry);

} // namespace mlir::qat

#endif // QAT_INITALLDIALECTS_H
