//===- FloatFormats.h - Low-bit float element formats -----------*- C++ -*-===//
//
// The fp8 and fp4 element formats of the float grids (DESIGN.md section 3):
// rounding onto a format, its codes and their values, as scalar IR built
// through a QuantMath, once for every lowering.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_FLOATFORMATS_H
#define QAT_DIALECT_QAT_IR_FLOATFORMATS_H

#include "qat/Dialect/QAT/IR/QuantizerMath.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::qat {

/// A sign-magnitude float format of `width` bits with a biased exponent and
/// subnormals. Its code is the encoding read as a two's complement integer
/// of `width` bits (e4m3's 1.0 is 0x38 = 56, -1.0 is 0xB8 = -72).
struct FloatFormat {
  /// What the all-ones encodings stand for.
  enum class Specials {
    /// Every encoding is a finite value (e2m1).
    None,
    /// Only the all-ones magnitude is NaN; no infinities (e4m3).
    AllOnesIsNaN,
    /// The all-ones exponent holds infinities and NaN (e5m2, IEEE 754).
    IEEE,
  };

  llvm::StringLiteral name;
  unsigned width;
  unsigned mantissaBits;
  int exponentBias;
  /// The largest finite value; quantization saturates to it.
  double maxValue;
  Specials specials;

  static const FloatFormat e4m3, e5m2, e2m1;

  /// The exponent of the smallest normal value, 1 - bias.
  int getMinNormalExponent() const { return 1 - exponentBias; }
  int64_t getMinCode() const { return -(int64_t(1) << (width - 1)); }
  int64_t getMaxCode() const { return (int64_t(1) << (width - 1)) - 1; }
  /// The code NaN is stored as: the format's NaN, or the lowest code (as
  /// the integer grids store it) where the format has none.
  int64_t getNaNCode() const;

  /// A quantizer on this format must have `width` bits.
  LogicalResult verifyBits(function_ref<InFlightDiagnostic()> emitError,
                           unsigned bits) const;

  /// The value of the format nearest v, ties to even, saturating at
  /// +-maxValue; infinities give +-maxValue, NaN stays NaN, a zero keeps its
  /// sign.
  Value buildRound(QuantMath &math, Value v) const;
  /// round(v) * s.
  Value buildFakeQuant(QuantMath &math, Value v, Value s) const;
  /// The i32 code of round(v); NaN gives getNaNCode().
  Value buildQuantize(QuantMath &math, Value v) const;
  /// The value of an i32 code (only its low `width` bits are read) times s.
  Value buildDequantize(QuantMath &math, Value code, Value s) const;
};

} // namespace mlir::qat

#endif // QAT_DIALECT_QAT_IR_FLOATFORMATS_H
