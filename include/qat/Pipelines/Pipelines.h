//===- Pipelines.h - Named qat pipelines ------------------------*- C++ -*-===//
//
// The pipelines a user runs by name (`qat-opt --qat-to-cpu`) or builds from
// C++: an options struct, a builder and a registration each.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_PIPELINES_PIPELINES_H
#define QAT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace qat {

/// Options of the CPU pipeline: qat + linalg on tensors to the LLVM dialect.
struct QATToCPUPipelineOptions
    : public PassPipelineOptions<QATToCPUPipelineOptions> {};

/// Lowers qat ops to linalg, bufferizes, lowers to loops and to the LLVM
/// dialect. The result can be JIT-compiled or translated to an object file.
void buildQATToCPUPipeline(OpPassManager &pm,
                           const QATToCPUPipelineOptions &options);

/// Registers the named pipelines with the pass registry.
void registerPipelines();

} // namespace qat
} // namespace mlir

#endif // QAT_PIPELINES_PIPELINES_H
