//===- GPUShapeChecks.h - Shapes the GPU conversions accept -----*- C++ -*-===//
//
// What convert-qat-matmul-to-nvgpu and convert-qat-to-gpu check and rewrite
// at their entry, before any kernel is planned: dynamic dimensions only where
// the kernels take them, tensor sizes within what their 64-bit index
// arithmetic and a GPU hold, and zero-size tensors taken out of the kernel
// planners.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_GPUSHAPECHECKS_GPUSHAPECHECKS_H
#define QAT_CONVERSION_GPUSHAPECHECKS_GPUSHAPECHECKS_H

#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"

namespace mlir::qat {

/// The largest tensor, in bytes, that the GPU kernels take. No GPU holds a
/// terabyte; below it every product the kernel planners form (a size times
/// thread, tile and vector counts of at most 2^20) stays far inside int64,
/// so the planners need no overflow checks of their own.
constexpr int64_t kMaxGPUTensorBytes = int64_t(1) << 40;

/// The most CTAs of a 1-D grid (gridDim.x), which the row and reduction
/// kernels launch.
constexpr int64_t kMaxGridX = (int64_t(1) << 31) - 1;

/// Reports (emitOpError) every qat op under `root` selected by `filter` with
/// a statically shaped operand or result whose element count or byte size
/// overflows int64 or exceeds kMaxGPUTensorBytes. The arithmetic is
/// overflow-checked, so any static shape is safe to give it.
LogicalResult checkGPUTensorSizes(Operation *root,
                                  function_ref<bool(Operation *)> filter);

/// Reports (emitOpError) every qat op under `root` selected by `filter` with
/// a dynamic dimension that the GPU kernels do not take. Leading (row)
/// dimensions may be dynamic: the kernels read them from the buffers and
/// compute their grids at run time. The last dimension may not (it fixes a
/// row kernel's layout and a matmul's K), nor may qat.matmul's B and its
/// steps (N x K, a weight: the kernel's column tiles).
LogicalResult checkGPUDynamicShapes(Operation *root,
                                    function_ref<bool(Operation *)> filter);

/// Whether `op` has an operand or result of a statically known zero size.
bool hasZeroSizeTensor(Operation *op);

/// Lowers the qat ops under `root` selected by `filter` that have a
/// zero-size operand or result with the convert-qat-to-linalg patterns,
/// which the CPU pipeline uses: no GPU kernel of qat's own is planned for
/// them (a planner divides by row lengths and tile counts), and what remains
/// is linalg on tensors, which the GPU pipeline compiles like any other glue
/// (a loop with no iteration launches nothing). A non-empty result of empty
/// operands (the step of a row of length 0, a matmul with K = 0) gets the
/// CPU's value.
LogicalResult lowerZeroSizeOpsToLinalg(Operation *root,
                                       function_ref<bool(Operation *)> filter);

} // namespace mlir::qat

#endif // QAT_CONVERSION_GPUSHAPECHECKS_GPUSHAPECHECKS_H
