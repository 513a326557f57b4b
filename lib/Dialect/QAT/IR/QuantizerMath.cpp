//===- QuantizerMath.cpp - Scalar IR of a quantizer -------------*- C++ -*-===//
//
// The default QuantMath primitives, and a quantizer's math composed from its
// grid (Grids.cpp) and scale method (ScaleMethods.cpp) at its bit width: what
// convert-qat-to-linalg builds inside linalg bodies and the GPU row kernels
// per held element.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QuantizerMath.h"
#include "qat/Dialect/QAT/IR/QATAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
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

Value QuantMath::divideByLength(Value x, const GroupLength &length) {
  if (length.runtime)
    return divide(x, length.runtime);
  return divideByConstant(x, double(length.count));
}

Value QuantMath::sqrt(Value x) { return math::SqrtOp::create(builder, loc, x); }

Value QuantMath::roundEven(Value y, bool) {
  return math::RoundEvenOp::create(builder, loc, y);
}

Value QuantMath::roundToI32(Value y) {
  return arith::FPToSIOp::create(builder, loc, builder.getI32Type(),
                                 roundEven(y, /*keepZeroSign=*/false));
}

Value QuantMath::buildRandomBits(Value seed, Value index) {
  // SplitMix64 (Steele, Lea and Flood, 2014): the generator's state after
  // index + 1 steps from `seed`, mixed.
  Type i64 = builder.getI64Type();
  auto c = [&](uint64_t value) -> Value {
    return arith::ConstantOp::create(builder, loc,
                                     builder.getIntegerAttr(i64, value));
  };
  auto xorShift = [&](Value z, uint64_t shift) -> Value {
    return arith::XOrIOp::create(
        builder, loc, z, arith::ShRUIOp::create(builder, loc, z, c(shift)));
  };
  Value counter = arith::AddIOp::create(builder, loc, index, c(1));
  Value z = arith::AddIOp::create(
      builder, loc, seed,
      arith::MulIOp::create(builder, loc, counter, c(0x9E3779B97F4A7C15ull)));
  z = arith::MulIOp::create(builder, loc, xorShift(z, 30),
                            c(0xBF58476D1CE4E5B9ull));
  z = arith::MulIOp::create(builder, loc, xorShift(z, 27),
                            c(0x94D049BB133111EBull));
  return xorShift(z, 31);
}

Value QuantMath::buildUniformDraw(Value seed, Value index) {
  // The top 24 bits, exact in f32.
  Value top = arith::ShRUIOp::create(
      builder, loc, buildRandomBits(seed, index),
      arith::ConstantOp::create(builder, loc,
                                builder.getIntegerAttr(seed.getType(), 40)));
  Value draw = arith::UIToFPOp::create(
      builder, loc, builder.getF32Type(),
      arith::TruncIOp::create(builder, loc, builder.getI32Type(), top));
  return arith::MulFOp::create(builder, loc, draw, constant(0x1p-24));
}

Value QuantMath::buildRandomSignIsNegative(Value seed, Value index) {
  Value zero = arith::ConstantOp::create(
      builder, loc, builder.getIntegerAttr(seed.getType(), 0));
  return arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::slt,
                               buildRandomBits(seed, index), zero);
}

Value QuantMath::roundToLevel(Value y, bool keepZeroSign) {
  if (!roundingDraw)
    return roundEven(y, keepZeroSign);
  // y - floor(y) is exact for |y| <= 2^22; NaN compares false and stays NaN.
  Value below = math::FloorOp::create(builder, loc, y);
  Value fraction = arith::SubFOp::create(builder, loc, y, below);
  Value up = arith::CmpFOp::create(builder, loc, arith::CmpFPredicate::OLT,
                                   roundingDraw, fraction);
  Value rounded = select(
      up, arith::AddFOp::create(builder, loc, below, constant(1.0)), below);
  // A zero result is +0 (floor(-0.5) + 1); give it y's sign.
  return keepZeroSign ? math::CopySignOp::create(builder, loc, rounded, y)
                      : rounded;
}

