//===- FloatFormats.cpp - Low-bit float element formats ---------*- C++ -*-===//
//
// Rounding onto the fp8 and fp4 formats, and their encodings, in f32 and i32
// arithmetic with exact steps only: the element spacing is a power of two
// taken from x's own exponent bits, so the same bits come out of every
// lowering (no conversion instruction of a target is involved).
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/FloatFormats.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qat;

const FloatFormat FloatFormat::e4m3 = {"e4m3", 8,     3,
                                       7,      448.0, Specials::AllOnesIsNaN};
const FloatFormat FloatFormat::e5m2 = {"e5m2", 8,       2,
                                       15,     57344.0, Specials::IEEE};
const FloatFormat FloatFormat::e2m1 = {"e2m1", 4, 1, 1, 6.0, Specials::None};

/// The f32 bits of an exponent field of f32 (biased by 127).
static constexpr int64_t kF32ExponentShift = 23;
static constexpr int64_t kF32Bias = 127;

int64_t FloatFormat::getNaNCode() const {
  switch (specials) {
  case Specials::None:
    return getMinCode();
  case Specials::AllOnesIsNaN:
  case Specials::IEEE:
    // Positive, every exponent and mantissa bit set.
    return getMaxCode();
  }
  llvm_unreachable("unknown specials");
}

LogicalResult
FloatFormat::verifyBits(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits) const {
  if (bits != width)
    return emitError() << "the " << name << " grid has " << width
                       << "-bit codes, got " << bits << " bits";
  return success();
}

Value FloatFormat::buildRound(QuantMath &math, Value v) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  // Clamping first is rounding then saturating (maxValue is a value of the
  // format) and bounds what roundToLevel sees.
  Value w = math.clamp(v, -maxValue, maxValue);
  // The spacing of the format's values around w: 2^(e - m) with e the
  // exponent of w, at least that of the smallest normal (subnormals share
  // its spacing).
  Value binade = arith::MaximumFOp::create(
      b, loc, math.powerOfTwoFloor(w),
      math.constant(std::ldexp(1.0, getMinNormalExponent())));
  Value spacing = arith::MulFOp::create(
      b, loc, binade, math.constant(std::ldexp(1.0, -int(mantissaBits))));
  // 1/spacing, exact: 2^-k has the bits (254 << 23) - bits(2^k).
  Value inverse = math.fromBits(arith::SubIOp::create(
      b, loc, math.constantI32((2 * kF32Bias) << kF32ExponentShift),
      math.toBits(spacing)));
  // |w * inverse| < 2^(m+1): a few integers, rounded to even as the
  // format's last mantissa bit.
  Value units = math.roundToLevel(arith::MulFOp::create(b, loc, w, inverse),
                                  /*keepZeroSign=*/true);
  return arith::MulFOp::create(b, loc, units, spacing);
}

Value FloatFormat::buildFakeQuant(QuantMath &math, Value v, Value s) const {
  return arith::MulFOp::create(math.getBuilder(), math.getLoc(),
                               buildRound(math, v), s);
}

