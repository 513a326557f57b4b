//===- TensorAutoDiff.cpp - Reverse rules of tensor ops
//--------------------===//
//
// Tensor ops move elements without arithmetic: each adjoint is the same move
// backwards (a slice's adjoint is inserted into zeros, an insertion's is
// sliced out, a reshape's is reshaped back, a pad's is the unpadded slice).
//
//===----------------------------------------------------------------------===//

#include "ExternalModels.h"

#include "qat/Autodiff/AutoDiffOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"

using namespace mlir;
using namespace mlir::qat;

namespace {

LogicalResult rule(tensor::ExtractSliceOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  if (!s.isActive(op.getSource()))
    return success();
  Value zeros = createFloatConstant(b, op.getLoc(), op.getSourceType(), 0.0);
  Value grad = tensor::InsertSliceOp::create(
      b, op.getLoc(), g, zeros, op.getMixedOffsets(), op.getMixedSizes(),
      op.getMixedStrides());
  s.addAdjoint(b, op.getSource(), grad);
  return success();
}

LogicalResult rule(tensor::InsertSliceOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  Location loc = op.getLoc();
  if (s.isActive(op.getSource())) {
    Value grad = tensor::ExtractSliceOp::create(
        b, loc, op.getSourceType(), g, op.getMixedOffsets(), op.getMixedSizes(),
        op.getMixedStrides());
    s.addAdjoint(b, op.getSource(), grad);
  }
  if (s.isActive(op.getDest())) {
    Value zeros = createFloatConstant(b, loc, op.getSourceType(), 0.0);
    Value grad =
        tensor::InsertSliceOp::create(b, loc, zeros, g, op.getMixedOffsets(),
                                      op.getMixedSizes(), op.getMixedStrides());
    s.addAdjoint(b, op.getDest(), grad);
  }
  return success();
}

LogicalResult rule(tensor::ExpandShapeOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  if (!s.isActive(op.getSrc()))
    return success();
  Value grad = tensor::CollapseShapeOp::create(b, op.getLoc(), op.getSrcType(),
                                               g, op.getReassociationIndices());
  s.addAdjoint(b, op.getSrc(), grad);
  return success();
}

LogicalResult rule(tensor::CollapseShapeOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  if (!s.isActive(op.getSrc()))
    return success();
  if (!op.getSrcType().hasStaticShape())
    return s.refuse(op, "collapses a tensor of dynamic shape");
  Value grad = tensor::ExpandShapeOp::create(b, op.getLoc(), op.getSrcType(), g,
                                             op.getReassociationIndices());
  s.addAdjoint(b, op.getSrc(), grad);
  return success();
}

LogicalResult rule(tensor::ConcatOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  int64_t dim = op.getDim();
  int64_t offset = 0;
  auto resultType = cast<RankedTensorType>(op.getType());
  for (Value input : op.getInputs()) {
    auto type = cast<RankedTensorType>(input.getType());
    if (!type.hasStaticShape())
      return s.refuse(op, "concatenates tensors of dynamic shape");
    if (s.isActive(input)) {
      SmallVector<OpFoldResult> offsets(resultType.getRank(),
                                        b.getIndexAttr(0));
      offsets[dim] = b.getIndexAttr(offset);
      SmallVector<OpFoldResult> sizes,
          strides(resultType.getRank(), b.getIndexAttr(1));
      for (int64_t size : type.getShape())
        sizes.push_back(b.getIndexAttr(size));
      Value grad = tensor::ExtractSliceOp::create(b, op.getLoc(), type, g,
                                                  offsets, sizes, strides);
      s.addAdjoint(b, input, grad);
    }
    offset += type.getDimSize(dim);
  }
  return success();
}

LogicalResult rule(tensor::PadOp op, OpBuilder &b, Value g, AdjointState &s) {
  Value padding = op.getConstantPaddingValue();
  if (!padding)
    return s.refuse(op, "has a padding region that is not a constant "
                        "yield");
  if (s.isActive(padding))
    return s.refuse(op, "pads with a value that needs a gradient");
  if (!s.isActive(op.getSource()))
    return success();
  auto type = op.getSourceType();
  if (!type.hasStaticShape())
    return s.refuse(op, "pads a tensor of dynamic shape");
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t size : type.getShape())
    sizes.push_back(b.getIndexAttr(size));
  Value grad = tensor::ExtractSliceOp::create(
      b, op.getLoc(), type, g, op.getMixedLowPad(), sizes, strides);
  s.addAdjoint(b, op.getSource(), grad);
  return success();
}

LogicalResult rule(tensor::CastOp op, OpBuilder &b, Value g, AdjointState &s) {
  if (s.isActive(op.getSource()))
    s.addAdjoint(
        b, op.getSource(),
        tensor::CastOp::create(b, op.getLoc(), op.getSource().getType(), g));
  return success();
}

// A scalar read from a tensor (a loss as f32, say): its adjoint goes to the
// one element it read.
LogicalResult rule(tensor::ExtractOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  if (!s.isActive(op.getTensor()))
    return success();
  auto type = cast<RankedTensorType>(op.getTensor().getType());
  if (!type.hasStaticShape())
    return s.refuse(op, "reads a tensor of dynamic shape");
  Value zeros = createFloatConstant(b, op.getLoc(), type, 0.0);
  Value grad =
      tensor::InsertOp::create(b, op.getLoc(), g, zeros, op.getIndices());
  s.addAdjoint(b, op.getTensor(), grad);
  return success();
}

LogicalResult rule(tensor::FromElementsOp op, OpBuilder &b, Value g,
                   AdjointState &s) {
  auto type = op.getType();
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  for (auto [i, element] : llvm::enumerate(op.getElements())) {
    if (!s.isActive(element))
      continue;
    SmallVector<Value> indices;
    for (int64_t index : delinearize(static_cast<int64_t>(i), strides))
      indices.push_back(arith::ConstantIndexOp::create(b, op.getLoc(), index));
    s.addAdjoint(b, element,
                 tensor::ExtractOp::create(b, op.getLoc(), g, indices));
  }
  return success();
}

template <typename OpTy>
struct TensorReverse
    : public AutoDiffOpInterface::ExternalModel<TensorReverse<OpTy>, OpTy> {
  LogicalResult reverse(Operation *op, OpBuilder &builder,
                        AdjointState &state) const {
    Value g = state.getAdjoint(op->getResult(0));
    if (!g)
      return success();
    return rule(cast<OpTy>(op), builder, g, state);
  }
};

template <typename... OpTys> void attach(MLIRContext *ctx) {
  (OpTys::template attachInterface<TensorReverse<OpTys>>(*ctx), ...);
}

} // namespace

void mlir::qat::registerTensorAutoDiffModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    attach<tensor::ExtractSliceOp, tensor::InsertSliceOp, tensor::ExpandShapeOp,
           tensor::CollapseShapeOp, tensor::ConcatOp, tensor::PadOp,
           tensor::CastOp, tensor::ExtractOp, tensor::FromElementsOp>(ctx);
  });
}
