//===- GPUTileParallelLoops.cpp - Host loops to blocks, threads -*- C++ -*-===//
//
// Tiles the outermost scf.parallel loops of host code so that the outer loop
// maps to blocks and the inner one, with constant bounds, to threads.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/GPUTileSizes.h"
#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUTILEPARALLELLOOPS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

/// Loops that become a launch: on the host, not mapped already, not nested
/// in another parallel loop (those are the thread level of a nest written
/// for a GPU), and without reductions (scf::tileParallelLoop does not
/// support them; such loops stay on the host and qat-gpu-device-buffers
/// reports them).
bool mlir::qat::isGPULaunchCandidate(scf::ParallelOp loop) {
  return !loop->getParentOfType<gpu::LaunchOp>() &&
         !loop->hasAttr(gpu::getMappingAttrName()) &&
         !loop->getParentOfType<scf::ParallelOp>() &&
         loop.getNumReductions() == 0;
}

/// The constant trip count of dimension `dim` of `loop`, if it has one.
static std::optional<int64_t> getTripCount(scf::ParallelOp loop, unsigned dim) {
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound()[dim]);
  std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound()[dim]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[dim]);
  if (!lower || !upper || !step || *step <= 0)
    return std::nullopt;
  return llvm::divideCeil(std::max<int64_t>(*upper - *lower, 0), *step);
}

/// `sizes` aligned with the innermost dimensions of `loop`. A dimension with
/// fewer iterations than its tile size (a column vector's width of 1) keeps
/// only as many threads as it has iterations and hands the rest of its
/// share to the next dimension outward, so that a 96x1 update runs on 96
/// threads rather than on 4.
static SmallVector<int64_t> getTileSizes(scf::ParallelOp loop,
                                         ArrayRef<int64_t> sizes) {
  unsigned rank = loop.getNumLoops();
  SmallVector<int64_t> result(rank, 1);
  int64_t carry = 1;
  // gpu-map-parallel-loops maps at most three dimensions to threads.
  for (unsigned i = 0; i < std::min(rank, 3u); ++i) {
    unsigned dim = rank - 1 - i;
    int64_t want = (i < sizes.size() ? sizes[sizes.size() - 1 - i] : 1) * carry;
    std::optional<int64_t> trips = getTripCount(loop, dim);
    int64_t size = want;
    carry = 1;
    if (trips && *trips < want) {
      size = std::max<int64_t>(*trips, 1);
      carry = want / size;
    }
    result[dim] = size;
  }
  return result;
}

namespace {

/// Walks instead of applying patterns, like scf-parallel-loop-tiling: the
/// tiling utility replaces the loop it is given and is not a pattern.
struct GPUTileParallelLoopsPass
    : qat::impl::GPUTileParallelLoopsBase<GPUTileParallelLoopsPass> {
  using GPUTileParallelLoopsBase::GPUTileParallelLoopsBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(Pass::initializeOptions(options, errorHandler)))
      return failure();
    if (llvm::Error error = qat::verifyGPUTileSizes(tileSizes, "tile-sizes"))
      return errorHandler("qat-gpu-tile-parallel-loops: " +
                          llvm::toString(std::move(error)));
    return success();
  }

  void runOnOperation() override {
    if (llvm::Error error = qat::verifyGPUTileSizes(tileSizes, "tile-sizes")) {
      getOperation().emitError() << "qat-gpu-tile-parallel-loops: "
                                 << llvm::toString(std::move(error));
      return signalPassFailure();
    }
    SmallVector<int64_t> sizes(tileSizes.begin(), tileSizes.end());
    if (sizes.empty())
      sizes = {4, 64};

    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (qat::isGPULaunchCandidate(loop))
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      scf::tileParallelLoop(loop, getTileSizes(loop, sizes),
                            /*noMinMaxBounds=*/true);
  }
};

} // namespace

llvm::Error mlir::qat::verifyGPUTileSizes(ArrayRef<int64_t> sizes,
                                          StringRef option) {
  int64_t threads = 1;
  bool valid = sizes.size() <= 3;
  for (int64_t size : sizes) {
    valid = valid && size >= 1 && size <= kMaxThreadsPerBlock;
    if (valid)
      threads *= size;
  }
  if (valid && threads <= kMaxThreadsPerBlock)
    return llvm::Error::success();
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      option + "=" +
          llvm::join(
              llvm::map_range(
                  sizes, [](int64_t size) { return std::to_string(size); }),
              ",") +
          " does not describe a thread block: expected 1 to 3 positive "
          "sizes whose product is at most " +
          Twine(kMaxThreadsPerBlock));
}
