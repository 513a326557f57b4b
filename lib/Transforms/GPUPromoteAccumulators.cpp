//===- GPUPromoteAccumulators.cpp - Reduction accumulators in registers ===//
//
// Turns a loop's load and store of one buffer element at loop-invariant
// indices into a loop-carried value, loaded before the loop and stored after.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Analysis/AliasAnalysis.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUPROMOTEACCUMULATORS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

/// The load and the store of an accumulator element in one loop iteration.
struct Accumulator {
  memref::LoadOp load;
  memref::StoreOp store;
};

/// Whether every memory access of `loop` other than `acc`'s load and store
/// is to a buffer that `aliases` proves distinct from the accumulator's,
/// and no other op of the loop has memory effects.
bool isOnlyAccess(scf::ForOp loop, Accumulator acc, AliasAnalysis &aliases) {
  Value buffer = acc.load.getMemRef();
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    if (op == acc.load || op == acc.store ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    Value other;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      other = load.getMemRef();
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      other = store.getMemRef();
    else if (isMemoryEffectFree(op))
      return WalkResult::advance();
    if (other && aliases.alias(buffer, other).isNo())
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

/// The accumulators of `loop`: a load in its body followed by a store to
/// the same buffer at the same indices, all defined outside the loop, and
/// no other access that may touch that buffer.
SmallVector<Accumulator> findAccumulators(scf::ForOp loop,
                                          AliasAnalysis &aliases) {
  SmallVector<Accumulator> result;
  for (auto load : loop.getBody()->getOps<memref::LoadOp>()) {
    if (!loop.isDefinedOutsideOfLoop(load.getMemRef()) ||
        !llvm::all_of(load.getIndices(), [&](Value index) {
          return loop.isDefinedOutsideOfLoop(index);
        }))
      continue;
    memref::StoreOp store;
    for (Operation *op = load->getNextNode(); op && !store;
         op = op->getNextNode()) {
      auto candidate = dyn_cast<memref::StoreOp>(op);
      if (candidate && candidate.getMemRef() == load.getMemRef() &&
          candidate.getIndices() == load.getIndices())
        store = candidate;
    }
    Accumulator acc{load, store};
    if (store && isOnlyAccess(loop, acc, aliases))
      result.push_back(acc);
  }
  return result;
}

/// Loads each accumulator before `loop`, carries it through the iterations
/// and stores it after the loop.
void promote(scf::ForOp loop, MutableArrayRef<Accumulator> accumulators,
             RewriterBase &rewriter) {
  rewriter.setInsertionPoint(loop);
  SmallVector<Value> inits;
  for (Accumulator &acc : accumulators)
    inits.push_back(memref::LoadOp::create(rewriter, acc.load.getLoc(),
                                           acc.load.getMemRef(),
                                           acc.load.getIndices()));
  FailureOr<LoopLikeOpInterface> replaced = loop.replaceWithAdditionalYields(
      rewriter, inits, /*replaceInitOperandUsesInLoop=*/false,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
        return llvm::map_to_vector(accumulators, [](Accumulator acc) {
          return acc.store.getValueToStore();
        });
      });
  auto promoted = cast<scf::ForOp>(replaced->getOperation());
  unsigned first = promoted.getNumRegionIterArgs() - accumulators.size();
  rewriter.setInsertionPointAfter(promoted);
  for (auto [i, acc] : llvm::enumerate(accumulators)) {
    rewriter.replaceAllUsesWith(acc.load.getResult(),
                                promoted.getRegionIterArgs()[first + i]);
    memref::StoreOp::create(rewriter, acc.store.getLoc(),
                            promoted.getResult(first + i),
                            acc.store.getMemRef(), acc.store.getIndices());
    rewriter.eraseOp(acc.store);
    rewriter.eraseOp(acc.load);
  }
}

/// Whether `loop` runs in one thread at a time: outside kernels (host loops
/// and the iterations of host scf.parallel loops, which own what they
/// accumulate) or in a kernel of one thread. Other kernels may share
/// an element between threads, which alias analysis does not see.
bool isSingleThreaded(scf::ForOp loop) {
  auto launch = loop->getParentOfType<gpu::LaunchOp>();
  if (!launch)
    return true;
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  return llvm::all_of(
      ValueRange{grid.x, grid.y, grid.z, block.x, block.y, block.z},
      [](Value size) { return isConstantIntValue(size, 1); });
}

struct GPUPromoteAccumulatorsPass
    : qat::impl::GPUPromoteAccumulatorsBase<GPUPromoteAccumulatorsPass> {
  void runOnOperation() override {
    AliasAnalysis &aliases = getAnalysis<AliasAnalysis>();
    // Inner loops first: a promoted inner loop leaves a load before it and a
    // store after it, which the loop around it may promote in turn.
    SmallVector<scf::ForOp> loops;
    getOperation().walk<WalkOrder::PostOrder>([&](scf::ForOp loop) {
      if (isSingleThreaded(loop))
        loops.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : loops) {
      SmallVector<Accumulator> accumulators = findAccumulators(loop, aliases);
      if (!accumulators.empty())
        promote(loop, accumulators, rewriter);
    }
  }
};

} // namespace
