//===- PersistentLaunch.h - Host side of persistent kernels -----*- C++ -*-===//
//
// How many CTAs a persistent tensor-core kernel gets, and the tile counter of
// one that claims its tiles (KernelBuilder::beginTileLoop): what the launches
// of qat.matmul's and the float contractions' wgmma kernels share.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_TENSORCOREKERNELS_PERSISTENTLAUNCH_H
#define QAT_CONVERSION_TENSORCOREKERNELS_PERSISTENTLAUNCH_H

#include "mlir/IR/Builders.h"

namespace mlir::qat {

/// Tiles a multiprocessor up to which a persistent kernel takes every
/// gridDim.x-th tile; with more it claims them (beginTileLoop's counter).
constexpr int64_t kPersistentTilesPerSM = 4;
/// The multiprocessors the claiming threshold assumes at compile time (H100
/// SXM, H200); the grid itself follows the device's count at run time.
constexpr int64_t kNominalMultiprocessors = 132;

/// Whether a persistent kernel of `tiles` CTA tiles (dynamic: unknown until
/// run time) claims them: CTAs that each take every gridDim.x-th of many
/// tiles drift apart and read A and B panels further apart in L2, while
/// claimed tiles start in order, as the hardware would start one CTA a tile.
inline bool claimsTiles(int64_t tiles) {
  return ShapedType::isDynamic(tiles) ||
         tiles > kPersistentTilesPerSM * kNominalMultiprocessors;
}

/// The CTAs of a persistent kernel of `tiles` tiles, from the qat CUDA
/// runtime's `mgpuMultiprocessorCount` (declared in the module of the
/// builder's insertion point if it is not yet): one a multiprocessor at
/// most where it claims its tiles; otherwise one a multiprocessor for up to
/// `tilesPerSM` (at most kPersistentTilesPerSM) tiles each, else one a tile
/// (the loop runs once).
Value buildPersistentGrid(OpBuilder &builder, Location loc, Value tiles,
                          bool claims,
                          int64_t tilesPerSM = kPersistentTilesPerSM);

/// A fresh i32 counter of claimed tiles for one launch, zeroed on the
/// launch's stream, so that launches on other streams never share one.
Value buildTileCounter(OpBuilder &builder, Location loc);

} // namespace mlir::qat

#endif // QAT_CONVERSION_TENSORCOREKERNELS_PERSISTENTLAUNCH_H
