//===- AutoDiffOpInterface.cpp - Reverse rules of ops ---------------------===//
//
// The interface's generated code, the helpers the rules share, and the one
// registration function of every external model.
//
//===----------------------------------------------------------------------===//

#include "qat/Autodiff/AutoDiffOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"

#include "ExternalModels.h"

using namespace mlir;
using namespace mlir::qat;

#include "qat/Autodiff/AutoDiffOpInterface.cpp.inc"

AdjointState::~AdjointState() = default;

bool mlir::qat::isDifferentiableType(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    type = tensor.getElementType();
  return isa<FloatType>(type);
}

Value mlir::qat::createFloatConstant(OpBuilder &builder, Location loc,
                                     Type type, double value) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  Type elementType = tensor ? tensor.getElementType() : type;
  Value scalar = arith::ConstantOp::create(
      builder, loc, builder.getFloatAttr(elementType, value));
  if (!tensor)
    return scalar;
  // A fill rather than a dense constant: it bufferizes to a buffer that the
  // consumer may write in place, and works for dynamic shapes.
  SmallVector<Value> dynamicSizes;
  assert(tensor.hasStaticShape() && "adjoints have static shapes");
  Value empty = tensor::EmptyOp::create(builder, loc, tensor.getShape(),
                                        elementType, dynamicSizes);
  return linalg::FillOp::create(builder, loc, scalar, empty).getResult(0);
}

Value mlir::qat::createAdd(OpBuilder &builder, Location loc, Value lhs,
                           Value rhs) {
  auto tensor = dyn_cast<RankedTensorType>(lhs.getType());
  if (!tensor)
    return arith::AddFOp::create(builder, loc, lhs, rhs);
  Value empty = tensor::EmptyOp::create(builder, loc, tensor.getShape(),
                                        tensor.getElementType());
  return linalg::AddOp::create(builder, loc, ValueRange{lhs, rhs},
                               ValueRange{empty})
      .getResult(0);
}

void mlir::qat::registerAutoDiffExternalModels(DialectRegistry &registry) {
  registerArithMathAutoDiffModels(registry);
  registerLinalgAutoDiffModels(registry);
  registerTensorAutoDiffModels(registry);
  registerQATAutoDiffModels(registry);
}
