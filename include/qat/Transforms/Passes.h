//===- Passes.h - Passes of the qat pipelines -------------------*- C++ -*-===//
//
// Declarations of the qat passes that are not tied to the qat dialect.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_TRANSFORMS_PASSES_H
#define QAT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::qat {

#define GEN_PASS_DECL
#include "qat/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qat/Transforms/Passes.h.inc"

/// Whether a host scf.parallel becomes a kernel launch (the loops that
/// qat-gpu-tile-parallel-loops tiles): not in a gpu.launch, not mapped, not
/// nested in another parallel loop, without reductions.
bool isGPULaunchCandidate(scf::ParallelOp loop);

} // namespace mlir::qat

#endif // QAT_TRANSFORMS_PASSES_H
