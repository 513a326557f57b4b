//===- LinalgAutoDiff.cpp - Reverse rule of linalg structured ops ---------===//
//
// One rule for every linalg structured op on tensors (generic and the named
// ops: matmul in any indexing-map form, batch_matmul, fill, copy, transpose,
// broadcast, reduce, map, the elementwise ops), read through the LinalgOp
// interface: indexing maps, iterator types and the scalar body.
//
// For each active operand x (indexing map M_x, a projected permutation) the
// rule builds one backward linalg.generic over the same loops: the loops in
// M_x are parallel, the others reductions that sum x's contributions. Its
// body clones the forward body (recomputing the cheap scalar chain instead of
// saving it), then runs the scalar ops' reverse rules backwards from the
// yielded values, seeded with the result adjoints, and accumulates the
// adjoint of x's block argument.
//
// Reductions must combine their accumulator with one addf (sum) or one
// max/min: in the backward body the accumulator is replaced by the forward
// result, so that the gradient of a sum is the result adjoint and that of a
// max or min goes to the elements equal to the result.
//
//===----------------------------------------------------------------------===//

#include "ExternalModels.h"

#include "qat/Autodiff/AutoDiffOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::qat;

namespace {

/// Adjoints of the scalar values of one backward body.
class BodyState : public AdjointState {
public:
  BodyState(AdjointState &parent, Operation *linalgOp,
            llvm::SmallPtrSetImpl<Value> &varied)
      : parent(parent), linalgOp(linalgOp), varied(varied) {}

  Value getAdjoint(Value value) override { return adjoints.lookup(value); }
  bool isActive(Value value) override { return varied.contains(value); }
  void addAdjoint(OpBuilder &builder, Value value,
                  Value contribution) override {
    if (!isActive(value))
      return;
    Value &slot = adjoints[value];
    slot = slot ? createAdd(builder, value.getLoc(), slot, contribution)
                : contribution;
  }
  LogicalResult refuse(Operation *op, const Twine &reason) override {
    return parent.refuse(linalgOp, "cannot differentiate '" +
                                       op->getName().getStringRef() +
                                       "' in its body: " + reason);
  }

private:
  AdjointState &parent;
  Operation *linalgOp;
  llvm::SmallPtrSetImpl<Value> &varied;
  DenseMap<Value, Value> adjoints;
};

bool isCombiner(Operation *op) {
  return isa<arith::AddFOp, arith::MaximumFOp, arith::MaxNumFOp,
             arith::MinimumFOp, arith::MinNumFOp>(op);
}

/// The gradient of operand `p` (A or B) of a linalg.matmul as another
/// linalg.matmul, so that a training step's weight gradients stay named
/// contractions (which the GPU pipeline maps to tensor cores); null where
/// the generic rule must build it (broadcast maps, mixed element types).
/// With e0, e1 the dimensions of the operand's layout and e2 the one it
/// lacks, the new matmul writes (e0, e1) from the other operand and dC.
Value buildMatmulOperandGradient(OpBuilder &b, Location loc,
                                 linalg::MatmulOp op, unsigned p,
                                 Value resultAdjoint) {
  if (p > 1)
    return {};
  Type elementType = getElementTypeOrSelf(resultAdjoint.getType());
  for (Value operand : op->getOperands())
    if (getElementTypeOrSelf(operand.getType()) != elementType)
      return {};
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap map : maps)
    if (map.getNumDims() != 3 || map.getNumResults() != 2 ||
        !map.isProjectedPermutation())
      return {};
  MLIRContext *ctx = b.getContext();
  unsigned first = maps[p].getDimPosition(0);
  unsigned second = maps[p].getDimPosition(1);
  SmallVector<AffineExpr> renamed(3);
  renamed[first] = getAffineDimExpr(0, ctx);
  renamed[second] = getAffineDimExpr(1, ctx);
  renamed[3 - first - second] = getAffineDimExpr(2, ctx);
  auto rename = [&](AffineMap map) {
    return map.replaceDimsAndSymbols(renamed, {}, 3, 0);
  };
  Value other = op->getOperand(1 - p);
  AffineMap otherMap = rename(maps[1 - p]);
  AffineMap adjointMap = rename(maps[2]);
  // The new lhs spans (e0, e2), the new rhs (e2, e1).
  bool otherIsLhs = otherMap.isFunctionOfDim(0);
  Value lhs = otherIsLhs ? other : resultAdjoint;
  Value rhs = otherIsLhs ? resultAdjoint : other;
  AffineMap lhsMap = otherIsLhs ? otherMap : adjointMap;
  AffineMap rhsMap = otherIsLhs ? adjointMap : otherMap;
  Value zeros = createFloatConstant(b, loc, op->getOperand(p).getType(), 0.0);
  auto matmul =
      linalg::MatmulOp::create(b, loc, ValueRange{lhs, rhs}, ValueRange{zeros});
  matmul.setIndexingMapsAttr(b.getAffineMapArrayAttr(
      {lhsMap, rhsMap,
       AffineMap::get(3, 0, {renamed[first], renamed[second]}, ctx)}));
  return matmul.getResult(0);
}

