//===- QATAutoDiff.cpp - Reverse rules of the qat ops
//----------------------===//
//
// The backward of quantization-aware training as the qat dialect defines it
// (docs/semantics.md): a quantizer's backward is its gradient estimator
// (qat.fake_quant_grad), steps computed from data are constants, learned
// steps get the LSQ gradient, the Hadamard rotation is its own adjoint, and
// the low-bit matmul's backward is QuEST's: float products of the incoming
// gradient with the dequantized operands, handed to the quantizers that
// produced the codes.
//
// The adjoint of a code tensor (the result of qat.quantize) is a float
// tensor of the unpacked shape: the gradient w.r.t. the dequantized values.
//
//===----------------------------------------------------------------------===//

#include "ExternalModels.h"

#include "qat/Autodiff/AutoDiffOpInterface.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::qat;

namespace {

bool isLearned(QuantizerAttr quantizer) { return quantizer.hasLearnedStep(); }

/// Emits the estimator's backward of the quantizer that maps `input` with
/// step `scale` (and `seed`, for stochastic rounding), for the incoming
/// gradient `grad`; adds dx (and ds for a
/// learned step) to the adjoints.
void emitQuantizerBackward(OpBuilder &b, Location loc, AdjointState &state,
                           Value grad, Value input, Value scale, Value seed,
                           QuantizerAttr quantizer,
                           GradientEstimatorAttrInterface estimator) {
  bool scaleGrad = isLearned(quantizer) && state.isActive(scale);
  if (!state.isActive(input) && !scaleGrad)
    return;
  Type scaleGradType = isLearned(quantizer) ? scale.getType() : Type();
  auto backward = FakeQuantGradOp::create(
      b, loc, input.getType(), scaleGradType, grad, input, scale,
      /*std=*/Value(), seed, quantizer, estimator);
  state.addAdjoint(b, input, backward.getInputGrad());
  if (scaleGrad)
    state.addAdjoint(b, scale, backward.getScaleGrad());
}

/// A learned step that a consumer of codes reads gets its gradient from the
/// quantizer that produced the codes (LSQ differentiates quantize and
/// dequantize together), so it must be that quantizer's step.
LogicalResult checkLearnedStep(Operation *op, AdjointState &state, Value codes,
                               Value scale, QuantizerAttr quantizer) {
  if (!isLearned(quantizer) || !state.isActive(scale))
    return success();
  auto producer = codes.getDefiningOp<QuantizeOp>();
  if (producer && producer.getScale() == scale)
    return success();
  return state.refuse(op, "reads a learned step that is not the step of the "
                          "qat.quantize producing its codes; its gradient "
                          "would be missing");
}

struct HadamardReverse
    : public AutoDiffOpInterface::ExternalModel<HadamardReverse, HadamardOp> {
  LogicalResult reverse(Operation *op, OpBuilder &b,
                        AdjointState &state) const {
    auto hadamard = cast<HadamardOp>(op);
    Value g = state.getAdjoint(hadamard.getResult());
    if (!g || !state.isActive(hadamard.getInput()))
      return success();
    // The rotation is orthogonal, so its backward is its inverse: H itself,
    // or with signs the op with `inverse` toggled.
    UnitAttr inverse = hadamard.getSeed() && !hadamard.getInverse()
                           ? b.getUnitAttr()
                           : UnitAttr();
    Value dx =
        HadamardOp::create(b, op->getLoc(), g.getType(), g, hadamard.getSeed(),
                           hadamard.getBlockAttr(), inverse);
    state.addAdjoint(b, hadamard.getInput(), dx);
    return success();
  }
};

/// Steps computed from data (and the deviation of the trust estimator) are
/// constants for the backward, as in QuEST: no contribution.
template <typename OpTy>
struct ConstantReverse
    : public AutoDiffOpInterface::ExternalModel<ConstantReverse<OpTy>, OpTy> {
  LogicalResult reverse(Operation *, OpBuilder &, AdjointState &) const {
    return success();
  }
};

struct FakeQuantReverse
    : public AutoDiffOpInterface::ExternalModel<FakeQuantReverse, FakeQuantOp> {
  LogicalResult reverse(Operation *op, OpBuilder &b,
                        AdjointState &state) const {
    auto fq = cast<FakeQuantOp>(op);
    Value g = state.getAdjoint(fq.getResult());
    if (!g)
      return success();
    emitQuantizerBackward(b, op->getLoc(), state, g, fq.getInput(),
                          fq.getScale(), fq.getSeed(), fq.getQuantizer(),
                          fq.getEstimator());
    return success();
  }
};

struct QuantizeReverse
    : public AutoDiffOpInterface::ExternalModel<QuantizeReverse, QuantizeOp> {
  LogicalResult reverse(Operation *op, OpBuilder &b,
                        AdjointState &state) const {
    auto quantize = cast<QuantizeOp>(op);
    Value g = state.getAdjoint(quantize.getResult());
    if (!g)
      return success();
    // The codes alone do not say which estimator the backward uses; the
    // producer of the quantized graph (qat-quantize) names it.
    auto estimator =
        op->getAttrOfType<GradientEstimatorAttrInterface>("qat.estimator");
    if (!estimator)
      return state.refuse(op, "has no 'qat.estimator' attribute naming the "
                              "gradient estimator of its backward");
    emitQuantizerBackward(b, op->getLoc(), state, g, quantize.getInput(),
                          quantize.getScale(), quantize.getSeed(),
                          quantize.getQuantizer(), estimator);
    return success();
  }
};

struct DequantizeReverse
    : public AutoDiffOpInterface::ExternalModel<DequantizeReverse,
                                                DequantizeOp> {
  LogicalResult reverse(Operation *op, OpBuilder &b,
                        AdjointState &state) const {
    auto dequantize = cast<DequantizeOp>(op);
    Value g = state.getAdjoint(dequantize.getResult());
    if (!g)
      return success();
    if (failed(checkLearnedStep(op, state, dequantize.getInput(),
                                dequantize.getScale(),
                                dequantize.getQuantizer())))
      return failure();
    // The gradient w.r.t. the dequantized values is the codes' adjoint.
    if (state.isActive(dequantize.getInput()))
      state.addAdjoint(b, dequantize.getInput(), g);
    return success();
  }
};

/// The float operand that `codes` dequantize to (unpacked shape).
Value dequantizeOperand(OpBuilder &b, Location loc, Value codes, Value scale,
                        QuantizerAttr quantizer, bool packed,
                        Type elementType) {
  auto type = cast<RankedTensorType>(codes.getType());
  SmallVector<int64_t> shape(type.getShape());
  if (packed)
    shape.back() *= 2;
  auto resultType = RankedTensorType::get(shape, elementType);
  return DequantizeOp::create(b, loc, resultType, codes, scale, quantizer,
                              packed);
}

struct MatmulReverse
    : public AutoDiffOpInterface::ExternalModel<MatmulReverse, MatmulOp> {
  LogicalResult reverse(Operation *op, OpBuilder &b,
                        AdjointState &state) const {
    auto matmul = cast<MatmulOp>(op);
    Location loc = op->getLoc();
    Value g = state.getAdjoint(matmul.getResult());
    if (!g)
      return success();
    Value lhs = matmul.getLhs(), rhs = matmul.getRhs();
    if (failed(checkLearnedStep(op, state, lhs, matmul.getLhsScale(),
                                matmul.getLhsQuantizer())) ||
        failed(checkLearnedStep(op, state, rhs, matmul.getRhsScale(),
                                matmul.getRhsQuantizer())))
      return failure();
    auto gType = cast<RankedTensorType>(g.getType());
    Type elementType = gType.getElementType();
    bool packed = matmul.getPacked();
    int64_t m = gType.getDimSize(0), n = gType.getDimSize(1);

    // dA[m, k] = sum_n dy[m, n] deq(B)[n, k].
    if (state.isActive(lhs)) {
      Value deqB =
          dequantizeOperand(b, loc, rhs, matmul.getRhsScale(),
                            matmul.getRhsQuantizer(), packed, elementType);
      int64_t k = cast<RankedTensorType>(deqB.getType()).getDimSize(1);
      Value zeros = createFloatConstant(
          b, loc, RankedTensorType::get({m, k}, elementType), 0.0);
      Value dA = linalg::MatmulOp::create(b, loc, ValueRange{g, deqB},
                                          ValueRange{zeros})
                     .getResult(0);
      state.addAdjoint(b, lhs, dA);
    }
    // dB[n, k] = sum_m dy[m, n] deq(A)[m, k]: a matmul whose first operand
    // is read transposed.
    if (state.isActive(rhs)) {
      Value deqA =
          dequantizeOperand(b, loc, lhs, matmul.getLhsScale(),
                            matmul.getLhsQuantizer(), packed, elementType);
      int64_t k = cast<RankedTensorType>(deqA.getType()).getDimSize(1);
      Value zeros = createFloatConstant(
          b, loc, RankedTensorType::get({n, k}, elementType), 0.0);
      auto dB = linalg::MatmulOp::create(b, loc, ValueRange{g, deqA},
                                         ValueRange{zeros});
      MLIRContext *ctx = b.getContext();
      AffineExpr d0, d1, d2;
      bindDims(ctx, d0, d1, d2);
      SmallVector<Attribute> maps = {
          AffineMapAttr::get(AffineMap::get(3, 0, {d2, d0}, ctx)),
          AffineMapAttr::get(AffineMap::get(3, 0, {d2, d1}, ctx)),
          AffineMapAttr::get(AffineMap::get(3, 0, {d0, d1}, ctx))};
      dB.setIndexingMapsAttr(b.getArrayAttr(maps));
      state.addAdjoint(b, rhs, dB.getResult(0));
    }
    return success();
  }
};

} // namespace

void mlir::qat::registerQATAutoDiffModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, QATDialect *) {
    HadamardOp::attachInterface<HadamardReverse>(*ctx);
    ScaleOp::attachInterface<ConstantReverse<ScaleOp>>(*ctx);
    RmsOp::attachInterface<ConstantReverse<RmsOp>>(*ctx);
    FakeQuantOp::attachInterface<FakeQuantReverse>(*ctx);
    QuantizeOp::attachInterface<QuantizeReverse>(*ctx);
    DequantizeOp::attachInterface<DequantizeReverse>(*ctx);
    MatmulOp::attachInterface<MatmulReverse>(*ctx);
  });
}
