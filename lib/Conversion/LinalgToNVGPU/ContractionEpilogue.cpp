//===- ContractionEpilogue.cpp - Elementwise consumers in the epilogue ----===//
//
// Which elementwise consumer of a float contraction its tensor-core kernel
// applies in the epilogue, and how it is formed into one linalg.generic.
//
//===----------------------------------------------------------------------===//
//
// Rules (docs/gpu.md states them for users):
//
// * Every use of the contraction's result is an operand of one linalg op E in
//   the same block: with a second consumer the result must exist in memory
//   anyway, and across regions (E in a loop body) the product would be
//   recomputed per iteration.
// * E is elementwise: all loops parallel, one result, which it writes
//   through an identity map, and it reads the
//   contraction's result through identity maps too: a thread holds the
//   accumulator of element (i, j) and nothing else, so a transposed or
//   shifted read of the result cannot be served from registers.
// * E's other operands are read at projected permutations of the element's
//   position: a full tensor of the result's shape (a second matrix, a mask),
//   a row or column vector (a bias), a scalar tensor, each loaded in the
//   epilogue. Elements of int or float type.
// * E's body is pure scalar code without regions (linalg.index is the
//   element's batch, row or column), and takes from outside only constants
//   (which are cloned into the kernel).
// * Elementwise producers of E's other operands (a linalg.broadcast of the
//   bias) with no other use are fused into E, and so is, repeatedly, E's
//   only user when it is elementwise in the same sense (bias + GELU written
//   as two ops): linalg's elementwise fusion (fuseElementwiseOps) on the
//   generalized ops. Producers of the contraction's own operands are never
//   touched, so the contraction keeps its form.
//
//===----------------------------------------------------------------------===//

#include "ContractionKernel.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;
using namespace mlir::qat;

bool ContractionEpilogue::operator==(const ContractionEpilogue &other) const {
  return operands == other.operands && resultType == other.resultType &&
         OperationEquivalence::isRegionEquivalentTo(
             body, other.body, OperationEquivalence::IgnoreLocations);
}

namespace {

/// The body can be cloned into the kernel once per element.
bool isScalarBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  for (Operation &inner : body->without_terminator())
    if (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner))
      return false;
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegion(0), captured);
  return llvm::all_of(captured, [](Value value) {
    Operation *def = value.getDefiningOp();
    return def && def->hasTrait<OpTrait::ConstantLike>();
  });
}

/// `op` is elementwise in the sense of the rules above (except for how it
/// reads the contraction's result, which only E is checked for).
bool isEpilogueElementwise(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op->getNumResults() != 1 ||
      op.getNumLoops() != op.getNumParallelLoops() ||
      !op.getIndexingMapMatchingResult(op->getResult(0)).isIdentity() ||
      !isScalarBody(op))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!op.getMatchingIndexingMap(&operand).isProjectedPermutation(
            /*allowZeroInResults=*/false))
      return false;
    Type element = getElementTypeOrSelf(operand.get().getType());
    if (!element.isIntOrFloat())
      return false;
  }
  return getElementTypeOrSelf(op->getResult(0).getType()).isIntOrFloat();
}

/// `op` reads `value` only through identity maps (and at least once).
bool readsOnlyAtIdentity(linalg::LinalgOp op, Value value) {
  bool reads = false;
  for (OpOperand &operand : op->getOpOperands()) {
    if (operand.get() != value)
      continue;
    if (!op.getMatchingIndexingMap(&operand).isIdentity())
      return false;
    reads = true;
  }
  return reads;
}

/// The one linalg op that holds every use of `value`, if any.
linalg::LinalgOp getSoleUser(Value value) {
  if (value.use_empty())
    return {};
  Operation *user = value.getUses().begin()->getOwner();
  for (OpOperand &use : value.getUses())
    if (use.getOwner() != user)
      return {};
  return dyn_cast<linalg::LinalgOp>(user);
}

linalg::GenericOp generalize(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    return generic;
  rewriter.setInsertionPoint(op);
  // Every named elementwise op has a region builder.
  return *linalg::generalizeNamedOp(rewriter, op);
}

