//===- QuantizerMath.cpp - Scalar IR of grids and scale methods -*- C++ -*-===//
//
// The one definition of the grids and scale methods of docs/semantics.md as
// scalar IR. convert-qat-to-linalg builds it inside linalg bodies, the GPU
// row kernels per held element; both through a QuantMath whose primitives
// compute the same bits.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QuantizerMath.h"
#include "qat/Dialect/QAT/IR/QATAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// QuantMath: the default primitives
//===----------------------------------------------------------------------===//

Value QuantMath::constant(double value) {
  return arith::ConstantOp::create(builder, loc,
                                   builder.getF32FloatAttr(float(value)));
}

Value QuantMath::constantI32(int64_t value) {
  return arith::ConstantOp::create(builder, loc,
                                   builder.getI32IntegerAttr(int32_t(value)));
}

Value QuantMath::divide(Value x, Value s) {
  return arith::DivFOp::create(builder, loc, x, s);
}

Value QuantMath::divideByConstant(Value x, double d) {
  return arith::DivFOp::create(builder, loc, x, constant(d));
}

Value QuantMath::sqrt(Value x) { return math::SqrtOp::create(builder, loc, x); }

Value QuantMath::roundEven(Value y, bool) {
  return math::RoundEvenOp::create(builder, loc, y);
}

Value QuantMath::roundToI32(Value y) {
  return arith::FPToSIOp::create(builder, loc, builder.getI32Type(),
                                 roundEven(y, /*keepZeroSign=*/false));
}

Value QuantMath::cos(Value theta, double) {
  return math::CosOp::create(builder, loc, theta);
}

Value QuantMath::clamp(Value v, double lo, double hi) {
  // maximumf/minimumf propagate NaN (maxnumf would turn it into `lo`).
  Value low = arith::MaximumFOp::create(builder, loc, v, constant(lo));
  return arith::MinimumFOp::create(builder, loc, low, constant(hi));
}

Value QuantMath::inRange(Value v, double lo, double hi) {
  Value aboveMin = arith::CmpFOp::create(
      builder, loc, arith::CmpFPredicate::OGE, v, constant(lo));
  Value belowMax = arith::CmpFOp::create(
      builder, loc, arith::CmpFPredicate::OLE, v, constant(hi));
  return arith::AndIOp::create(builder, loc, aboveMin, belowMax);
}

Value QuantMath::isNaN(Value v) {
  return arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::UNO, v, v);
}

Value QuantMath::sign(Value x) {
  Value zero = constant(0.0);
  Value positive =
      arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::OGT, x, zero);
  Value negative =
      arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::OLT, x, zero);
  Value inner = select(positive, constant(1.0), x);
  return select(negative, constant(-1.0), inner);
}

Value QuantMath::select(Value cond, Value a, Value b) {
  return arith::SelectOp::create(builder, loc, cond, a, b);
}

//===----------------------------------------------------------------------===//
// Scale methods
//===----------------------------------------------------------------------===//

GroupStatistic QuantizerAttr::getStepStatistic() const {
  switch (getScaleMethod()) {
  case ScaleMethod::RmsGaussian:
    return GroupStatistic::SumOfSquares;
  case ScaleMethod::AbsMax:
    return GroupStatistic::MaxAbs;
  case ScaleMethod::Learned:
    return GroupStatistic::None;
  }
  llvm_unreachable("unknown scale method");
}

Value QuantizerAttr::buildRootMeanSquare(QuantMath &math, Value sumOfSquares,
                                         int64_t count) {
  return math.sqrt(math.divideByConstant(sumOfSquares, double(count)));
}

Value QuantizerAttr::buildStep(QuantMath &math, Value statistic,
                               int64_t groupLength) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value clip = statistic;
  if (getScaleMethod() == ScaleMethod::RmsGaussian) {
    // c = alpha_b * sqrt(mean(x^2)) + 1e-8 (QuEST).
    Value rms = buildRootMeanSquare(math, statistic, groupLength);
    Value scaled =
        arith::MulFOp::create(b, loc, math.constant(getGaussianAlpha()), rms);
    clip = arith::AddFOp::create(b, loc, scaled, math.constant(1e-8));
  }
  if (getGrid() == Grid::Centered) {
    // step = 2c / (2^b - 1).
    Value twice = arith::MulFOp::create(b, loc, math.constant(2.0), clip);
    return math.divideByConstant(twice, double((int64_t(1) << getBits()) - 1));
  }
  // step = c / qp.
  return math.divideByConstant(clip, double(getMaxCode()));
}

//===----------------------------------------------------------------------===//
// Grids
//===----------------------------------------------------------------------===//

bool QuantizerAttr::needsRatio() const {
  return !(getGrid() == Grid::Signed && getBits() == 1);
}

