//===- Differentiate.cpp - Reverse-mode automatic differentiation ---------===//
//
// The driver of qat-differentiate: it clones the loss function, finds the
// active values (those that depend on a differentiated argument and that the
// loss depends on), then walks the ops backwards from the loss and lets each
// op's AutoDiffOpInterface rule turn its result adjoints into operand
// adjoints. The function is single-block SSA on tensors, so a forward value
// that the backward reads is simply used again: nothing needs to be stored.
//
//===----------------------------------------------------------------------===//

#include "qat/Autodiff/AutoDiffOpInterface.h"
#include "qat/Autodiff/Passes.h"
#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::qat {
#define GEN_PASS_DEF_DIFFERENTIATE
#include "qat/Autodiff/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

SmallVector<unsigned> mlir::qat::getTrainableArguments(func::FuncOp func) {
  SmallVector<unsigned> indices;
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    if (func.getArgAttr(i, "qat.param") || func.getArgAttr(i, "qat.step"))
      indices.push_back(i);
  return indices;
}

FailureOr<SmallVector<func::FuncOp>> mlir::qat::selectTrainableFunctions(
    ModuleOp module, ArrayRef<std::string> names, StringRef passName) {
  SmallVector<func::FuncOp> selected;
  for (const std::string &name : names) {
    auto func = module.lookupSymbol<func::FuncOp>(name);
    if (!func)
      return module.emitError(passName)
             << ": no function named '" << name << "'";
    selected.push_back(func);
  }
  if (names.empty())
    for (auto func : module.getOps<func::FuncOp>())
      if (!getTrainableArguments(func).empty())
        selected.push_back(func);
  return selected;
}

namespace {

/// Values that carry adjoints: floats, tensors of floats, and the codes of
/// qat.quantize (whose adjoint is the gradient w.r.t. their dequantized
/// values).
bool carriesAdjoint(Value value) {
  return isDifferentiableType(value.getType()) ||
         isa_and_nonnull<QuantizeOp>(value.getDefiningOp());
}

/// The operands of `op` and the values its regions read from above.
SmallVector<Value> getInputs(Operation *op) {
  SmallVector<Value> inputs(op->getOperands());
  if (op->getNumRegions()) {
    llvm::SetVector<Value> captured;
    for (Region &region : op->getRegions())
      getUsedValuesDefinedAbove(region, captured);
    llvm::append_range(inputs, captured);
  }
  return inputs;
}

class FunctionState : public AdjointState {
public:
  FunctionState(func::FuncOp func, ArrayRef<unsigned> wrt) : wrt(wrt) {
    Block &block = func.getBody().front();
    // Forward: which differentiated arguments each value depends on.
    for (auto [i, index] : llvm::enumerate(wrt)) {
      llvm::BitVector mask(wrt.size());
      mask.set(i);
      dependsOn[block.getArgument(index)] |= mask;
    }
    for (Operation &op : block) {
      llvm::BitVector mask(wrt.size());
      for (Value input : getInputs(&op)) {
        auto it = dependsOn.find(input);
        if (it != dependsOn.end())
          mask |= it->second;
      }
      if (mask.none())
        continue;
      opDependsOn[&op] = mask;
      for (Value result : op.getResults())
        if (carriesAdjoint(result))
          dependsOn[result] = mask;
    }
    // Backward: which values the loss depends on.
    llvm::DenseSet<Value> useful;
    useful.insert(block.getTerminator()->getOperand(0));
    for (Operation &op : llvm::reverse(block.without_terminator())) {
      if (llvm::none_of(op.getResults(),
                        [&](Value r) { return useful.contains(r); }))
        continue;
      for (Value input : getInputs(&op))
        useful.insert(input);
    }
    for (auto &[value, mask] : dependsOn)
      if (useful.contains(value) && carriesAdjoint(value))
        active.insert(value);
  }