/// Fuses the producer of `operand` into its consumer; the fused op replaces
/// the consumer, and the producer (whose only use this was) goes.
linalg::GenericOp fuse(RewriterBase &rewriter, OpOperand &operand) {
  Operation *producer = operand.get().getDefiningOp();
  Operation *consumer = operand.getOwner();
  // fuseElementwiseOps creates the fused op where the rewriter points.
  rewriter.setInsertionPoint(consumer);
  FailureOr<linalg::ElementwiseOpFusionResult> fused =
      linalg::fuseElementwiseOps(rewriter, &operand);
  if (failed(fused))
    return {};
  for (auto [original, replacement] : fused->replacements)
    rewriter.replaceAllUsesWith(original, replacement);
  rewriter.eraseOp(consumer);
  if (producer->use_empty())
    rewriter.eraseOp(producer);
  return cast<linalg::GenericOp>(fused->fusedOp);
}

/// Fuses into `epilogue` the elementwise producers of its operands other
/// than `result` that nothing else uses, until none is left.
linalg::GenericOp fuseProducers(RewriterBase &rewriter,
                                linalg::GenericOp epilogue, Value result) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (OpOperand *operand : epilogue.getDpsInputOperands()) {
      auto producer = operand->get().getDefiningOp<linalg::LinalgOp>();
      if (!producer || operand->get() == result ||
          !operand->get().hasOneUse() ||
          producer->getBlock() != epilogue->getBlock() ||
          !isEpilogueElementwise(producer))
        continue;
      unsigned number = operand->getOperandNumber();
      generalize(rewriter, producer);
      OpOperand &fusedOperand = epilogue->getOpOperand(number);
      if (!linalg::areElementwiseOpsFusable(&fusedOperand))
        continue;
      linalg::GenericOp fused = fuse(rewriter, fusedOperand);
      if (!fused)
        continue;
      epilogue = fused;
      changed = true;
      break;
    }
  }
  return epilogue;
}

} // namespace

FailureOr<linalg::GenericOp>
mlir::qat::formEpilogue(RewriterBase &rewriter, linalg::LinalgOp contraction,
                        const ContractionOperand &out) {
  Value result = contraction->getResult(0);
  linalg::LinalgOp user = getSoleUser(result);
  if (!user || user->getBlock() != contraction->getBlock() ||
      !isEpilogueElementwise(user) || !readsOnlyAtIdentity(user, result) ||
      cast<ShapedType>(user->getResult(0).getType()).getShape() !=
          ArrayRef<int64_t>(out.shape))
    return failure();

  OpBuilder::InsertionGuard guard(rewriter);
  linalg::GenericOp epilogue =
      fuseProducers(rewriter, generalize(rewriter, user), result);
  // The chain: the next elementwise op joins while it is the only user and
  // reads the element where it is.
  while (true) {
    Value value = epilogue->getResult(0);
    linalg::LinalgOp next = getSoleUser(value);
    if (!next || next->getBlock() != epilogue->getBlock() ||
        !isEpilogueElementwise(next) || !readsOnlyAtIdentity(next, value) ||
        !value.hasOneUse() || next.isDpsInit(&*value.getUses().begin()))
      break;
    unsigned number = value.getUses().begin()->getOperandNumber();
    linalg::GenericOp generic = generalize(rewriter, next);
    OpOperand &operand = generic->getOpOperand(number);
    if (!linalg::areElementwiseOpsFusable(&operand))
      break;
    linalg::GenericOp fused = fuse(rewriter, operand);
    if (!fused)
      break;
    epilogue = fuseProducers(rewriter, fused, result);
  }
  return epilogue;
}

ContractionEpilogue mlir::qat::describeEpilogue(linalg::GenericOp op,
                                                Value result,
                                                const ContractionOperand &out) {
  ContractionEpilogue epilogue;
  epilogue.body = &op.getRegion();
  epilogue.resultType = getElementTypeOrSelf(op->getResult(0).getType());
  for (OpOperand &operand : op->getOpOperands()) {
    EpilogueOperand &described = epilogue.operands.emplace_back();
    if (operand.get() == result) {
      described.kind = EpilogueOperand::Kind::Result;
      continue;
    }
    if (op.getMatchingBlockArgument(&operand).use_empty())
      continue;
    described.kind = EpilogueOperand::Kind::Buffer;
    auto type = cast<RankedTensorType>(operand.get().getType());
    described.shape = llvm::to_vector(type.getShape());
    described.elementType = type.getElementType();
    for (AffineExpr dim : op.getMatchingIndexingMap(&operand).getResults()) {
      int64_t position = cast<AffineDimExpr>(dim).getPosition();
      described.roles.push_back(
          position == out.batchDim ? EpilogueOperand::Role::Batch
          : position == out.rowDim ? EpilogueOperand::Role::Row
                                   : EpilogueOperand::Role::Col);
    }
  }
  return epilogue;
}
