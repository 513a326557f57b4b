//===- QuantizerMath.h - Scalar IR of the quantizer math -------*- C++ -*-===//
//
// The builder through which the dialect states the math of its grids, scale
// methods and gradient estimators as scalar arith/math IR, once, for every
// lowering (docs/semantics.md).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QUANTIZERMATH_H
#define QAT_DIALECT_QAT_IR_QUANTIZERMATH_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"

namespace mlir::qat {

/// Per-group statistics of the input that a scale method or an estimator
/// needs before its elementwise math. Lowerings know how to reduce each kind;
/// the dialect says which one a quantizer or estimator asks for.
enum class GroupStatistic {
  /// Nothing: the step is an operand, or the estimator is elementwise.
  None,
  /// sum(x^2) of the group (rms_gaussian steps).
  SumOfSquares,
  /// max|x| of the group (absmax steps); NaN propagates.
  MaxAbs,
  /// sqrt(mean(x^2)) of the group (the trust estimator's deviation; the
  /// `std` operand of qat.fake_quant_grad, or qat.rms).
  RootMeanSquare,
};

/// The number of elements a group statistic is averaged over: a compile-time
/// constant, or (a per_tensor group over a dynamic number of rows) an f32
/// value computed at run time as max(N, 1), so that an empty group has the
/// statistics of an all-zero one instead of 0/0.
struct GroupLength {
  GroupLength(int64_t count) : count(count) {}
  explicit GroupLength(Value runtime) : runtime(runtime) {}

  /// The constant count; meaningless when `runtime` is set.
  int64_t count = 0;
  /// The f32 count, or null when the count is the constant.
  Value runtime;
};

/// The scalar operations in which the math of the dialect is written. Every
/// value is an f32 scalar. The virtual primitives have a default that emits
/// the plain arith/math op; a lowering may override one with a sequence that
/// computes the same bits in the range stated for it (the GPU row kernels
/// replace conversions and divisions by full-rate instructions), never
/// different math: a result must not depend on which lowering built it.
class QuantMath {
public:
  QuantMath(OpBuilder &builder, Location loc) : builder(builder), loc(loc) {}
  virtual ~QuantMath() = default;

  OpBuilder &getBuilder() { return builder; }
  Location getLoc() const { return loc; }

  /// An f32 constant (the double rounded to nearest f32).
  Value constant(double value);
  /// An i32 constant.
  Value constantI32(int64_t value);

  /// x / s, IEEE division rounded to nearest.
  virtual Value divide(Value x, Value s);
  /// x / d for a constant d: once per group (steps, means).
  virtual Value divideByConstant(Value x, double d);
  /// x / (the group's length): divideByConstant for a constant one, else
  /// divide by the run-time value.
  Value divideByLength(Value x, const GroupLength &length);
  /// The correctly rounded square root.
  virtual Value sqrt(Value x);
  /// roundeven(y) for |y| <= 2^22 (callers clamp first; anything outside may
  /// give any value, NaN gives NaN). With `keepZeroSign` a zero result has
  /// y's sign as roundeven gives it; without, it may be +0.
  virtual Value roundEven(Value y, bool keepZeroSign);
  /// roundeven(y) as an i32, for |y| <= 2^22 and y not NaN.
  virtual Value roundToI32(Value y);
  /// cos(theta) where the result is used only for |theta| <= maxAbs (it may
  /// be anything beyond).
  virtual Value cos(Value theta, double maxAbs);

  /// The uniform draw u in [0, 1) that stochastic rounding of the element at
  /// row-major index `index` (i64) uses under `seed` (i64): the top 24 bits
  /// of buildRandomBits(seed, index) (docs/semantics.md).
  Value buildUniformDraw(Value seed, Value index);
  /// Whether the sign of column `index` (i64) of a random-sign Hadamard
  /// rotation under `seed` is -1: the top bit of buildRandomBits (i1).
  Value buildRandomSignIsNegative(Value seed, Value index);
  /// Makes the quantization roundings below stochastic with draw `u` (null:
  /// round to nearest, ties to even), for the element being built.
  void setRoundingDraw(Value u) { roundingDraw = u; }
  /// y rounded onto the integers as the quantizer rounds: roundEven, or
  /// with a draw floor(y) + [u < y - floor(y)] (|y| <= 2^22 as roundEven).
  Value roundToLevel(Value y, bool keepZeroSign);
  /// roundToLevel(y) as an i32, for |y| <= 2^22 and y not NaN.
  Value roundToLevelI32(Value y);
  bool isRoundingStochastic() const { return bool(roundingDraw); }

  /// clamp(v, lo, hi); NaN stays NaN (maximumf/minimumf).
  Value clamp(Value v, double lo, double hi);
  /// lo <= v <= hi (false for NaN).
  Value inRange(Value v, double lo, double hi);
  /// v is NaN.
  Value isNaN(Value v);
  /// sign(x): -1, +-0 (keeping the sign of zero) or 1; NaN for NaN.
  Value sign(Value x);
  /// cond ? a : b.
  Value select(Value cond, Value a, Value b);

  /// The bits of an f32 as an i32, and back.
  Value toBits(Value x);
  Value fromBits(Value bits);
  /// 2^floor(log2|x|) for a normal x (exact: x with its mantissa cleared);
  /// 0 for zeros and subnormals, +inf for infinities and NaN.
  Value powerOfTwoFloor(Value x);

protected:
  /// SplitMix64's output (i64) for counter index + 1 from `seed`: the one
  /// generator of the dialect's random draws.
  Value buildRandomBits(Value seed, Value index);

  OpBuilder &builder;
  Location loc;
  Value roundingDraw;
};

/// The values of one element of fake_quant_grad, and the intermediate values
/// that a grid, an estimator and the learned-step gradient share (built once,
/// on first use).
struct QuantElement {
  /// Incoming gradient, input and step (f32).
  Value dy, x, s;
  /// v = x / s.
  Value v;
  /// The group's sqrt(mean(x^2)) when the estimator asks for
  /// GroupStatistic::RootMeanSquare.
  Value deviation;
  /// The estimator's buildGroupInvariant for this group, when the lowering
  /// built it ahead (else null).
  Value groupInvariant;
  /// -s/2 when the caller knows it to be exact and s finite (centered grid):
  /// the level (k - 1/2) * s is then fma(k, s, -s/2), rounded once.
  Value negHalfStep;
  /// The learned-step gradient is computed along: [qn <= v <= qp] is then
  /// derived from clamp(v, qn, qp), which that gradient needs anyway.
  bool withStepGrad = false;

  // Built on first use by the dialect (QuantizerAttr's element methods).
  Value inCodeRange, clamped, rounded, level;
};

/// The two codes of each byte of packed codes `bytes` (i8 or a vector of
/// i8), sign-extended to i8: element 2j from the low nibble of byte j and
/// element 2j+1 from its high nibble (docs/semantics.md).
std::pair<Value, Value> unpackCodePair(OpBuilder &builder, Location loc,
                                       Value bytes);

} // namespace mlir::qat

#endif // QAT_DIALECT_QAT_IR_QUANTIZERMATH_H
