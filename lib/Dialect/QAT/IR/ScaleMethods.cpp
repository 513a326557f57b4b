//===- ScaleMethods.cpp - How quantizers obtain their steps -----*- C++ -*-===//
//
// The one definition of each scale method of docs/semantics.md: the
// per-group statistic it asks the lowering for and the clip it computes from
// it (as scalar IR); the grid turns the clip into a step.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QuantizerMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// rms_gaussian: c = alpha_b * sqrt(mean(x^2)) + 1e-8 (QuEST)
//===----------------------------------------------------------------------===//

GroupStatistic RmsGaussianAttr::getStepStatistic() const {
  return GroupStatistic::SumOfSquares;
}

Value RmsGaussianAttr::buildClip(QuantMath &math, GridAttrInterface,
                                 unsigned bits, Value statistic,
                                 const GroupLength &groupLength) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value rms = QuantizerAttr::buildRootMeanSquare(math, statistic, groupLength);
  Value scaled = arith::MulFOp::create(
      b, loc, math.constant(getGaussianClipAlpha(bits)), rms);
  return arith::AddFOp::create(b, loc, scaled, math.constant(1e-8));
}

//===----------------------------------------------------------------------===//
// absmax: c = max|x|
//===----------------------------------------------------------------------===//

GroupStatistic AbsMaxAttr::getStepStatistic() const {
  return GroupStatistic::MaxAbs;
}

Value AbsMaxAttr::buildClip(QuantMath &, GridAttrInterface, unsigned,
                            Value statistic, const GroupLength &) const {
  return statistic;
}

//===----------------------------------------------------------------------===//
// mx: step = 2^(floor(log2(max|x|)) - emax) (OCP Microscaling)
//===----------------------------------------------------------------------===//

GroupStatistic MxAttr::getStepStatistic() const {
  return GroupStatistic::MaxAbs;
}

Value MxAttr::buildClip(QuantMath &math, GridAttrInterface grid, unsigned bits,
                        Value statistic, const GroupLength &) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  // The clip is the step times the largest element, so that the grid's
  // step = c / max is the power of two (dividing exactly).
  double largest = grid.getClipPerStep(bits);
  int emax = std::ilogb(largest);
  Value step = arith::MulFOp::create(b, loc, math.powerOfTwoFloor(statistic),
                                     math.constant(std::ldexp(1.0, -emax)));
  step = arith::MaximumFOp::create(b, loc, step,
                                   math.constant(std::ldexp(1.0, -126)));
  Value clip = arith::MulFOp::create(b, loc, step, math.constant(largest));
  // A NaN in the block makes its step NaN, as absmax does (powerOfTwoFloor
  // gives +inf for it).
  return math.select(math.isNaN(statistic), statistic, clip);
}

LogicalResult
MxAttr::verifyForGrid(function_ref<InFlightDiagnostic()> emitError,
                      GridAttrInterface grid) const {
  if (grid.hasIntegerLevels())
    return emitError() << "mx steps require a float element grid (e4m3, "
                          "e5m2 or e2m1), got "
                       << stringifyGrid(grid);
  return success();
}

//===----------------------------------------------------------------------===//
// nvfp4: sb = e4m3(a * g), g = 448 / T, step = sb / g (two levels)
//===----------------------------------------------------------------------===//

GroupStatistic NvFp4Attr::getStepStatistic() const {
  return GroupStatistic::MaxAbs;
}

Value NvFp4Attr::buildClip(QuantMath &, GridAttrInterface, unsigned, Value,
                           const GroupLength &) const {
  llvm_unreachable("nvfp4 steps are built by buildTwoLevelStep");
}

bool NvFp4Attr::isTwoLevel() const { return true; }

Value NvFp4Attr::buildTwoLevelStep(QuantMath &math, GridAttrInterface, unsigned,
                                   Value groupStep, Value tensorStep) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  const FloatFormat &blockFormat = FloatFormat::e4m3;
  // g maps the tensor's largest element to e4m3's largest block scale.
  Value g = math.divide(math.constant(blockFormat.maxValue), tensorStep);
  Value blockScale =
      blockFormat.buildRound(math, arith::MulFOp::create(b, loc, groupStep, g));
  // A block too small for e4m3 keeps its smallest subnormal rather than 0
  // (0 would make every element of the block 0/0).
  blockScale = arith::MaximumFOp::create(
      b, loc, blockScale,
      math.constant(std::ldexp(1.0, blockFormat.getMinNormalExponent() -
                                        int(blockFormat.mantissaBits))));
  Value step = math.divide(blockScale, g);
  // A tensor of zeros: g is infinite; any step quantizes it to zeros.
  Value zeroTensor = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                           tensorStep, math.constant(0.0));
  return math.select(zeroTensor, math.constant(1.0), step);
}

LogicalResult
NvFp4Attr::verifyForGrid(function_ref<InFlightDiagnostic()> emitError,
                         GridAttrInterface grid) const {
  if (!isa<E2M1GridAttr>(grid))
    return emitError() << "nvfp4 steps require the e2m1 grid, got "
                       << stringifyGrid(grid);
  return success();
}

//===----------------------------------------------------------------------===//
// learned: the step is a trained operand (LSQ)
//===----------------------------------------------------------------------===//

GroupStatistic LearnedAttr::getStepStatistic() const {
  return GroupStatistic::None;
}

Value LearnedAttr::buildClip(QuantMath &, GridAttrInterface, unsigned, Value,
                             const GroupLength &) const {
  llvm_unreachable("a learned step is an operand, not computed from a clip");
}

bool LearnedAttr::isLearned() const { return true; }

LogicalResult
LearnedAttr::verifyForGrid(function_ref<InFlightDiagnostic()> emitError,
                           GridAttrInterface grid) const {
  // LSQ's step gradient is defined for levels k * s.
  if (!isa<SignedGridAttr>(grid))
    return emitError() << "learned steps (LSQ) require the signed grid, got "
                       << stringifyGrid(grid);
  return success();
}
