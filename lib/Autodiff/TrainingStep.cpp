//===- TrainingStep.cpp - Forward, gradients and an optimizer update ------===//
//
// qat-training-step: calls the function qat-differentiate generates and
// updates each parameter with one elementwise linalg.generic that also
// returns the optimizer's new state, so that the step is one function a
// training loop calls with its parameters and state and gets them back.
//
//===----------------------------------------------------------------------===//

#include "qat/Autodiff/AutoDiffOpInterface.h"
#include "qat/Autodiff/Passes.h"
#include "qat/Transforms/OptionCheckedPass.h"

#include "mlir/IR/SymbolTable.h"

#include "llvm/Support/Format.h"

#include <cmath>

namespace mlir::qat {
#define GEN_PASS_DEF_TRAININGSTEP
#include "qat/Autodiff/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

namespace {

/// `value` (an f32 scalar) converted to `type`.
Value castScalar(OpBuilder &b, Location loc, Value value, FloatType type) {
  unsigned from = value.getType().getIntOrFloatBitWidth();
  if (from == type.getWidth())
    return value;
  if (from < type.getWidth())
    return arith::ExtFOp::create(b, loc, type, value);
  return arith::TruncFOp::create(b, loc, type, value);
}

struct TrainingStepPass
    : OptionCheckedPass<TrainingStepPass,
                        mlir::qat::impl::TrainingStepBase<TrainingStepPass>> {
  using OptionCheckedPass::OptionCheckedPass;

  LogicalResult buildStep(func::FuncOp func, ArrayRef<unsigned> wrt);

  /// The ranges PyTorch's SGD and AdamW accept, finite values only; empty
  /// when the options are valid.
  std::string checkOptions() const {
    if (optimizer != "sgd" && optimizer != "adamw")
      return "unknown optimizer '" + optimizer + "' (expected sgd or adamw)";
    auto check = [](StringRef name, double value, bool belowOne) {
      if (std::isfinite(value) && value >= 0.0 && (!belowOne || value < 1.0))
        return std::string();
      std::string text;
      llvm::raw_string_ostream(text)
          << name << "=" << llvm::format("%g", value) << " must be "
          << (belowOne ? "in [0, 1)" : "finite and >= 0");
      return text;
    };
    for (std::string error :
         {check("momentum", momentum, false),
          check("weight-decay", weightDecay, false),
          check("beta1", beta1, true), check("beta2", beta2, true),
          check("epsilon", epsilon, false)})
      if (!error.empty())
        return error;
    return "";
  }

  void runOnOperation() override {
    if (!hasValidOptions())
      return signalPassFailure();
    FailureOr<SmallVector<func::FuncOp>> selected = selectTrainableFunctions(
        getOperation(), functions, "qat-training-step");
    if (failed(selected))
      return signalPassFailure();
    for (func::FuncOp func : *selected) {
      SmallVector<unsigned> indices(wrt.begin(), wrt.end());
      if (indices.empty())
        indices = getTrainableArguments(func);
      if (failed(buildStep(func, indices)))
        return signalPassFailure();
    }
  }
};

LogicalResult TrainingStepPass::buildStep(func::FuncOp func,
                                          ArrayRef<unsigned> wrt) {
  auto module = func->getParentOfType<ModuleOp>();
  std::string stepName = (func.getSymName() + suffix).str();
  if (SymbolTable::lookupSymbolIn(module, stepName))
    return func.emitOpError("cannot add '")
           << stepName << "': a symbol of that name exists";
  for (unsigned index : wrt)
    if (index < func.getNumArguments() &&
        !isa<RankedTensorType>(func.getArgument(index).getType()))
      return func.emitOpError("parameter #")
             << index << " is not a tensor; qat-training-step updates "
             << "tensors";

  // The gradient function: reuse the one qat-differentiate made, if any.
  std::string gradName = (func.getSymName() + "_grad").str();
  auto grad = module.lookupSymbol<func::FuncOp>(gradName);
  if (!grad) {
    FailureOr<func::FuncOp> made = differentiateFunction(func, wrt, gradName);
    if (failed(made))
      return failure();
    grad = *made;
  } else if (grad.getNumResults() != wrt.size() + 1 ||
             grad.getArgumentTypes() != func.getArgumentTypes()) {
    return grad.emitOpError("is not the gradient function of '")
           << func.getSymName() << "' for the selected parameters";
  }

  bool adamw = optimizer == "adamw";
  bool sgdMomentum = !adamw && momentum != 0.0;
  unsigned numParams = wrt.size();
  unsigned statesPerParam = adamw ? 2 : (sgdMomentum ? 1 : 0);

  OpBuilder b(grad);
  b.setInsertionPointAfter(grad);
  Location loc = func.getLoc();
  Type f32 = b.getF32Type();
  SmallVector<Type> argTypes(func.getArgumentTypes());
  SmallVector<Type> paramTypes;
  for (unsigned index : wrt)
    paramTypes.push_back(func.getArgument(index).getType());
  for (unsigned s = 0; s < statesPerParam; ++s)
    llvm::append_range(argTypes, paramTypes);
  if (adamw)
    argTypes.push_back(f32); // t
  argTypes.push_back(f32);   // lr
  SmallVector<Type> resultTypes = {func.getResultTypes()[0]};
  for (unsigned s = 0; s < statesPerParam + 1; ++s)
    llvm::append_range(resultTypes, paramTypes);

  auto step = func::FuncOp::create(b, loc, stepName,
                                   b.getFunctionType(argTypes, resultTypes));
  step.setVisibility(func.getVisibility());
  Block *block = step.addEntryBlock();
  b.setInsertionPointToStart(block);
  unsigned numArgs = func.getNumArguments();
  ValueRange args = block->getArguments();
  auto call = func::CallOp::create(b, loc, grad, args.take_front(numArgs));
  Value lr = args.back();
  Value t = adamw ? args[args.size() - 2] : Value();

  // AdamW's bias corrections are scalars of the step: 1 - beta^t.
  Value correction1, correction2;
  if (adamw) {
    Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
    auto corr = [&](double beta) {
      Value base = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(beta));
      return arith::SubFOp::create(b, loc, one,
                                   math::PowFOp::create(b, loc, base, t));
    };
    correction1 = corr(beta1);
    correction2 = corr(beta2);
  }