  Value getAdjoint(Value value) override { return adjoints.lookup(value); }
  bool isActive(Value value) override { return active.contains(value); }
  void addAdjoint(OpBuilder &builder, Value value,
                  Value contribution) override {
    if (!isActive(value))
      return;
    Value &slot = adjoints[value];
    slot = slot ? createAdd(builder, value.getLoc(), slot, contribution)
                : contribution;
  }
  LogicalResult refuse(Operation *op, const Twine &reason) override {
    InFlightDiagnostic diag = op->emitOpError() << reason;
    auto it = opDependsOn.find(op);
    if (it != opDependsOn.end() && it->second.any())
      diag << "; the gradient of argument #" << wrt[it->second.find_first()]
           << " needs it";
    return diag;
  }

private:
  ArrayRef<unsigned> wrt;
  DenseMap<Value, llvm::BitVector> dependsOn;
  DenseMap<Operation *, llvm::BitVector> opDependsOn;
  llvm::DenseSet<Value> active;
  DenseMap<Value, Value> adjoints;
};

bool isScalarLoss(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getRank() == 0 && isa<FloatType>(tensor.getElementType());
  return isa<FloatType>(type);
}

/// Checks what the driver needs of `func` and reports what it lacks.
LogicalResult checkDifferentiable(func::FuncOp func, ArrayRef<unsigned> wrt) {
  if (func.isExternal())
    return func.emitOpError("has no body to differentiate");
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("has ")
           << func.getBody().getBlocks().size()
           << " blocks; qat-differentiate needs one (structured code)";
  if (func.getNumResults() != 1 || !isScalarLoss(func.getResultTypes()[0]))
    return func.emitOpError("must return one scalar loss (a float or a "
                            "rank-0 tensor of floats), got ")
           << func.getFunctionType().getResults();
  if (wrt.empty())
    return func.emitOpError("has no argument to differentiate (mark "
                            "parameters with 'qat.param' or pass 'wrt')");
  for (unsigned index : wrt) {
    if (index >= func.getNumArguments())
      return func.emitOpError("has no argument #")
             << index << " to differentiate";
    Type type = func.getArgument(index).getType();
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!isDifferentiableType(type) || (tensor && !tensor.hasStaticShape()))
      return func.emitOpError("argument #")
             << index << " of type " << type
             << " is not a float or a float tensor of static shape";
  }
  return success();
}

} // namespace

FailureOr<func::FuncOp> mlir::qat::differentiateFunction(func::FuncOp func,
                                                         ArrayRef<unsigned> wrt,
                                                         StringRef name) {
  if (failed(checkDifferentiable(func, wrt)))
    return failure();
  auto module = func->getParentOfType<ModuleOp>();
  if (SymbolTable::lookupSymbolIn(module, name))
    return func.emitOpError("cannot add '")
           << name << "': a symbol of that name exists";

  OpBuilder builder(func);
  builder.setInsertionPointAfter(func);
  auto grad = cast<func::FuncOp>(builder.clone(*func));
  grad.setSymName(name);
  // The generated function is not itself a loss to differentiate.
  for (unsigned i = 0, e = grad.getNumArguments(); i < e; ++i) {
    grad.removeArgAttr(i, "qat.param");
    grad.removeArgAttr(i, "qat.step");
  }

  Block &block = grad.getBody().front();
  Operation *terminator = block.getTerminator();
  Value loss = terminator->getOperand(0);
  FunctionState state(grad, wrt);
  builder.setInsertionPoint(terminator);
  Location loc = terminator->getLoc();
  if (state.isActive(loss))
    state.addAdjoint(builder, loss,
                     createFloatConstant(builder, loc, loss.getType(), 1.0));

  SmallVector<Operation *> forward;
  for (Operation &op : block.without_terminator())
    forward.push_back(&op);
  for (Operation *op : llvm::reverse(forward)) {
    if (llvm::none_of(op->getResults(),
                      [&](Value r) { return state.getAdjoint(r); }))
      continue;
    auto iface = dyn_cast<AutoDiffOpInterface>(op);
    bool elementwiseOnTensors =
        isa_and_nonnull<arith::ArithDialect, math::MathDialect>(
            op->getDialect()) &&
        llvm::any_of(op->getResultTypes(),
                     [](Type t) { return isa<ShapedType>(t); });
    if (elementwiseOnTensors)
      (void)state.refuse(op, "works on tensors; run "
                             "convert-elementwise-to-linalg first");
    else if (!iface)
      (void)state.refuse(op, "has no reverse rule (AutoDiffOpInterface)");
    if (elementwiseOnTensors || !iface ||
        failed(iface.reverse(builder, state))) {
      grad.erase();
      return failure();
    }
  }

  SmallVector<Value> results = {loss};
  for (unsigned index : wrt) {
    Value arg = block.getArgument(index);
    Value adjoint = state.getAdjoint(arg);
    results.push_back(
        adjoint ? adjoint
                : createFloatConstant(builder, loc, arg.getType(), 0.0));
  }
  terminator->setOperands(results);
  grad.setFunctionType(builder.getFunctionType(grad.getArgumentTypes(),
                                               ValueRange(results).getTypes()));

  // The backward generics read every operand of their forward op and
  // recompute its whole body; drop what a given gradient does not use.
  MLIRContext *ctx = grad.getContext();
  RewritePatternSet patterns(ctx);
  linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsGreedily(grad, std::move(patterns));
  return grad;
}

namespace {

struct DifferentiatePass
    : public mlir::qat::impl::DifferentiateBase<DifferentiatePass> {
  using DifferentiateBase::DifferentiateBase;

  void runOnOperation() override {
    FailureOr<SmallVector<func::FuncOp>> selected = selectTrainableFunctions(
        getOperation(), functions, "qat-differentiate");
    if (failed(selected))
      return signalPassFailure();
    for (func::FuncOp func : *selected) {
      SmallVector<unsigned> indices(wrt.begin(), wrt.end());
      if (indices.empty())
        indices = getTrainableArguments(func);
      if (failed(differentiateFunction(func, indices,
                                       (func.getSymName() + suffix).str())))
        return signalPassFailure();
    }
  }
};

} // namespace
