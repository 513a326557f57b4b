//===- Grids.cpp - Codes and levels of the quantization grids ---*- C++ -*-===//
//
// The one definition of each grid of docs/semantics.md as scalar IR: which
// codes a quantizer has, the level each code stands for, and how x rounds
// onto them. convert-qat-to-linalg builds it inside linalg bodies, the GPU
// row kernels per held element; both through a QuantMath whose primitives
// compute the same bits.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QuantizerMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::qat;

/// Clamps what the level of x rounds to an integer k, to [lo, hi], before
/// rounding. Clamping before rounding gives the formulas' round-then-clamp
/// (rounding is monotonic and keeps the integer bounds) and bounds the
/// argument of QuantMath::roundToLevel. Infinities become the ends; NaN stays
/// NaN, or with `nanToLowest` becomes `lo` (maxnumf: the same one
/// instruction as maximumf on every target).
static Value clampLevelArgument(QuantMath &math, Value y, double lo, double hi,
                                bool nanToLowest) {
  if (!nanToLowest)
    return math.clamp(y, lo, hi);
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value low = arith::MaxNumFOp::create(b, loc, y, math.constant(lo));
  return arith::MinimumFOp::create(b, loc, low, math.constant(hi));
}

//===----------------------------------------------------------------------===//
// centered: levels (k - 1/2) * s, k in [-2^(b-1)+1, 2^(b-1)], code k - 1
//===----------------------------------------------------------------------===//

int64_t CenteredGridAttr::getMinCode(unsigned bits) const {
  return -(int64_t(1) << (bits - 1));
}

int64_t CenteredGridAttr::getMaxCode(unsigned bits) const {
  return (int64_t(1) << (bits - 1)) - 1;
}

bool CenteredGridAttr::hasHalfIntegerLevels() const { return true; }

double CenteredGridAttr::getClipPerStep(unsigned bits) const {
  return double((int64_t(1) << bits) - 1) / 2.0;
}

Value CenteredGridAttr::buildStepFromClip(QuantMath &math, unsigned bits,
                                          Value clip) const {
  // step = 2c / (2^b - 1).
  Value twice = arith::MulFOp::create(math.getBuilder(), math.getLoc(),
                                      math.constant(2.0), clip);
  return math.divideByConstant(twice, double((int64_t(1) << bits) - 1));
}

/// k of the level (k - 1/2) * s nearest x: round(v + 1/2), with k in
/// [qn + 1, qp + 1].
static Value buildCenteredLevelIndex(QuantMath &math, CenteredGridAttr grid,
                                     unsigned bits, Value v, bool nanToLowest) {
  Value y = arith::AddFOp::create(math.getBuilder(), math.getLoc(), v,
                                  math.constant(0.5));
  return clampLevelArgument(math, y, double(grid.getMinCode(bits) + 1),
                            double(grid.getMaxCode(bits) + 1), nanToLowest);
}

Value CenteredGridAttr::buildQuantize(QuantMath &math, unsigned bits, Value,
                                      Value v) const {
  // NaN stores the lowest code, as torch.quantize_per_tensor does
  // (docs/semantics.md).
  Value k = math.roundToLevelI32(
      buildCenteredLevelIndex(math, *this, bits, v, /*nanToLowest=*/true));
  return arith::SubIOp::create(math.getBuilder(), math.getLoc(), k,
                               math.constantI32(1));
}

Value CenteredGridAttr::buildDequantize(QuantMath &math, unsigned, Value code,
                                        Value s) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value value = arith::SIToFPOp::create(b, loc, b.getF32Type(), code);
  value = arith::AddFOp::create(b, loc, value, math.constant(0.5));
  return arith::MulFOp::create(b, loc, value, s);
}

Value CenteredGridAttr::buildFakeQuant(QuantMath &math, unsigned bits, Value,
                                       Value v, Value s,
                                       Value negHalfStep) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  // (k - 1/2) * s, never zero.
  Value k = math.roundToLevel(
      buildCenteredLevelIndex(math, *this, bits, v, /*nanToLowest=*/false),
      /*keepZeroSign=*/false);
  if (negHalfStep)
    return math::FmaOp::create(b, loc, k, s, negHalfStep);
  Value level = arith::SubFOp::create(b, loc, k, math.constant(0.5));
  return arith::MulFOp::create(b, loc, level, s);
}

//===----------------------------------------------------------------------===//
// signed: levels k * s, k in [-2^(b-1), 2^(b-1)-1]; one bit is sign(x) * s
//===----------------------------------------------------------------------===//

int64_t SignedGridAttr::getMinCode(unsigned bits) const {
  return -(int64_t(1) << (bits - 1));
}

int64_t SignedGridAttr::getMaxCode(unsigned bits) const {
  // The one-bit grid is sign(x): codes -1, 0 (for x == 0) and 1.
  if (bits == 1)
    return 1;
  return (int64_t(1) << (bits - 1)) - 1;
}

unsigned SignedGridAttr::getCodeBits(unsigned bits) const {
  return bits == 1 ? 2 : bits;
}

bool SignedGridAttr::needsRatio(unsigned bits) const { return bits != 1; }

double SignedGridAttr::getClipPerStep(unsigned bits) const {
  return double(getMaxCode(bits));
}

Value SignedGridAttr::buildStepFromClip(QuantMath &math, unsigned bits,
                                        Value clip) const {
  // step = c / qp.
  return math.divideByConstant(clip, double(getMaxCode(bits)));
}

Value SignedGridAttr::buildQuantize(QuantMath &math, unsigned bits, Value x,
                                    Value v) const {
  // An integer code cannot hold NaN: NaN stores the lowest code, as
  // torch.quantize_per_tensor does (docs/semantics.md).
  if (needsRatio(bits))
    return math.roundToLevelI32(clampLevelArgument(
        math, v, double(getMinCode(bits)), double(getMaxCode(bits)),
        /*nanToLowest=*/true));
  // sign(x) as -1, 0 or 1; NaN (unordered) as -1.
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value zero = math.constant(0.0);
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
  Value negativeOrNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ULT, x, zero);
  Value inner = math.select(positive, math.constantI32(1), math.constantI32(0));
  return math.select(negativeOrNaN, math.constantI32(-1), inner);
}

Value SignedGridAttr::buildDequantize(QuantMath &math, unsigned, Value code,
                                      Value s) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  Value value = arith::SIToFPOp::create(b, loc, b.getF32Type(), code);
  return arith::MulFOp::create(b, loc, value, s);
}

Value SignedGridAttr::buildFakeQuant(QuantMath &math, unsigned bits, Value x,
                                     Value v, Value s, Value) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  if (!needsRatio(bits))
    return arith::MulFOp::create(b, loc, math.sign(x), s);
  // k * s; a zero keeps v's sign, as roundeven gives it.
  Value k =
      math.roundToLevel(clampLevelArgument(math, v, double(getMinCode(bits)),
                                           double(getMaxCode(bits)),
                                           /*nanToLowest=*/false),
                        /*keepZeroSign=*/true);
  return arith::MulFOp::create(b, loc, k, s);
}