  SmallVector<Value> newParams, newStates[2];
  for (unsigned i = 0; i < numParams; ++i) {
    Value param = args[wrt[i]];
    Value gradient = call.getResult(i + 1);
    auto type = cast<RankedTensorType>(param.getType());
    auto elementType = cast<FloatType>(type.getElementType());
    SmallVector<Value> ins = {param, gradient};
    for (unsigned s = 0; s < statesPerParam; ++s)
      ins.push_back(args[numArgs + s * numParams + i]);
    SmallVector<Value> outs;
    for (unsigned s = 0; s < statesPerParam + 1; ++s)
      outs.push_back(
          tensor::EmptyOp::create(b, loc, type.getShape(), elementType));
    Value lrT = castScalar(b, loc, lr, elementType);
    Value c1 = adamw ? castScalar(b, loc, correction1, elementType) : Value();
    Value c2 = adamw ? castScalar(b, loc, correction2, elementType) : Value();
    SmallVector<AffineMap> maps(ins.size() + outs.size(),
                                b.getMultiDimIdentityMap(type.getRank()));
    SmallVector<utils::IteratorType> iterators(type.getRank(),
                                               utils::IteratorType::parallel);
    auto update = linalg::GenericOp::create(
        b, loc, TypeRange(SmallVector<Type>(outs.size(), type)), ins, outs,
        maps, iterators, "", "", [&](OpBuilder &nb, Location l, ValueRange v) {
          auto cst = [&](double x) -> Value {
            return arith::ConstantOp::create(nb, l,
                                             nb.getFloatAttr(elementType, x));
          };
          auto add = [&](Value x, Value y) -> Value {
            return arith::AddFOp::create(nb, l, x, y);
          };
          auto mul = [&](Value x, Value y) -> Value {
            return arith::MulFOp::create(nb, l, x, y);
          };
          auto sub = [&](Value x, Value y) -> Value {
            return arith::SubFOp::create(nb, l, x, y);
          };
          Value p = v[0], g = v[1];
          if (!adamw) {
            // PyTorch's SGD: g += wd p; buf = mu buf + g; p -= lr buf.
            if (weightDecay != 0.0)
              g = add(g, mul(cst(weightDecay), p));
            Value direction = g;
            SmallVector<Value> yields;
            if (sgdMomentum)
              direction = add(mul(cst(momentum), v[2]), g);
            yields.push_back(sub(p, mul(lrT, direction)));
            if (sgdMomentum)
              yields.push_back(direction);
            linalg::YieldOp::create(nb, l, yields);
            return;
          }
          // PyTorch's AdamW, in its order of operations.
          Value m = v[2], s = v[3];
          if (weightDecay != 0.0)
            p = mul(p, sub(cst(1.0), mul(lrT, cst(weightDecay))));
          Value m1 = add(mul(m, cst(beta1)), mul(g, cst(1.0 - beta1)));
          Value s1 = add(mul(s, cst(beta2)), mul(mul(g, g), cst(1.0 - beta2)));
          Value stepSize = arith::DivFOp::create(nb, l, lrT, c1);
          Value denom =
              add(arith::DivFOp::create(nb, l, math::SqrtOp::create(nb, l, s1),
                                        math::SqrtOp::create(nb, l, c2)),
                  cst(epsilon));
          Value pNew =
              sub(p, mul(stepSize, arith::DivFOp::create(nb, l, m1, denom)));
          linalg::YieldOp::create(nb, l, ValueRange{pNew, m1, s1});
        });
    newParams.push_back(update.getResult(0));
    for (unsigned s = 0; s < statesPerParam; ++s)
      newStates[s].push_back(update.getResult(s + 1));
  }
  SmallVector<Value> results = {call.getResult(0)};
  llvm::append_range(results, newParams);
  for (unsigned s = 0; s < statesPerParam; ++s)
    llvm::append_range(results, newStates[s]);
  func::ReturnOp::create(b, loc, results);
  return success();
}

} // namespace
