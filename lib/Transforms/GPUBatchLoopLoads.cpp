//===- GPUBatchLoopLoads.cpp - Loads of several iterations first ---------===//
//
// Unrolls the sequential loops of a GPU thread that load and store, and
// issues the loads of the unrolled iterations before their stores where
// alias analysis proves them apart.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Analysis/AliasAnalysis.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUBATCHLOOPLOADS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

/// Iterations whose loads go out together: with the loss kernel's two
/// 16-byte loads an iteration, 8 loads in flight a thread.
constexpr uint64_t kBatch = 4;

/// The buffer a load or store accesses, null for other ops.
Value getAccessedBuffer(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return load.getMemRef();
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return load.getBase();
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return store.getMemRef();
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return store.getBase();
  return {};
}

bool isLoad(Operation *op) { return isa<memref::LoadOp, vector::LoadOp>(op); }

/// Whether the loads of `loop` may move above its stores: a flat body of
/// loads, stores and ops without memory effects, at least one store, and
/// every loaded buffer proven distinct from every stored one.
bool canBatch(scf::ForOp loop, AliasAnalysis &aliases) {
  SmallVector<Value> loaded, stored;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (op.getNumRegions() != 0)
      return false;
    if (Value buffer = getAccessedBuffer(&op)) {
      (isLoad(&op) ? loaded : stored).push_back(buffer);
      continue;
    }
    if (!isMemoryEffectFree(&op))
      return false;
  }
  if (loaded.empty() || stored.empty())
    return false;
  for (Value load : loaded)
    for (Value store : stored)
      if (!aliases.alias(load, store).isNo())
        return false;
  return true;
}

/// Moves every load of `body` that follows a store, with the address
/// computation it needs, before the first store (in their order): canBatch
/// has proven that no store of the body touches a loaded buffer.
void hoistLoads(Block &body) {
  auto stores =
      llvm::make_filter_range(body.without_terminator(), [](Operation &op) {
        return getAccessedBuffer(&op) && !isLoad(&op);
      });
  if (stores.empty())
    return;
  Operation *firstStore = &*stores.begin();
  SmallVector<Operation *> loads;
  for (Operation *op = firstStore->getNextNode(); op; op = op->getNextNode())
    if (isLoad(op))
      loads.push_back(op);
  for (Operation *load : loads) {
    // The ops of the body that the load's operands come from (pure ones:
    // the body has no other loads' results in an address).
    llvm::SetVector<Operation *> slice;
    SmallVector<Operation *> worklist = {load};
    bool movable = true;
    while (!worklist.empty() && movable) {
      Operation *op = worklist.pop_back_val();
      for (Value operand : op->getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def || def->getBlock() != &body ||
            !firstStore->isBeforeInBlock(def) || slice.contains(def))
          continue;
        movable = isMemoryEffectFree(def);
        slice.insert(def);
        worklist.push_back(def);
      }
    }
    if (!movable)
      continue;
    SmallVector<Operation *> ordered(slice.begin(), slice.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    for (Operation *op : ordered)
      op->moveBefore(firstStore);
    load->moveBefore(firstStore);
  }
}

struct GPUBatchLoopLoadsPass
    : qat::impl::GPUBatchLoopLoadsBase<GPUBatchLoopLoadsPass> {
  void runOnOperation() override {
    AliasAnalysis &aliases = getAnalysis<AliasAnalysis>();
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ParallelOp parallel) {
      if (!qat::isGPULaunchCandidate(parallel))
        return;
      parallel.getBody()->walk([&](scf::ForOp loop) {
        std::optional<APInt> trips = loop.getStaticTripCount();
        if (trips && trips->getZExtValue() % kBatch == 0 &&
            trips->getZExtValue() > kBatch && canBatch(loop, aliases))
          loops.push_back(loop);
      });
    });
    for (scf::ForOp loop : loops) {
      if (failed(loopUnrollByFactor(loop, kBatch)))
        continue;
      hoistLoads(*loop.getBody());
    }
  }
};

} // namespace
