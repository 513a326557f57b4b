//===- FusedConsumers.cpp - qat.matmul consumers for the epilogue -*- C++ -*-=//
//
// Which consumers of a qat.matmul's product its wgmma kernel applies in the
// epilogue: an elementwise op (a loss gradient) and a sum (the loss), so
// that the product is never stored.
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;
using namespace mlir::qat;

Type MatmulConsumers::getStoredType() const {
  return cast<RankedTensorType>(elementwise->getResult(0).getType())
      .getElementType();
}

namespace {

bool isFloatElement(Type type) {
  return type.isF32() || type.isBF16() || type.isF16();
}

/// Inputs of the product's shape read at the element's own position, and a
/// body of pure scalar code that takes nothing from above but constants (the
/// kernel is isolated from the host function; canonicalization hoists
/// constants out of bodies, and the kernel clones them).
bool readsLikeTheProduct(linalg::GenericOp op, RankedTensorType productType) {
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!type || type.getShape() != productType.getShape() ||
        !isFloatElement(type.getElementType()) ||
        !op.getMatchingIndexingMap(input).isIdentity())
      return false;
  }
  llvm::SetVector<Value> fromAbove;
  getUsedValuesDefinedAbove(op.getRegion(), fromAbove);
  if (!llvm::all_of(fromAbove, [](Value value) {
        return matchPattern(value, m_Constant());
      }))
    return false;
  for (Operation &bodyOp : op.getBody()->without_terminator())
    if (isa<linalg::IndexOp>(bodyOp) || bodyOp.getNumRegions() != 0 ||
        !isMemoryEffectFree(&bodyOp))
      return false;
  return true;
}

bool isElementwiseConsumer(linalg::GenericOp op, RankedTensorType productType) {
  if (op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity() ||
      op.payloadUsesValueFromOperand(op.getDpsInitOperand(0)))
    return false;
  auto type = cast<RankedTensorType>(op.getResult(0).getType());
  return type.getShape() == productType.getShape() &&
         isFloatElement(type.getElementType()) &&
         readsLikeTheProduct(op, productType);
}

/// sum(f(elements)) into a scalar f32: every loop a reduction, and a body
/// that yields `acc + term` (either order) with the accumulator used there
/// only.
bool isSumConsumer(linalg::GenericOp op, RankedTensorType productType) {
  if (op.getNumDpsInits() != 1 || op.getNumReductionLoops() != op.getNumLoops())
    return false;
  OpOperand *init = op.getDpsInitOperand(0);
  auto type = cast<RankedTensorType>(init->get().getType());
  if (type.getRank() != 0 || !type.getElementType().isF32())
    return false;
  BlockArgument acc = op.getMatchingBlockArgument(init);
  auto add = op.getBody()
                 ->getTerminator()
                 ->getOperand(0)
                 .getDefiningOp<arith::AddFOp>();
  if (!add || !acc.hasOneUse() || !(add.getLhs() == acc || add.getRhs() == acc))
    return false;
  return readsLikeTheProduct(op, productType);
}

} // namespace

std::optional<MatmulConsumers> mlir::qat::matchFusedConsumers(MatmulOp op) {
  RankedTensorType productType = op.getType();
  if (!productType.hasStaticShape())
    return std::nullopt;
  MatmulConsumers consumers;
  consumers.product = op.getResult();
  for (Operation *user : op->getUsers()) {
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || generic->getBlock() != op->getBlock())
      return std::nullopt;
    if (isElementwiseConsumer(generic, productType) &&
        (!consumers.elementwise || consumers.elementwise == generic)) {
      consumers.elementwise = generic;
    } else if (isSumConsumer(generic, productType) &&
               (!consumers.sum || consumers.sum == generic)) {
      consumers.sum = generic;
    } else {
      return std::nullopt;
    }
  }
  if (!consumers.elementwise)
    return std::nullopt;
  DominanceInfo dominance(op->getParentOp());
  for (linalg::GenericOp generic : {consumers.elementwise, consumers.sum}) {
    if (!generic)
      continue;
    for (Value input : generic.getDpsInputs()) {
      if (input == consumers.product ||
          llvm::is_contained(consumers.inputs, input))
        continue;
      // The launch replaces the qat.matmul where it is.
      if (!dominance.properlyDominates(input, op))
        return std::nullopt;
      consumers.inputs.push_back(input);
    }
  }
  return consumers;
}
