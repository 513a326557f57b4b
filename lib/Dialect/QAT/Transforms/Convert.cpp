//===- Convert.cpp - qat-convert: inference on packed weights ---*- C++ -*-===//
//
// From a quantized training forward, an inference function whose quantized
// weights arrive as integer codes and steps, and the function that packs
// them once from the trained weights.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/IR/QATOps.h"
#include "qat/Dialect/QAT/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Iterators.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::qat {
#define GEN_PASS_DEF_QATCONVERT
#include "qat/Dialect/QAT/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

namespace {

/// A quantizer of a weight in the training forward: a qat.quantize (QuEST,
/// codes into qat.matmul) or a qat.fake_quant (StableQAT, int-N) whose input
/// is computed from `qat.param` arguments only.
struct WeightQuantizer {
  Operation *op;
  Value input, scale;
  QuantizerAttr quantizer;
  /// Codes as the inference function receives them.
  RankedTensorType codesType;
  bool packed;
};

static bool hasArgAttr(BlockArgument arg, StringRef name) {
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  return func && func.getArgAttr(arg.getArgNumber(), name);
}

/// The function arguments `v` is computed from through pure ops; failure if
/// it depends on an op with side effects or a non-entry block argument.
static LogicalResult collectArguments(Value v,
                                      llvm::SetVector<BlockArgument> &args,
                                      DenseSet<Value> &seen) {
  if (!seen.insert(v).second)
    return success();
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (!isa<func::FuncOp>(arg.getOwner()->getParentOp()))
      return failure();
    args.insert(arg);
    return success();
  }
  Operation *def = v.getDefiningOp();
  if (!isPure(def))
    return failure();
  for (Value operand : def->getOperands())
    if (failed(collectArguments(operand, args, seen)))
      return failure();
  // Values that regions capture from above count too (linalg bodies read
  // constants this way).
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(def->getRegions(), captured);
  for (Value c : captured)
    if (failed(collectArguments(c, args, seen)))
      return failure();
  return success();
}

/// Whether `v` is computed from `qat.param` arguments (at least one) and
/// `qat.step` arguments only.
static bool isWeightValue(Value v) {
  llvm::SetVector<BlockArgument> args;
  DenseSet<Value> seen;
  if (failed(collectArguments(v, args, seen)))
    return false;
  bool anyParam = false;
  for (BlockArgument arg : args) {
    if (hasArgAttr(arg, QATDialect::kParamAttrName))
      anyParam = true;
    else if (!hasArgAttr(arg, QATDialect::kStepAttrName))
      return false;
  }
  return anyParam;
}

static RankedTensorType codesTypeFor(Value input, QuantizerAttr q,
                                     bool &packed) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(type.getShape());
  packed = q.getCodeBits() <= 4 && shape.back() % 2 == 0;
  if (packed)
    shape.back() /= 2;
  return RankedTensorType::get(shape, IntegerType::get(input.getContext(), 8));
}

/// Clones what `v` is computed from into the builder's block, with the
/// function arguments given by `mapping`. isWeightValue established that
/// only pure ops and the mapped parameter and step arguments are reached.
static Value cloneFrom(OpBuilder &b, IRMapping &mapping, Value v) {
  if (Value mapped = mapping.lookupOrNull(v))
    return mapped;
  Operation *def = v.getDefiningOp();
  for (Value operand : def->getOperands())
    (void)cloneFrom(b, mapping, operand);
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(def->getRegions(), captured);
  for (Value c : captured)
    (void)cloneFrom(b, mapping, c);
  Operation *clone = b.clone(*def, mapping);
  return clone->getResult(cast<OpResult>(v).getResultNumber());
}

