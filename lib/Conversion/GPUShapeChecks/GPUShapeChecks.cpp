//===- GPUShapeChecks.cpp - Shapes the GPU conversions accept ---*- C++ -*-===//
//
// Size checks with overflow-safe arithmetic and the linalg route for
// zero-size tensors, run at the entry of the GPU conversions.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/GPUShapeChecks/GPUShapeChecks.h"

#include "qat/Conversion/QATToLinalg/QATToLinalg.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::qat;

/// The byte size of `type`, or nothing if it is not statically shaped or its
/// size does not fit in int64.
static std::optional<int64_t> getStaticByteSize(ShapedType type,
                                                bool &overflow) {
  overflow = false;
  if (!type.hasStaticShape())
    return std::nullopt;
  int64_t size = 1;
  for (int64_t dim : type.getShape()) {
    if (llvm::MulOverflow(size, dim, size)) {
      overflow = true;
      return std::nullopt;
    }
  }
  Type element = type.getElementType();
  int64_t bytes = element.isIntOrIndexOrFloat()
                      ? llvm::divideCeil(element.getIntOrFloatBitWidth(), 8)
                      : 8;
  if (llvm::MulOverflow(size, std::max<int64_t>(bytes, 1), size)) {
    overflow = true;
    return std::nullopt;
  }
  return size;
}

static bool isSelectedQATOp(Operation *op,
                            function_ref<bool(Operation *)> filter) {
  return isa_and_nonnull<QATDialect>(op->getDialect()) && filter(op);
}

LogicalResult
mlir::qat::checkGPUStaticShapes(Operation *root,
                                function_ref<bool(Operation *)> filter) {
  bool failedAny = false;
  root->walk([&](Operation *op) {
    if (!isSelectedQATOp(op, filter))
      return;
    auto isDynamic = [](Value value) {
      auto type = dyn_cast<ShapedType>(value.getType());
      return type && !type.hasStaticShape();
    };
    auto report = [&](Value value, StringRef what, unsigned index) {
      op->emitOpError() << what << " #" << index << " of type "
                        << value.getType()
                        << " has a dynamic dimension; dynamic dimensions are "
                           "not supported on the GPU route yet";
      failedAny = true;
    };
    // The first dynamic value, once per op.
    for (OpOperand &operand : op->getOpOperands())
      if (isDynamic(operand.get()))
        return report(operand.get(), "operand", operand.getOperandNumber());
    for (OpResult result : op->getResults())
      if (isDynamic(result))
        return report(result, "result", result.getResultNumber());
  });
  return failure(failedAny);
}

LogicalResult
mlir::qat::checkGPUTensorSizes(Operation *root,
                               function_ref<bool(Operation *)> filter) {
  bool failedAny = false;
  root->walk([&](Operation *op) {
    if (!isSelectedQATOp(op, filter))
      return;
    // The first value out of bounds, once per op.
    auto check = [&](Value value, StringRef what, unsigned index) {
      auto type = dyn_cast<ShapedType>(value.getType());
      if (!type)
        return false;
      bool overflow;
      std::optional<int64_t> bytes = getStaticByteSize(type, overflow);
      if (!overflow && (!bytes || *bytes <= kMaxGPUTensorBytes))
        return false;
      InFlightDiagnostic diag = op->emitOpError()
                                << what << " #" << index << " of type " << type;
      if (overflow)
        diag << " has more elements or bytes than int64 counts";
      else
        diag << " has " << *bytes << " bytes";
      diag << "; the GPU kernels take tensors of at most " << kMaxGPUTensorBytes
           << " bytes";
      return true;
    };
    bool tooLarge = false;
    for (OpOperand &operand : op->getOpOperands())
      tooLarge = tooLarge ||
                 check(operand.get(), "operand", operand.getOperandNumber());
    for (OpResult result : op->getResults())
      tooLarge = tooLarge || check(result, "result", result.getResultNumber());
    failedAny |= tooLarge;
  });
  return failure(failedAny);
}

bool mlir::qat::hasZeroSizeTensor(Operation *op) {
  auto isEmpty = [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return shaped && shaped.hasRank() &&
           llvm::is_contained(shaped.getShape(), 0);
  };
  return llvm::any_of(op->getOperandTypes(), isEmpty) ||
         llvm::any_of(op->getResultTypes(), isEmpty);
}

LogicalResult
mlir::qat::lowerZeroSizeOpsToLinalg(Operation *root,
                                    function_ref<bool(Operation *)> filter) {
  llvm::SetVector<Operation *> empty;
  root->walk([&](Operation *op) {
    if (isSelectedQATOp(op, filter) && hasZeroSizeTensor(op))
      empty.insert(op);
  });
  if (empty.empty())
    return success();
  MLIRContext *context = root->getContext();
  ConversionTarget target(*context);
  target.markUnknownOpDynamicallyLegal(
      [&](Operation *op) { return !empty.contains(op); });
  RewritePatternSet patterns(context);
  populateQATToLinalgConversionPatterns(patterns);
  return applyPartialConversion(empty.getArrayRef(), target,
                                std::move(patterns));
}
