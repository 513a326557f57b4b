//===- GPUTileSizes.h - Thread-block tile sizes, checked --------*- C++ -*-===//
//
// The check of the tile sizes of qat-gpu-tile-parallel-loops, shared with the
// linalg-tile-sizes option of qat-to-nvptx that sets them.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_TRANSFORMS_GPUTILESIZES_H
#define QAT_TRANSFORMS_GPUTILESIZES_H

#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"

namespace mlir::qat {

/// The most threads of a CTA.
constexpr int64_t kMaxThreadsPerBlock = 1024;

/// Checks that `sizes` describe a thread block: 1 to 3 positive sizes whose
/// product is at most kMaxThreadsPerBlock (each size is bounded first, so
/// the product cannot overflow). Empty sizes are the pass's default. The
/// message names `option` and the sizes.
llvm::Error verifyGPUTileSizes(ArrayRef<int64_t> sizes, StringRef option);

} // namespace mlir::qat

#endif // QAT_TRANSFORMS_GPUTILESIZES_H
