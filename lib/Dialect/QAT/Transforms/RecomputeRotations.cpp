//===- RecomputeRotations.cpp - Rotate again in the backward ----*- C++ -*-===//
//
// Clones a qat.hadamard next to the trust-mask backward that reads its
// result, so that the rotated forward input need not be kept in memory.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATOps.h"
#include "qat/Dialect/QAT/Transforms/Passes.h"

namespace mlir::qat {
#define GEN_PASS_DEF_QATRECOMPUTEROTATIONS
#include "qat/Dialect/QAT/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

namespace {

/// Whether `value` is in memory whatever the row kernels fuse: an argument,
/// or the result of an op that no row kernel computes.
bool staysInMemory(Value value) {
  Operation *producer = value.getDefiningOp();
  return !producer || !isa<QATDialect>(producer->getDialect());
}

struct QATRecomputeRotationsPass
    : qat::impl::QATRecomputeRotationsBase<QATRecomputeRotationsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<HadamardOp, FakeQuantGradOp>> uses;
    getOperation().walk([&](HadamardOp rotation) {
      if (!staysInMemory(rotation.getInput()))
        return;
      for (Operation *user : rotation->getUsers()) {
        auto backward = dyn_cast<FakeQuantGradOp>(user);
        if (backward && backward.getInput() == rotation.getResult())
          uses.emplace_back(rotation, backward);
      }
    });
    for (auto [rotation, backward] : uses) {
      OpBuilder b(backward);
      Operation *again = b.clone(*rotation);
      backward.getInputMutable().assign(again->getResult(0));
    }
  }
};

} // namespace
