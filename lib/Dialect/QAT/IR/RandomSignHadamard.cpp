//===- RandomSignHadamard.cpp - qat.hadamard with signs ---------*- C++ -*-===//
//
// A random-sign rotation x · diag(s) · H (or its inverse x · H · diag(s))
// becomes the plain rotation, which both lowerings already compute, and an
// elementwise map that flips the sign of the columns whose draw is negative.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATOps.h"
#include "qat/Dialect/QAT/IR/QuantizerMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::qat;

/// x · diag(s): column j of the last dimension negated where s_j = -1.
static Value applySigns(OpBuilder &b, Location loc, Value x, Value seed) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       type.getElementType());
  SmallVector<AffineMap> maps(2, b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{x}, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               QuantMath math(nb, nl);
               Value column = arith::IndexCastOp::create(
                   nb, nl, nb.getI64Type(),
                   linalg::IndexOp::create(nb, nl, rank - 1));
               Value negative = math.buildRandomSignIsNegative(seed, column);
               Value flipped = arith::NegFOp::create(nb, nl, args[0]);
               linalg::YieldOp::create(
                   nb, nl,
                   arith::SelectOp::create(nb, nl, negative, flipped, args[0])
                       .getResult());
             })
      .getResult(0);
}

void mlir::qat::expandRandomSignHadamards(Operation *root) {
  SmallVector<HadamardOp> rotations;
  root->walk([&](HadamardOp op) {
    if (op.getSeed())
      rotations.push_back(op);
  });
  for (HadamardOp op : rotations) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto rotate = [&](Value x) -> Value {
      return HadamardOp::create(b, loc, x.getType(), x, /*seed=*/Value(),
                                op.getBlockAttr(), /*inverse=*/UnitAttr());
    };
    Value result =
        op.getInverse()
            ? applySigns(b, loc, rotate(op.getInput()), op.getSeed())
            : rotate(applySigns(b, loc, op.getInput(), op.getSeed()));
    op.getResult().replaceAllUsesWith(result);
    op.erase();
  }
}
