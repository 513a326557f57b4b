//===- QATDialect.cpp - The qat dialect -------------------------*- C++ -*-===//
//
// Registers the qat operations, attributes and the inliner interface.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qat;

#include "qat/Dialect/QAT/IR/QATDialect.cpp.inc"

namespace {
/// Every qat op is a value computation on tensors without regions, so a
/// call of a function that uses them can be inlined (the training step
/// qat-training-step writes calls its gradient function; the GPU pipeline
/// wants it in one function, docs/training.md).
struct QATInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void QATDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "qat/Dialect/QAT/IR/QATOps.cpp.inc"
      >();
  registerAttributes();
  addInterfaces<QATInlinerInterface>();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

LogicalResult QATDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name == kRecipeAttrName) {
    if (!isa<RecipeAttrInterface>(attr.getValue()))
      return op->emitError() << "'" << name
                             << "' must be a recipe (#qat.quest, "
                                "#qat.stableqat, #qat.intn or "
                                "#qat.keep_float), got "
                             << attr.getValue();
    return success();
  }
  if (name == kEstimatorAttrName) {
    auto quantize = dyn_cast<QuantizeOp>(op);
    if (!quantize)
      return op->emitError()
             << "'" << name << "' belongs on a qat.quantize, not on '"
             << op->getName() << "'";
    auto estimator = dyn_cast<GradientEstimatorAttrInterface>(attr.getValue());
    if (!estimator)
      return op->emitError()
             << "'" << name << "' must be a gradient estimator, got "
             << attr.getValue();
    QuantizerAttr quantizer = quantize.getQuantizer();
    return estimator.verifyForGrid([&] { return op->emitError(); },
                                   quantizer.getGrid(), quantizer.getBits());
  }
  if (name == kParamAttrName || name == kStepAttrName || name == kCodesAttrName)
    return op->emitError() << "'" << name
                           << "' is a function argument attribute, not an "
                              "operation attribute";
  // Other qat-prefixed names are left to their users (tests spell standalone
  // attributes this way).
  return success();
}

LogicalResult QATDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned regionIndex,
                                                   unsigned argIndex,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name != kParamAttrName && name != kStepAttrName && name != kCodesAttrName)
    return success();
  if (!isa<UnitAttr>(attr.getValue()))
    return op->emitError() << "'" << name << "' is a unit attribute, got "
                           << attr.getValue();
  Region &region = op->getRegion(regionIndex);
  // Declarations have no block; their argument types live in the signature.
  if (region.empty())
    return success();
  // Tensors at the level the passes work on, memrefs once bufferized; the
  // lowerings carry the attributes on to llvm.func, whose types no longer
  // say.
  if (!isa<func::FuncOp>(op))
    return success();
  Type type = region.getArgument(argIndex).getType();
  auto shaped = dyn_cast<ShapedType>(type);
  bool wantsInteger = name == kCodesAttrName;
  if (!shaped || !shaped.hasRank() ||
      (wantsInteger ? !shaped.getElementType().isSignlessInteger()
                    : !isa<FloatType>(shaped.getElementType())))
    return op->emitError() << "'" << name << "' marks argument #" << argIndex
                           << ", which must be a ranked tensor or memref of "
                           << (wantsInteger ? "integers" : "floats") << ", got "
                           << type;
  return success();
}
