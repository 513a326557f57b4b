//===- TwoLevelScales.cpp - qat.scale of two-level methods ------*- C++ -*-===//
//
// A two-level scale method (nvfp4) reduces x twice, per group and over the
// whole tensor. Rather than teach both lowerings a second reduction per
// qat.scale, such a qat.scale becomes the two `absmax` qat.scale ops they
// already lower and an elementwise map of the method's buildTwoLevelStep.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::qat;

/// The step of every group of `op` through its absmax steps per group and
/// per tensor.
static Value expand(OpBuilder &b, ScaleOp op) {
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  QuantizerAttr q = op.getQuantizer();
  auto absmax = ScaleMethodAttrInterface(AbsMaxAttr::get(ctx));
  auto perGroup = QuantizerAttr::get(ctx, q.getGrid(), q.getBits(), absmax,
                                     q.getGranularity(), q.getGroupSize(),
                                     Rounding::Nearest);
  auto perTensor =
      QuantizerAttr::get(ctx, q.getGrid(), q.getBits(), absmax,
                         Granularity::PerTensor, 0, Rounding::Nearest);
  RankedTensorType resultType = op.getType();
  int64_t rank = resultType.getRank();
  auto tensorType =
      RankedTensorType::get(SmallVector<int64_t>(rank, 1), b.getF32Type());
  Value groupSteps =
      ScaleOp::create(b, loc, resultType, op.getInput(), perGroup);
  Value tensorStep =
      ScaleOp::create(b, loc, tensorType, op.getInput(), perTensor);

  Value init =
      tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, groupSteps),
                              resultType.getElementType());
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(rank),
      AffineMap::get(rank, 0,
                     SmallVector<AffineExpr>(rank, b.getAffineConstantExpr(0)),
                     ctx),
      b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ValueRange{groupSteps, tensorStep},
             ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               QuantMath math(nb, nl);
               Value step = q.getScaleMethod().buildTwoLevelStep(
                   math, q.getGrid(), q.getBits(), args[0], args[1]);
               linalg::YieldOp::create(nb, nl, step);
             })
      .getResult(0);
}

void mlir::qat::expandTwoLevelScales(Operation *root) {
  SmallVector<ScaleOp> scales;
  root->walk([&](ScaleOp op) {
    if (op.getQuantizer().getScaleMethod().isTwoLevel())
      scales.push_back(op);
  });
  for (ScaleOp op : scales) {
    OpBuilder b(op);
    op.getResult().replaceAllUsesWith(expand(b, op));
    op.erase();
  }
}