Value QuantMath::roundToLevelI32(Value y) {
  if (!roundingDraw)
    return roundToI32(y);
  return arith::FPToSIOp::create(builder, loc, builder.getI32Type(),
                                 roundToLevel(y, /*keepZeroSign=*/false));
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

Value QuantMath::toBits(Value x) {
  return arith::BitcastOp::create(builder, loc, builder.getI32Type(), x);
}

Value QuantMath::fromBits(Value bits) {
  return arith::BitcastOp::create(builder, loc, builder.getF32Type(), bits);
}

Value QuantMath::powerOfTwoFloor(Value x) {
  Value exponent =
      arith::AndIOp::create(builder, loc, toBits(x), constantI32(0x7F800000));
  return fromBits(exponent);
}

//===----------------------------------------------------------------------===//
// QuantizerAttr: the grid's and the scale method's math at the quantizer's
// bit width
//===----------------------------------------------------------------------===//

GroupStatistic QuantizerAttr::getStepStatistic() const {
  return getScaleMethod().getStepStatistic();
}

Value QuantizerAttr::buildRootMeanSquare(QuantMath &math, Value sumOfSquares,
                                         const GroupLength &count) {
  return math.sqrt(math.divideByLength(sumOfSquares, count));
}

Value QuantizerAttr::buildStep(QuantMath &math, Value statistic,
                               const GroupLength &groupLength) const {
  Value clip = getScaleMethod().buildClip(math, getGrid(), getBits(), statistic,
                                          groupLength);
  return getGrid().buildStepFromClip(math, getBits(), clip);
}

bool QuantizerAttr::needsRatio() const {
  return getGrid().needsRatio(getBits());
}

Value QuantizerAttr::buildQuantize(QuantMath &math, Value x, Value v) const {
  return getGrid().buildQuantize(math, getBits(), x, v);
}

Value QuantizerAttr::buildDequantize(QuantMath &math, Value code,
                                     Value s) const {
  return getGrid().buildDequantize(math, getBits(), code, s);
}

Value QuantizerAttr::buildFakeQuant(QuantMath &math, Value x, Value v, Value s,
                                    Value negHalfStep) const {
  return getGrid().buildFakeQuant(math, getBits(), x, v, s, negHalfStep);
}

//===----------------------------------------------------------------------===//
// Elements of fake_quant_grad
//===----------------------------------------------------------------------===//

Value QuantizerAttr::getInCodeRange(QuantMath &math,
                                    QuantElement &element) const {
  if (element.inCodeRange)
    return element.inCodeRange;
  auto [qn, qp] = getGrid().getRatioRange(getBits());
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
    element.rounded = math.roundToLevel(element.v, /*keepZeroSign=*/false);
  return element.rounded;
}

Value QuantizerAttr::getLevel(QuantMath &math, QuantElement &element) const {
  if (!element.level)
    element.level = buildFakeQuant(math, element.x, element.v, element.s,
                                   element.negHalfStep);
  return element.level;
}

double QuantizerAttr::getMaxAbsRatioInRange() const {
  auto [qn, qp] = getGrid().getRatioRange(getBits());
  return std::max(-qn, qp);
}

double QuantizerAttr::getClipPerStep() const {
  return getGrid().getClipPerStep(getBits());
}

Value QuantizerAttr::buildStepGradTerm(QuantMath &math,
                                       QuantElement &element) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value inside = getInCodeRange(math, element);
  auto [qn, qp] = getGrid().getRatioRange(getBits());
  if (!element.clamped)
    element.clamped = math.clamp(element.v, qn, qp);
  Value offset =
      arith::SubFOp::create(b, loc, getRoundedRatio(math, element), element.v);
  return math.select(inside, offset, element.clamped);
}

double QuantizerAttr::getStepGradFactor(int64_t numElements) const {
  return 1.0 / std::sqrt(double(numElements) * double(getMaxCode()));
}

std::pair<Value, Value> mlir::qat::unpackCodePair(OpBuilder &builder,
                                                  Location loc, Value bytes) {
  // Each nibble goes to the top of the byte; an arithmetic shift back
  // extends its sign.
  Value four = createScalarOrSplatConstant(builder, loc, bytes.getType(), 4);
  Value low = arith::ShRSIOp::create(
      builder, loc, arith::ShLIOp::create(builder, loc, bytes, four), four);
  Value high = arith::ShRSIOp::create(builder, loc, bytes, four);
  return {low, high};
}