/// What the level of x rounds to an integer k: v on the signed grid (k is
/// the code), v + 1/2 on the centered grid (k - 1 is the code), clamped to
/// k's range first. Clamping before rounding gives the formulas'
/// round-then-clamp (rounding is monotonic and keeps the integer bounds) and
/// bounds the argument of QuantMath::roundEven. Infinities become the ends;
/// NaN stays NaN, or with `nanToLowest` becomes the lower end (maxnumf: the
/// same one instruction as maximumf on every target).
static Value buildLevelArgument(QuantMath &math, QuantizerAttr q, Value v,
                                bool nanToLowest) {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  double lo = double(q.getMinCode());
  double hi = double(q.getMaxCode());
  if (q.getGrid() == Grid::Centered) {
    v = arith::AddFOp::create(b, loc, v, math.constant(0.5));
    lo += 1;
    hi += 1;
  }
  if (!nanToLowest)
    return math.clamp(v, lo, hi);
  Value low = arith::MaxNumFOp::create(b, loc, v, math.constant(lo));
  return arith::MinimumFOp::create(b, loc, low, math.constant(hi));
}

Value QuantizerAttr::buildQuantize(QuantMath &math, Value x, Value v) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  // An integer code cannot hold NaN: NaN stores the lowest code, as
  // torch.quantize_per_tensor does (docs/semantics.md).
  if (!needsRatio()) {
    // sign(x) as -1, 0 or 1; NaN (unordered) as -1.
    Value zero = math.constant(0.0);
    Value positive =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
    Value negativeOrNaN =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ULT, x, zero);
    Value inner =
        math.select(positive, math.constantI32(1), math.constantI32(0));
    return math.select(negativeOrNaN, math.constantI32(-1), inner);
  }
  Value k =
      math.roundToI32(buildLevelArgument(math, *this, v, /*nanToLowest=*/true));
  if (getGrid() != Grid::Centered)
    return k;
  return arith::SubIOp::create(b, loc, k, math.constantI32(1));
}

Value QuantizerAttr::buildDequantize(QuantMath &math, Value code,
                                     Value s) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value value = arith::SIToFPOp::create(b, loc, b.getF32Type(), code);
  if (getGrid() == Grid::Centered)
    value = arith::AddFOp::create(b, loc, value, math.constant(0.5));
  return arith::MulFOp::create(b, loc, value, s);
}

Value QuantizerAttr::buildFakeQuant(QuantMath &math, Value x, Value v, Value s,
                                    Value negHalfStep) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  if (!needsRatio())
    return arith::MulFOp::create(b, loc, math.sign(x), s);
  // k * s on the signed grid (a zero keeps v's sign, as roundeven gives
  // it), (k - 1/2) * s on the centered grid (never zero).
  bool centered = getGrid() == Grid::Centered;
  Value level =
      math.roundEven(buildLevelArgument(math, *this, v, /*nanToLowest=*/false),
                     /*keepZeroSign=*/!centered);
  if (centered && negHalfStep)
    return math::FmaOp::create(b, loc, level, s, negHalfStep);
  if (centered)
    level = arith::SubFOp::create(b, loc, level, math.constant(0.5));
  return arith::MulFOp::create(b, loc, level, s);
}

//===----------------------------------------------------------------------===//
// Elements of fake_quant_grad
//===----------------------------------------------------------------------===//

Value QuantizerAttr::getInCodeRange(QuantMath &math,
                                    QuantElement &element) const {
  if (element.inCodeRange)
    return element.inCodeRange;
  double qn = double(getMinCode()), qp = double(getMaxCode());
  if (element.withStepGrad) {
    // The step gradient needs clamp(v, qn, qp) anyway, and v lies in the
    // range exactly when clamping leaves it unchanged (NaN: neither).
    element.clamped = math.clamp(element.v, qn, qp);
    element.inCodeRange = arith::CmpFOp::create(
        math.getBuilder(), math.getLoc(), arith::CmpFPredicate::OEQ,
        element.clamped, element.v);
  } else {
    element.inCodeRange = math.inRange(element.v, qn, qp);
  }
  return element.inCodeRange;
}

Value QuantizerAttr::getRoundedRatio(QuantMath &math,
                                     QuantElement &element) const {
  if (!element.rounded)
    element.rounded = math.roundEven(element.v, /*keepZeroSign=*/false);
  return element.rounded;
}

Value QuantizerAttr::getLevel(QuantMath &math, QuantElement &element) const {
  if (!element.level)
    element.level = buildFakeQuant(math, element.x, element.v, element.s,
                                   element.negHalfStep);
  return element.level;
}

double QuantizerAttr::getMaxAbsRatioInRange() const {
  return double(std::max(-getMinCode(), getMaxCode()));
}

double QuantizerAttr::getClipPerStep() const {
  if (getGrid() == Grid::Centered)
    return double((int64_t(1) << getBits()) - 1) / 2.0;
  return double(getMaxCode());
}

Value QuantizerAttr::buildStepGradTerm(QuantMath &math,
                                       QuantElement &element) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value inside = getInCodeRange(math, element);
  if (!element.clamped)
    element.clamped =
        math.clamp(element.v, double(getMinCode()), double(getMaxCode()));
  Value offset =
      arith::SubFOp::create(b, loc, getRoundedRatio(math, element), element.v);
  return math.select(inside, offset, element.clamped);
}

double QuantizerAttr::getStepGradFactor(int64_t numElements) const {
  return 1.0 / std::sqrt(double(numElements) * double(getMaxCode()));
}