Value FloatFormat::buildQuantize(QuantMath &math, Value v) const {
  // The code comes from v's bits directly (fewer instructions than the
  // rounded value's: the quantizing kernels are bound by instruction issue).
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  auto i32 = [&](int64_t value) { return math.constantI32(value); };
  // Stochastic rounding rounds v onto the format first; the encoding below
  // then rounds nothing.
  if (math.isRoundingStochastic())
    v = buildRound(math, v);
  Value w = math.clamp(v, -maxValue, maxValue);
  Value magnitude = math::AbsFOp::create(b, loc, w);
  // Normal values: f32's mantissa rounded to m bits on the bit pattern,
  // ties to even (a carry moves into the exponent, as rounding up to the
  // next binade does), then the exponent rebiased.
  int64_t shift = kF32ExponentShift - int64_t(mantissaBits);
  Value bits = math.toBits(magnitude);
  Value lowestKept = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, i32(shift)), i32(1));
  Value roundedBits = arith::AddIOp::create(
      b, loc, arith::AddIOp::create(b, loc, bits, lowestKept),
      i32((int64_t(1) << (shift - 1)) - 1));
  Value normal = arith::SubIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, roundedBits, i32(shift)),
      i32((kF32Bias - exponentBias) << mantissaBits));
  // Subnormal values: the multiple of the smallest subnormal, rounded to
  // even (2^m when it rounds up to the smallest normal: its encoding).
  // Clamped to the smallest normal, this is 2^m for every normal value.
  double minNormal = std::ldexp(1.0, getMinNormalExponent());
  Value subnormal = math.roundToI32(arith::MulFOp::create(
      b, loc,
      arith::MinimumFOp::create(b, loc, magnitude, math.constant(minNormal)),
      math.constant(
          std::ldexp(1.0, int(mantissaBits) - getMinNormalExponent()))));
  // Below the smallest normal, `normal` is at most `subnormal` (f32's
  // exponent rebiased is <= 0); above it, `subnormal` is 2^m <= `normal`.
  Value code = arith::MaxSIOp::create(b, loc, normal, subnormal);
  // The sign bit makes the code negative: code - 2^(width-1).
  Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                         math.toBits(w), i32(0));
  code = math.select(
      negative, arith::AddIOp::create(b, loc, code, i32(getMinCode())), code);
  return math.select(math.isNaN(w), i32(getNaNCode()), code);
}

Value FloatFormat::buildDequantize(QuantMath &math, Value code, Value s) const {
  OpBuilder &b = math.getBuilder();
  Location loc = math.getLoc();
  auto bitsAnd = [&](Value value, int64_t mask) -> Value {
    return arith::AndIOp::create(b, loc, value, math.constantI32(mask));
  };
  int64_t signBit = int64_t(1) << (width - 1);
  Value magnitude = bitsAnd(code, signBit - 1);
  Value negative =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                            bitsAnd(code, signBit), math.constantI32(0));
  // Normal: the exponent rebiased to f32's, the mantissa at its top bits.
  Value normal = math.fromBits(arith::AddIOp::create(
      b, loc,
      arith::ShLIOp::create(
          b, loc, magnitude,
          math.constantI32(kF32ExponentShift - int64_t(mantissaBits))),
      math.constantI32((kF32Bias - exponentBias) << kF32ExponentShift)));
  // Subnormal (exponent field 0): a multiple of the smallest subnormal.
  Value subnormal = arith::MulFOp::create(
      b, loc, arith::SIToFPOp::create(b, loc, b.getF32Type(), magnitude),
      math.constant(
          std::ldexp(1.0, getMinNormalExponent() - int(mantissaBits))));
  Value isSubnormal =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, magnitude,
                            math.constantI32(int64_t(1) << mantissaBits));
  Value value = math.select(isSubnormal, subnormal, normal);
  auto equals = [&](int64_t bits) -> Value {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, magnitude,
                                 math.constantI32(bits));
  };
  Value nan = math.constant(std::nan(""));
  int64_t allOnes = signBit - 1;
  switch (specials) {
  case Specials::None:
    break;
  case Specials::AllOnesIsNaN:
    value = math.select(equals(allOnes), nan, value);
    break;
  case Specials::IEEE: {
    // Exponent all ones: infinity with a zero mantissa, else NaN.
    int64_t infinity = allOnes & ~((int64_t(1) << mantissaBits) - 1);
    Value special = math.select(equals(infinity), math.constant(INFINITY), nan);
    Value isSpecial =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, magnitude,
                              math.constantI32(infinity));
    value = math.select(isSpecial, special, value);
    break;
  }
  }
  value = math.select(negative, arith::NegFOp::create(b, loc, value), value);
  return arith::MulFOp::create(b, loc, value, s);
}
