//===- GPUSerialLinalg.cpp - Loop-less linalg ops on one thread -*- C++ -*-===//
//
// Moves the host linalg ops that have no parallel loop (full reductions,
// rank-0 ops) into single-thread gpu.launch kernels.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUSERIALLINALG
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

/// A linalg op on buffers that has no parallel dimension to spread over
/// threads. Ops on tensors are left to bufferization, which comes first.
static bool isSerialLinalgOp(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.hasPureBufferSemantics() &&
         linalgOp.getNumParallelLoops() == 0 &&
         !op->getParentOfType<gpu::LaunchOp>();
}

/// Moves `ops` (consecutive in one block) into a new launch of one thread.
static void wrapInSingleThreadLaunch(ArrayRef<Operation *> ops) {
  OpBuilder builder(ops.front());
  Location loc = ops.front()->getLoc();
  Value one = arith::ConstantIndexOp::create(builder, loc, 1);
  auto launch =
      gpu::LaunchOp::create(builder, loc, one, one, one, one, one, one);
  Block &body = launch.getBody().front();
  builder.setInsertionPointToEnd(&body);
  auto terminator = gpu::TerminatorOp::create(builder, loc);
  for (Operation *op : ops)
    op->moveBefore(terminator);
}

namespace {

/// Rewrites by hand rather than through a pattern: the unit of rewriting is
/// a run of consecutive ops (so that fill + reduce + scale of a loss is one
/// launch, not three), which a pattern rooted at one op cannot see.
///
/// A single thread is the honest mapping of a full reduction without
/// recognizing its combiner: the partial results of a parallel reduction
/// need the combiner's neutral element and an associative merge, which an
/// arbitrary linalg body does not provide. The reductions of QAT training
/// steps that reach here are scalar losses over one activation tensor;
/// per-row and per-tensor quantizer statistics have their own parallel
/// kernels (convert-qat-to-gpu).
struct GPUSerialLinalgPass
    : qat::impl::GPUSerialLinalgBase<GPUSerialLinalgPass> {
  void runOnOperation() override {
    SmallVector<SmallVector<Operation *>> runs;
    getOperation().walk([&](Block *block) {
      SmallVector<Operation *> run;
      for (Operation &op : *block) {
        if (!isSerialLinalgOp(&op)) {
          if (!run.empty())
            runs.push_back(std::move(run));
          run.clear();
          continue;
        }
        run.push_back(&op);
      }
      if (!run.empty())
        runs.push_back(std::move(run));
    });
    for (ArrayRef<Operation *> run : runs)
      wrapInSingleThreadLaunch(run);
  }
};

} // namespace