LogicalResult reverseLinalgOp(linalg::LinalgOp op, OpBuilder &b,
                              AdjointState &state) {
  Operation *operation = op.getOperation();
  Location loc = op.getLoc();
  if (!op.hasPureTensorSemantics())
    return state.refuse(operation, "works on buffers, not tensors");

  unsigned numInputs = op.getNumDpsInputs();
  unsigned numInits = op.getNumDpsInits();
  SmallVector<Value> resultAdjoints;
  bool anyAdjoint = false;
  for (OpResult result : operation->getResults()) {
    Value adjoint = state.getAdjoint(result);
    anyAdjoint |= static_cast<bool>(adjoint);
    resultAdjoints.push_back(adjoint);
  }
  if (!anyAdjoint)
    return success();
  for (auto [result, adjoint] :
       llvm::zip(operation->getResults(), resultAdjoints)) {
    if (!isDifferentiableType(result.getType()))
      return state.refuse(operation, "has a result that is not a float "
                                     "tensor");
    if (!adjoint)
      adjoint = createFloatConstant(b, loc, result.getType(), 0.0);
  }

  Block &body = *op.getBlock();
  Operation *yield = body.getTerminator();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  bool reduces = op.getNumReductionLoops() > 0;

  // Values from above that the body reads would need gradients too.
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(operation->getRegion(0), captured);
  for (Value value : captured)
    if (state.isActive(value))
      return state.refuse(operation,
                          "reads a differentiated value defined outside its "
                          "body; pass it as an input");

  // A reduction's accumulator must feed exactly one combiner whose result is
  // yielded.
  SmallVector<Operation *> combiners(numInits, nullptr);
  if (reduces) {
    for (unsigned j = 0; j < numInits; ++j) {
      BlockArgument acc = body.getArgument(numInputs + j);
      Operation *user = acc.hasOneUse() ? *acc.getUsers().begin() : nullptr;
      if (!user || !isCombiner(user) ||
          user->getOperand(0) == user->getOperand(1) ||
          !user->getResult(0).hasOneUse() ||
          yield->getOperand(j) != user->getResult(0))
        return state.refuse(operation,
                            "reduction #" + Twine(j) +
                                " is not a sum, max or min of its "
                                "accumulator (addf, maximumf, maxnumf, "
                                "minimumf, minnumf)");
      combiners[j] = user;
      Value init = op.getDpsInits()[j];
      if (state.isActive(init)) {
        if (!isa<arith::AddFOp>(user))
          return state.refuse(operation, "initial value of a max or min "
                                         "reduction needs a gradient");
        state.addAdjoint(b, init, resultAdjoints[j]);
      }
    }
  }

  // The backward generics read the forward inputs that the body uses, the
  // forward results where a max or min reduction compares with them, the
  // inits that a parallel op reads, and the result adjoints. `position`
  // maps each of those (forward operand k, adjoint numInputs + numInits + j)
  // to its block argument in the backward body.
  SmallVector<Value> operands;
  SmallVector<AffineMap> operandMaps;
  SmallVector<int> position(numInputs + 2 * numInits, -1);
  auto addOperand = [&](unsigned k, Value value, AffineMap map) {
    position[k] = operands.size();
    operands.push_back(value);
    operandMaps.push_back(map);
  };
  for (unsigned k = 0; k < numInputs + numInits; ++k) {
    if (body.getArgument(k).use_empty())
      continue;
    if (k < numInputs || !reduces)
      addOperand(k, operation->getOperand(k), maps[k]);
    else if (!isa<arith::AddFOp>(combiners[k - numInputs]))
      addOperand(k, operation->getResult(k - numInputs), maps[k]);
  }
  for (unsigned j = 0; j < numInits; ++j)
    addOperand(numInputs + numInits + j, resultAdjoints[j],
               maps[numInputs + j]);

  unsigned numDifferentiable = reduces ? numInputs : numInputs + numInits;
  for (unsigned p = 0; p < numDifferentiable; ++p) {
    Value x = operation->getOperand(p);
    if (!state.isActive(x))
      continue;
    BlockArgument xArg = body.getArgument(p);
    if (xArg.use_empty())
      continue;
    AffineMap xMap = maps[p];
    if (!xMap.isProjectedPermutation())
      return state.refuse(operation, "indexes operand #" + Twine(p) +
                                         " with a map that is not a projected "
                                         "permutation");

    if (auto matmul = dyn_cast<linalg::MatmulOp>(operation)) {
      if (Value grad = buildMatmulOperandGradient(b, loc, matmul, p,
                                                  resultAdjoints[0])) {
        state.addAdjoint(b, x, grad);
        continue;
      }
    }

    SmallVector<utils::IteratorType> backwardIterators(
        iterators.size(), utils::IteratorType::reduction);
    for (AffineExpr expr : xMap.getResults())
      backwardIterators[cast<AffineDimExpr>(expr).getPosition()] =
          utils::IteratorType::parallel;

    auto xTensor = dyn_cast<RankedTensorType>(x.getType());
    auto accType = xTensor ? xTensor : RankedTensorType::get({}, x.getType());
    // Only a backward op that sums over loops reads its output; one that
    // does not writes it without reading, so that it stays an ordinary
    // elementwise op (linalg's elementwise fusion would otherwise fuse an op
    // reading its zero-filled output into a consumer's loops, where that
    // output is read and written at every iteration).
    bool sums =
        llvm::is_contained(backwardIterators, utils::IteratorType::reduction);
    Value accInit = sums ? createFloatConstant(b, loc, accType, 0.0)
                         : tensor::EmptyOp::create(b, loc, accType.getShape(),
                                                   accType.getElementType())
                               .getResult();
    SmallVector<AffineMap> backwardMaps(operandMaps);
    backwardMaps.push_back(xMap);

    LogicalResult bodyResult = success();
    auto buildBody = [&](OpBuilder &nb, Location bodyLoc, ValueRange args) {
      auto arg = [&](unsigned k) { return args[position[k]]; };
      IRMapping mapping;
      for (unsigned k = 0; k < numInputs + numInits; ++k)
        if (position[k] >= 0)
          mapping.map(body.getArgument(k), arg(k));
        else if (reduces && k >= numInputs)
          // The accumulator of a sum: only its combiner reads it, and the
          // copy of that combiner is erased below.
          mapping.map(body.getArgument(k), arg(k + numInits));
      SmallVector<Operation *> cloned;
      DenseMap<Operation *, Operation *> clonedCombiner;
      for (Operation &bodyOp : body.without_terminator()) {
        Operation *copy = nb.clone(bodyOp, mapping);
        cloned.push_back(copy);
        if (llvm::is_contained(combiners, &bodyOp))
          clonedCombiner[&bodyOp] = copy;
      }
      auto lookup = [&](Value v) { return mapping.lookupOrDefault(v); };

      // Scalars that depend on x inside the body.
      llvm::SmallPtrSet<Value, 16> varied;
      varied.insert(arg(p));
      for (Operation *copy : cloned)
        if (llvm::any_of(copy->getOperands(),
                         [&](Value v) { return varied.contains(v); }))
          for (Value r : copy->getResults())
            if (isDifferentiableType(r.getType()))
              varied.insert(r);

      BodyState bodyState(state, operation, varied);
      Value zero;
      for (unsigned j = 0; j < numInits; ++j) {
        Value adjoint = arg(numInputs + numInits + j);
        if (!reduces) {
          bodyState.addAdjoint(nb, lookup(yield->getOperand(j)), adjoint);
          continue;
        }
        Operation *combiner = combiners[j];
        Value acc = body.getArgument(numInputs + j);
        Value v = combiner->getOperand(0) == acc ? combiner->getOperand(1)
                                                 : combiner->getOperand(0);
        if (!isa<arith::AddFOp>(combiner)) {
          if (!zero)
            zero = createFloatConstant(nb, bodyLoc, adjoint.getType(), 0.0);
          Value isExtremum =
              arith::CmpFOp::create(nb, bodyLoc, arith::CmpFPredicate::OEQ,
                                    lookup(v), arg(numInputs + j));
          adjoint =
              arith::SelectOp::create(nb, bodyLoc, isExtremum, adjoint, zero);
        }
        bodyState.addAdjoint(nb, lookup(v), adjoint);
      }

      for (Operation *copy : llvm::reverse(cloned)) {
        if (llvm::is_contained(llvm::make_second_range(clonedCombiner), copy))
          continue;
        if (llvm::none_of(copy->getResults(),
                          [&](Value r) { return bodyState.getAdjoint(r); }))
          continue;
        auto iface = dyn_cast<AutoDiffOpInterface>(copy);
        if (!iface) {
          bodyResult = bodyState.refuse(copy, "no reverse rule");
          break;
        }
        if (failed(iface.reverse(nb, bodyState))) {
          bodyResult = failure();
          break;
        }
      }
      for (auto [orig, copy] : clonedCombiner)
        if (copy->use_empty())
          copy->erase();

      Value dx = bodyState.getAdjoint(arg(p));
      Value out;
      if (sums)
        out = dx ? createAdd(nb, bodyLoc, args.back(), dx) : args.back();
      else
        out = dx ? dx
                 : createFloatConstant(nb, bodyLoc, accType.getElementType(),
                                       0.0);
      linalg::YieldOp::create(nb, bodyLoc, out);
    };
    auto backward = linalg::GenericOp::create(
        b, loc, TypeRange{accType}, operands, ValueRange{accInit}, backwardMaps,
        backwardIterators, /*doc=*/"", /*libraryCall=*/"", buildBody);
    if (failed(bodyResult)) {
      backward.erase();
      return failure();
    }
    Value grad = backward.getResult(0);
    if (!xTensor)
      grad = tensor::ExtractOp::create(b, loc, grad, ValueRange{});
    state.addAdjoint(b, x, grad);
  }
  return success();
}

template <typename OpTy>
struct LinalgReverse
    : public AutoDiffOpInterface::ExternalModel<LinalgReverse<OpTy>, OpTy> {
  LogicalResult reverse(Operation *op, OpBuilder &builder,
                        AdjointState &state) const {
    return reverseLinalgOp(cast<linalg::LinalgOp>(op), builder, state);
  }
};

template <typename... OpTys> void attach(MLIRContext *ctx) {
  (OpTys::template attachInterface<LinalgReverse<OpTys>>(*ctx), ...);
}

} // namespace

void mlir::qat::registerLinalgAutoDiffModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    using namespace linalg;
    attach<GenericOp, MapOp, ReduceOp, TransposeOp, BroadcastOp, FillOp, CopyOp,
           ElementwiseOp, MatmulOp, BatchMatmulOp, BatchReduceMatmulOp,
           ContractOp, MatvecOp, VecmatOp, BatchMatvecOp, BatchVecmatOp, DotOp,
           AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowFOp, ExpOp, LogOp,
           AbsOp, NegFOp, SqrtOp, RsqrtOp, SquareOp, TanhOp, ErfOp,
           ReciprocalOp, SelectOp>(ctx);
  });
}
