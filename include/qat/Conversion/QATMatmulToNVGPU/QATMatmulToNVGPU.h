//===- QATMatmulToNVGPU.h - qat.matmul to tensor cores ----------*- C++ -*-===//
//
// Entry points of the lowering of qat.matmul to integer tensor-core kernels.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_QATMATMULTONVGPU_QATMATMULTONVGPU_H
#define QAT_CONVERSION_QATMATMULTONVGPU_QATMATMULTONVGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class DialectRegistry;
class ModuleOp;

namespace qat {

/// How a qat.matmul kernel drives the tensor cores. `MmaSync` runs on sm_80
/// and later; Hopper's warpgroup MMA (`nvvm.wgmma.mma_async`, sm_90a, with
/// TMA loads) is the next strategy and slots in here with its own kernel
/// builder, sharing the host-side rewrite and the epilogue math.
enum class MatmulGPUStrategy { MmaSync };

#define GEN_PASS_DECL_CONVERTQATMATMULTONVGPU
#include "qat/Conversion/Passes.h.inc"

/// Declares that `gpu.launch_func` reads and writes its memref operands, so
/// that ownership-based buffer deallocation accepts the launches created by
/// convert-qat-matmul-to-nvgpu (upstream declares no effects for the op).
void registerGPULaunchFuncMemoryEffects(DialectRegistry &registry);

} // namespace qat
} // namespace mlir

#endif // QAT_CONVERSION_QATMATMULTONVGPU_QATMATMULTONVGPU_H
