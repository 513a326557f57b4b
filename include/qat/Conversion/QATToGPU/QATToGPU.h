//===- QATToGPU.h - Row-local qat ops to fused GPU kernels ------*- C++ -*-===//
//
// Entry points of the lowering of the row-local qat ops to fused gpu.launch
// kernels.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_QATTOGPU_QATTOGPU_H
#define QAT_CONVERSION_QATTOGPU_QATTOGPU_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/Error.h"

namespace mlir::qat {

#define GEN_PASS_DECL_CONVERTQATTOGPU
#include "qat/Conversion/Passes.h.inc"

/// Checks the options of convert-qat-to-gpu that no input makes valid:
/// elements-per-thread from 1 to the most a thread of the row kernels holds.
/// The message names the option, its value and the accepted values. The pass
/// reports it when its options are parsed and when it runs (options set from
/// C++); qat-to-nvptx before it builds its pipeline.
llvm::Error verifyConvertQATToGPUOptions(const ConvertQATToGPUOptions &options);

/// Declares that gpu.barrier and nvvm.bar.warp.sync read and write memory.
/// Upstream gives them no memory effects interface, and ownership-based
/// buffer deallocation, which walks into the gpu.launch bodies this pass
/// creates, rejects ops with unknown effects.
void registerGPUBarrierMemoryEffects(DialectRegistry &registry);

/// Makes folding materialize the constants of a gpu.launch body inside it
/// rather than in the host function, so that kernel outlining keeps them in
/// the kernel (as immediates) instead of passing them as parameters.
void registerGPULaunchConstantMaterialization(DialectRegistry &registry);

} // namespace mlir::qat

#endif // QAT_CONVERSION_QATTOGPU_QATTOGPU_H
