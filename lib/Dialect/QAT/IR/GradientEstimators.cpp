//===- GradientEstimators.cpp - Backward of fake quantization ---*- C++ -*-===//
//
// The math of each gradient estimator (docs/semantics.md) as scalar IR,
// the one definition that convert-qat-to-linalg and the GPU row kernels
// build: dx of one element from dy, x, the step and v = x/s.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QuantizerMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qat;

/// dy where `keep`, else 0.
static Value masked(QuantMath &math, Value keep, Value gradient) {
  return math.select(keep, gradient, math.constant(0.0));
}

//===----------------------------------------------------------------------===//
// ste
//===----------------------------------------------------------------------===//

Value SteAttr::buildInputGrad(QuantMath &, const QuantizerAttr &,
                              QuantElement &element) const {
  return element.dy;
}

bool SteAttr::isMask() const { return true; }

//===----------------------------------------------------------------------===//
// clip<k>
//===----------------------------------------------------------------------===//

Value ClipAttr::buildInputGrad(QuantMath &math, const QuantizerAttr &quantizer,
                               QuantElement &element) const {
  double k = getFactorOrDefault();
  Value keep;
  if (isa<CenteredGridAttr>(quantizer.getGrid())) {
    // |x| <= k * c, the clip recomputed from the step: c = s * (2^b - 1)/2.
    OpBuilder &b = math.getBuilder();
    Location loc = math.getLoc();
    Value clip = arith::MulFOp::create(
        b, loc, element.s, math.constant(k * quantizer.getClipPerStep()));
    keep = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE,
                                 math::AbsFOp::create(b, loc, element.x), clip);
  } else if (k == 1.0) {
    keep = quantizer.getInCodeRange(math, element);
  } else {
    // k * qn <= v <= k * qp.
    auto [qn, qp] = quantizer.getGrid().getRatioRange(quantizer.getBits());
    keep = math.inRange(element.v, k * qn, k * qp);
  }
  return masked(math, keep, element.dy);
}

bool ClipAttr::isMask() const { return true; }

//===----------------------------------------------------------------------===//
// trust
//===----------------------------------------------------------------------===//

/// The threshold T * std of the group.
Value TrustAttr::buildGroupInvariant(QuantMath &math,
                                     const QuantizerAttr &quantizer, Value,
                                     Value deviation) const {
  return arith::MulFOp::create(
      math.getBuilder(), math.getLoc(),
      math.constant(getFactorForBits(quantizer.getBits())), deviation);
}

Value TrustAttr::buildInputGrad(QuantMath &math, const QuantizerAttr &quantizer,
                                QuantElement &element) const {
  // |xq - x| <= T * std, std = sqrt(mean(x^2)) of the group.
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value threshold = element.groupInvariant;
  if (!threshold)
    threshold =
        buildGroupInvariant(math, quantizer, element.s, element.deviation);
  Value level = quantizer.getLevel(math, element);
  Value error = math::AbsFOp::create(
      b, loc, arith::SubFOp::create(b, loc, level, element.x));
  Value keep = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, error,
                                     threshold);
  return masked(math, keep, element.dy);
}

GroupStatistic TrustAttr::getGroupStatistic() const {
  return GroupStatistic::RootMeanSquare;
}

bool TrustAttr::isMask() const { return true; }

bool TrustAttr::usesLevel() const { return true; }

//===----------------------------------------------------------------------===//
// fourier
//===----------------------------------------------------------------------===//

Value FourierAttr::buildInputGrad(QuantMath &math,
                                  const QuantizerAttr &quantizer,
                                  QuantElement &element) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  // S(v) = sqrt(2)*pi * sum_k a_k cos((2k+1)*pi*(v + round(v))). The sum
  // starts with its first term rather than 0 + term, which only differs for
  // a term of -0 (and then gives the same gradient).
  Value phase = arith::AddFOp::create(b, loc, element.v,
                                      quantizer.getRoundedRatio(math, element));
  // Only elements with v in [qn, qp] keep their gradient, and there
  // |phase| <= 2 * max(-qn, qp).
  double maxPhase = 2 * quantizer.getMaxAbsRatioInRange();
  Value sum;
  for (auto [k, amplitude] : llvm::enumerate(getAmplitudesOrDefault())) {
    double harmonic = double(2 * k + 1) * M_PI;
    Value angle = arith::MulFOp::create(b, loc, math.constant(harmonic), phase);
    Value cosine = math.cos(angle, harmonic * maxPhase);
    Value term =
        arith::MulFOp::create(b, loc, math.constant(amplitude), cosine);
    sum = sum ? arith::AddFOp::create(b, loc, sum, term).getResult() : term;
  }
  Value surrogate =
      arith::MulFOp::create(b, loc, math.constant(std::sqrt(2.0) * M_PI), sum);
  // dy * (1 - S) / (1 + S) inside [qn, qp], 0 outside.
  Value one = math.constant(1.0);
  Value numerator = arith::MulFOp::create(
      b, loc, element.dy, arith::SubFOp::create(b, loc, one, surrogate));
  Value gradient = arith::DivFOp::create(
      b, loc, numerator, arith::AddFOp::create(b, loc, one, surrogate));
  return masked(math, quantizer.getInCodeRange(math, element), gradient);
}