struct QATConvertPass : qat::impl::QATConvertBase<QATConvertPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isDeclaration())
        continue;
      if (!function.empty()
              ? func.getName() == function
              : llvm::any_of(func.getArguments(), [](auto arg) {
                  return hasArgAttr(arg, QATDialect::kParamAttrName);
                }))
        funcs.push_back(func);
    }
    if (!function.empty() && funcs.empty()) {
      module.emitError() << "qat-convert: no function @" << function
                         << " in the module";
      return signalPassFailure();
    }
    for (func::FuncOp func : funcs)
      if (failed(convert(func)))
        return signalPassFailure();
  }

  LogicalResult convert(func::FuncOp func);
};

} // namespace

LogicalResult QATConvertPass::convert(func::FuncOp func) {
  SmallVector<WeightQuantizer> weights;
  func.walk([&](Operation *op) {
    Value input, scale;
    QuantizerAttr q;
    if (auto quantize = dyn_cast<QuantizeOp>(op)) {
      input = quantize.getInput();
      scale = quantize.getScale();
      q = quantize.getQuantizer();
    } else if (auto fq = dyn_cast<FakeQuantOp>(op)) {
      input = fq.getInput();
      scale = fq.getScale();
      q = fq.getQuantizer();
    } else {
      return;
    }
    auto stepArg = dyn_cast<BlockArgument>(scale);
    bool learnedStep =
        stepArg && hasArgAttr(stepArg, QATDialect::kStepAttrName);
    if (!isWeightValue(input) || (!learnedStep && !isWeightValue(scale)))
      return;
    // Deployed weights round to nearest: stochastic rounding is a device of
    // training.
    WeightQuantizer w{op, input, scale, q.withRounding(Rounding::Nearest),
                      {}, false};
    if (auto quantize = dyn_cast<QuantizeOp>(op)) {
      // QuEST's codes go to qat.matmul as they are.
      w.codesType = quantize.getType();
      w.packed = quantize.getPacked();
    } else {
      w.codesType = codesTypeFor(input, q, w.packed);
    }
    weights.push_back(w);
  });
  if (weights.empty())
    return func.emitError()
           << "qat-convert: @" << func.getName()
           << " quantizes no weight (no qat.quantize or qat.fake_quant of a "
              "value computed from qat.param arguments); run qat-quantize "
              "first";

  MLIRContext *ctx = func.getContext();
  OpBuilder b(ctx);
  std::string inferenceName = (func.getName() + "_inference").str();
  std::string packName = (func.getName() + "_pack").str();
  for (StringRef name : {StringRef(inferenceName), StringRef(packName)})
    if (SymbolTable::lookupNearestSymbolFrom(func, b.getStringAttr(name)))
      return func.emitError()
             << "qat-convert would add @" << name << ", which exists already";

  // @<f>_pack(params..., steps...) -> (codes_0, steps_0, codes_1, ...).
  SmallVector<BlockArgument> packInputs;
  for (BlockArgument arg : func.getArguments())
    if (hasArgAttr(arg, QATDialect::kParamAttrName))
      packInputs.push_back(arg);
  for (BlockArgument arg : func.getArguments())
    if (hasArgAttr(arg, QATDialect::kStepAttrName))
      packInputs.push_back(arg);
  SmallVector<Type> packArgTypes, packResultTypes;
  for (BlockArgument arg : packInputs)
    packArgTypes.push_back(arg.getType());
  for (WeightQuantizer &w : weights)
    packResultTypes.append({w.codesType, w.scale.getType()});
  b.setInsertionPointAfter(func);
  Location loc = func.getLoc();
  auto pack = func::FuncOp::create(
      b, loc, packName, b.getFunctionType(packArgTypes, packResultTypes));
  Block *packEntry = pack.addEntryBlock();
  b.setInsertionPointToStart(packEntry);
  IRMapping packMapping;
  for (auto [i, arg] : llvm::enumerate(packInputs)) {
    packMapping.map(arg, packEntry->getArgument(i));
    pack.setArgAttrs(i, func.getArgAttrDict(arg.getArgNumber()));
  }
  SmallVector<Value> packed;
  for (WeightQuantizer &w : weights) {
    Value input = cloneFrom(b, packMapping, w.input);
    Value scale = cloneFrom(b, packMapping, w.scale);
    Value codes = QuantizeOp::create(b, w.op->getLoc(), w.codesType, input,
                                     scale, /*seed=*/Value(), w.quantizer,
                                     w.packed ? b.getUnitAttr() : UnitAttr());
    packed.append({codes, scale});
  }
  func::ReturnOp::create(b, loc, packed);

  // @<f>_inference: the training forward with each weight quantizer's codes
  // and steps as arguments.
  b.setInsertionPointAfter(func);
  IRMapping toInference;
  auto inference = cast<func::FuncOp>(b.clone(*func, toInference));
  inference.setName(inferenceName);
  Block &entry = inference.getBody().front();
  unsigned firstNew = inference.getNumArguments();
  for (WeightQuantizer &w : weights) {
    Operation *op = toInference.lookup(w.op);
    unsigned index = inference.getNumArguments();
    auto codesAttrs = b.getDictionaryAttr(
        b.getNamedAttr(QATDialect::kCodesAttrName, b.getUnitAttr()));
    if (failed(inference.insertArgument(index, w.codesType, codesAttrs,
                                        w.op->getLoc())) ||
        failed(inference.insertArgument(index + 1, w.scale.getType(),
                                        b.getDictionaryAttr({}),
                                        w.op->getLoc())))
      return func.emitError() << "qat-convert could not add arguments";
    Value codes = entry.getArgument(index);
    Value steps = entry.getArgument(index + 1);
    Value scale = op->getOperand(1);
    if (isa<QuantizeOp>(op)) {
      op->getResult(0).replaceAllUsesWith(codes);
    } else {
      b.setInsertionPoint(op);
      Value values = DequantizeOp::create(
          b, op->getLoc(), op->getResult(0).getType(), codes, steps,
          w.quantizer, w.packed ? b.getUnitAttr() : UnitAttr());
      op->getResult(0).replaceAllUsesWith(values);
    }
    // qat.matmul reads the weight's steps too.
    scale.replaceUsesWithIf(
        steps, [&](OpOperand &use) { return isa<MatmulOp>(use.getOwner()); });
  }
  // Inference rounds to nearest everywhere, as the deployed weights do, so
  // that it is deterministic; a seed argument left unused goes.
  llvm::SmallPtrSet<Value, 2> seeds;
  auto roundToNearest = [&](auto op) {
    if (!op.getSeed())
      return;
    seeds.insert(op.getSeed());
    op.getSeedMutable().clear();
    op.setQuantizerAttr(op.getQuantizer().withRounding(Rounding::Nearest));
  };
  inference.walk([&](Operation *op) {
    if (auto quantize = dyn_cast<QuantizeOp>(op))
      roundToNearest(quantize);
    else if (auto fakeQuant = dyn_cast<FakeQuantOp>(op))
      roundToNearest(fakeQuant);
  });
  // What computed the quantized weights in training is dead now.
  for (bool changed = true; changed;) {
    changed = false;
    inference.walk<WalkOrder::PostOrder, ReverseIterator>([&](Operation *op) {
      if (op != inference && isOpTriviallyDead(op)) {
        op->erase();
        changed = true;
      }
    });
  }
  llvm::BitVector unused(inference.getNumArguments());
  for (unsigned i = 0; i < firstNew; ++i) {
    BlockArgument arg = entry.getArgument(i);
    if (arg.use_empty() &&
        (hasArgAttr(arg, QATDialect::kParamAttrName) ||
         hasArgAttr(arg, QATDialect::kStepAttrName) || seeds.contains(arg)))
      unused.set(i);
  }
  if (failed(inference.eraseArguments(unused)))
    return func.emitError() << "qat-convert could not drop the float weights "
                               "and seeds";
  return success();
}
