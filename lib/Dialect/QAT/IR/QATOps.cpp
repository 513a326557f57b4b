//===- QATOps.cpp - Operations of the qat dialect ---------------*- C++ -*-===//
//
// Verifiers, folders and canonicalization patterns of the qat operations.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// Shared verification
//===----------------------------------------------------------------------===//

/// Renders a shape the way tensor types spell it: 4x256.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      shape, os,
      [&](int64_t dim) {
        if (ShapedType::isDynamic(dim))
          os << "?";
        else
          os << dim;
      },
      "x");
  return text;
}

static std::string formatGranularity(QuantizerAttr quantizer) {
  std::string text = stringifyGranularity(quantizer.getGranularity()).str();
  if (quantizer.getGranularity() == Granularity::PerGroup)
    text += "<" + std::to_string(quantizer.getGroupSize()) + ">";
  return text;
}

/// Rows may be unknown until run time (one artifact for every batch and
/// sequence length); the last dimension, along which the quantization groups,
/// Hadamard blocks and packing run, must be static.
static LogicalResult verifyRowTensor(Operation *op, StringRef role,
                                     RankedTensorType type) {
  if (type.getRank() == 0)
    return op->emitOpError()
           << "expects " << role << " of rank >= 1, got " << type;
  if (ShapedType::isDynamic(type.getShape().back()))
    return op->emitOpError() << "expects a static last dimension for the "
                             << role << ", got " << type;
  return success();
}

/// The input is quantized in groups along its last dimension with one step
/// per group; the scale tensor must enumerate exactly those groups.
static LogicalResult verifyScaleShape(Operation *op, RankedTensorType input,
                                      RankedTensorType scale,
                                      QuantizerAttr quantizer,
                                      StringRef scaleRole = "scale") {
  if (failed(verifyRowTensor(op, "input", input)) ||
      failed(verifyRowTensor(op, scaleRole, scale)))
    return failure();
  int64_t rowLength = input.getShape().back();
  if (quantizer.getGranularity() == Granularity::PerGroup &&
      rowLength % quantizer.getGroupSize() != 0)
    return op->emitOpError()
           << "group size " << quantizer.getGroupSize()
           << " does not divide the last dimension " << rowLength;
  SmallVector<int64_t> expected = quantizer.getScaleShape(input.getShape());
  if (scale.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError()
           << "expects " << scaleRole << " of shape " << formatShape(expected)
           << " for " << formatGranularity(quantizer) << " quantization of a "
           << formatShape(input.getShape()) << " input, got "
           << formatShape(scale.getShape());
  return success();
}

/// Codes are signless integers wide enough for the grid; packed codes are
/// two nibbles per i8 along the last dimension.
static LogicalResult verifyCodes(Operation *op, RankedTensorType values,
                                 RankedTensorType codes,
                                 QuantizerAttr quantizer, bool packed) {
  if (failed(verifyRowTensor(op, "code tensor", codes)))
    return failure();
  unsigned width = codes.getElementTypeBitWidth();
  unsigned needed = quantizer.getCodeBits();
  if (packed) {
    if (needed > 4)
      return op->emitOpError()
             << "packed codes hold at most 4 bits, the quantizer needs "
             << needed;
    if (width != 8)
      return op->emitOpError()
             << "packed codes are stored in i8, got " << codes.getElementType();
    if (values.getShape().back() % 2 != 0)
      return op->emitOpError()
             << "packed codes need an even last dimension, got "
             << values.getShape().back();
  } else if (width < needed) {
    return op->emitOpError() << "code type " << codes.getElementType()
                             << " is too narrow for " << quantizer.getBits()
                             << "-bit " << stringifyGrid(quantizer.getGrid())
                             << " codes (needs at least i" << needed << ")";
  }
  SmallVector<int64_t> expected(values.getShape());
  if (packed)
    expected.back() /= 2;
  if (codes.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError()
           << "expects " << (packed ? "packed " : "") << "codes of shape "
           << formatShape(expected) << " for values of shape "
           << formatShape(values.getShape()) << ", got "
           << formatShape(codes.getShape());
  return success();
}

static LogicalResult verifyEstimator(Operation *op,
                                     GradientEstimatorAttrInterface estimator,
                                     QuantizerAttr quantizer) {
  if (quantizer.isStochastic() && isa<FourierAttr>(estimator))
    return op->emitOpError()
           << "the fourier estimator models rounding to nearest (its "
              "surrogate follows round(v)); a stochastic quantizer takes ste, "
              "clip or trust";
  return estimator.verifyForGrid([&] { return op->emitOpError(); },
                                 quantizer.getGrid(), quantizer.getBits());
}

/// A stochastic quantizer's rounding draws from a seed, and only it does;
/// `required`: the op reads that rounding.
static LogicalResult verifySeed(Operation *op, Value seed,
                                QuantizerAttr quantizer, bool required = true) {
  if (quantizer.isStochastic() && required && !seed)
    return op->emitOpError() << "a stochastic quantizer needs a 'seed' "
                                "operand (i64) to draw its rounding from";
  if (!quantizer.isStochastic() && seed)
    return op->emitOpError() << "a 'seed' operand is only meaningful for a "
                                "stochastic quantizer; this one rounds to "
                                "nearest";
  return success();
}

//===----------------------------------------------------------------------===//
// Custom assembly
//===----------------------------------------------------------------------===//

/// An estimator by its mnemonic (`trust<0.25>`): a full `#qat.trust` would
/// take the `:` of the op's types that follows for its own type.
static ParseResult parseEstimator(OpAsmParser &parser,
                                  GradientEstimatorAttrInterface &estimator) {
  FailureOr<GradientEstimatorAttrInterface> parsed =
      parseGradientEstimator(parser);
  if (failed(parsed))
    return failure();
  estimator = *parsed;
  return success();
}

static void printEstimator(OpAsmPrinter &printer, Operation *,
                           GradientEstimatorAttrInterface estimator) {
  printGradientEstimator(printer, estimator);
}

//===----------------------------------------------------------------------===//
// HadamardOp
//===----------------------------------------------------------------------===//

LogicalResult HadamardOp::verify() {
  RankedTensorType type = getInput().getType();
  int64_t block = getBlock();
  if (block <= 0)
    return emitOpError() << "block size must be positive, got " << block;
  if (!llvm::isPowerOf2_64(block))
    return emitOpError() << "block size " << block << " is not a power of two";
  if (type.getRank() == 0)
    return emitOpError() << "expects an input of rank >= 1, got " << type;
  int64_t rowLength = type.getShape().back();
  if (ShapedType::isDynamic(rowLength))
    return emitOpError() << "expects a static last dimension, got " << type;
  if (rowLength % block != 0)
    return emitOpError() << "block size " << block
                         << " does not divide the last dimension " << rowLength;
  if (getInverse() && !getSeed())
    return emitOpError() << "'inverse' is only meaningful with 'signs': a "
                            "block Hadamard rotation is its own inverse";
  return success();
}

OpFoldResult HadamardOp::fold(FoldAdaptor adaptor) {
  // H_1 = [1] (but the signs of a random-sign rotation remain).
  if (getBlock() == 1 && !getSeed())
    return getInput();
  // H_n is orthogonal and symmetric, so it is its own inverse; with signs,
  // diag(s) H and H diag(s) are each other's inverse.
  if (auto producer = getInput().getDefiningOp<HadamardOp>())
    if (producer.getBlock() == getBlock() && producer.getSeed() == getSeed() &&
        (!getSeed() || producer.getInverse() != getInverse()))
      return producer.getInput();
  // A rotation of zero is zero (signs could make some zeros -0).
  if (getSeed())
    return {};
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput()))
    if (splat.getSplatValue<APFloat>().isZero())
      return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// ScaleOp
//===----------------------------------------------------------------------===//

LogicalResult ScaleOp::verify() {
  QuantizerAttr quantizer = getQuantizer();
  if (quantizer.getStepStatistic() == GroupStatistic::None)
    return emitOpError() << "learned steps are parameters passed as operands; "
                            "qat.scale computes rms_gaussian or absmax steps";
  return verifyScaleShape(*this, getInput().getType(), getType(), quantizer,
                          "result");
}

//===----------------------------------------------------------------------===//
// RmsOp
//===----------------------------------------------------------------------===//

/// The trust estimator compares against the deviation in f32: a narrower
/// type would round it and move the mask's boundary.
static LogicalResult verifyDeviationType(Operation *op, StringRef role,
                                         RankedTensorType type) {
  if (!type.getElementType().isF32())
    return op->emitOpError() << "expects " << role
                             << " in f32 (the deviation the trust estimator "
                                "compares against, unrounded), got "
                             << type;
  return success();
}

LogicalResult RmsOp::verify() {
  if (failed(verifyScaleShape(*this, getInput().getType(), getType(),
                              getQuantizer(), "result")))
    return failure();
  return verifyDeviationType(*this, "the result", getType());
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  if (failed(verifyScaleShape(*this, getInput().getType(), getScale().getType(),
                              getQuantizer())) ||
      failed(verifySeed(*this, getSeed(), getQuantizer())))
    return failure();
  return verifyCodes(*this, getInput().getType(), getType(), getQuantizer(),
                     getPacked());
}

OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  // Requantizing exact levels with the same step gives the same codes.
  auto producer = getInput().getDefiningOp<DequantizeOp>();
  if (producer && producer.getScale() == getScale() &&
      producer.getQuantizer() == getQuantizer() &&
      producer.getPacked() == getPacked() &&
      producer.getInput().getType() == getType())
    return producer.getInput();
  return {};
}

LogicalResult DequantizeOp::verify() {
  if (failed(verifyScaleShape(*this, getType(), getScale().getType(),
                              getQuantizer())))
    return failure();
  return verifyCodes(*this, getType(), getInput().getType(), getQuantizer(),
                     getPacked());
}

//===----------------------------------------------------------------------===//
// FakeQuantOp / FakeQuantGradOp
//===----------------------------------------------------------------------===//

LogicalResult FakeQuantOp::verify() {
  if (failed(verifyScaleShape(*this, getInput().getType(), getScale().getType(),
                              getQuantizer())) ||
      failed(verifySeed(*this, getSeed(), getQuantizer())))
    return failure();
  return verifyEstimator(*this, getEstimator(), getQuantizer());
}

LogicalResult FakeQuantGradOp::verify() {
  QuantizerAttr quantizer = getQuantizer();
  if (failed(verifyScaleShape(*this, getInput().getType(), getScale().getType(),
                              quantizer)) ||
      failed(verifyEstimator(*this, getEstimator(), quantizer)))
    return failure();
  if (Value std = getStd()) {
    if (getEstimator().getGroupStatistic() != GroupStatistic::RootMeanSquare)
      return emitOpError() << "a 'std' operand is the deviation that the "
                              "trust estimator reads; the estimator here is "
                           << getEstimator();
    auto stdType = cast<RankedTensorType>(std.getType());
    if (failed(verifyScaleShape(*this, getInput().getType(), stdType, quantizer,
                                "'std'")) ||
        failed(verifyDeviationType(*this, "'std'", stdType)))
      return failure();
  }
  // The rounding is read by trust (xq) and by the LSQ term (round(v)).
  bool readsRounding =
      isa<TrustAttr>(getEstimator()) || quantizer.hasLearnedStep();
  if (quantizer.isStochastic() && readsRounding && !getSeed())
    return emitOpError() << "reads the stochastic rounding of the forward "
                            "(trust's xq or the LSQ term's round(v)): it needs "
                            "the forward's 'seed' to draw it again";
  if (failed(verifySeed(*this, getSeed(), quantizer, readsRounding)))
    return failure();
  bool learned = quantizer.hasLearnedStep();
  if (learned && !getScaleGrad())
    return emitOpError() << "learned steps need a second result, the step "
                            "gradient ds";
  if (!learned && getScaleGrad())
    return emitOpError() << "only learned steps have a gradient; a "
                         << stringifyScaleMethod(quantizer.getScaleMethod())
                         << " step is a constant of the backward";
  if (getScaleGrad() && getScaleGrad().getType() != getScale().getType())
    return emitOpError() << "expects the step gradient to have the step's "
                            "type "
                         << getScale().getType() << ", got "
                         << getScaleGrad().getType();
  return success();
}

LogicalResult FakeQuantGradOp::fold(FoldAdaptor,
                                    SmallVectorImpl<OpFoldResult> &results) {
  // The straight-through estimator passes dy unchanged.
  if (!isa<SteAttr>(getEstimator()) || getScaleGrad())
    return failure();
  results.push_back(getGrad());
  return success();
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

/// Largest magnitude of the integer that enters the int32 accumulation: the
/// odd integer 2*code+1 on a grid of half-integer levels, the code otherwise.
static int64_t maxAccumulatedMagnitude(QuantizerAttr quantizer) {
  int64_t lo = quantizer.getMinCode(), hi = quantizer.getMaxCode();
  if (quantizer.getGrid().hasHalfIntegerLevels()) {
    lo = 2 * lo + 1;
    hi = 2 * hi + 1;
  }
  return std::max(-lo, hi);
}

LogicalResult MatmulOp::verify() {
  RankedTensorType lhs = getLhs().getType(), rhs = getRhs().getType();
  RankedTensorType result = getType();
  for (auto [role, type] :
       {std::pair{"lhs", lhs}, {"rhs", rhs}, {"result", result}}) {
    if (type.getRank() != 2 || type.isDynamicDim(1))
      return emitOpError() << "expects a 2-D " << role
                           << " with a static second dimension, got " << type;
  }
  // One artifact for every token count: M may be dynamic, N (the weight's
  // rows, the output features) may not.
  if (rhs.isDynamicDim(0))
    return emitOpError() << "expects a static number of rhs rows (N), got "
                         << rhs;
  Type resultElement = result.getElementType();
  if (!resultElement.isF32() && !resultElement.isBF16() &&
      !resultElement.isF16())
    return emitOpError() << "expects an f32, bf16 or f16 result, got "
                         << resultElement;

  int64_t m = lhs.getDimSize(0), n = rhs.getDimSize(0);
  int64_t k = lhs.getDimSize(1) * (getPacked() ? 2 : 1);
  if (lhs.getDimSize(1) != rhs.getDimSize(1))
    return emitOpError() << "expects lhs and rhs to share the contraction "
                            "dimension (B is N x K), got "
                         << formatShape(lhs.getShape()) << " and "
                         << formatShape(rhs.getShape());
  if (result.getShape() != ArrayRef<int64_t>{m, n})
    return emitOpError() << "expects result of shape " << m << "x" << n
                         << ", got " << formatShape(result.getShape());

  GridAttrInterface lhsGrid = getLhsQuantizer().getGrid(),
                    rhsGrid = getRhsQuantizer().getGrid();
  if (lhsGrid.hasIntegerLevels() != rhsGrid.hasIntegerLevels())
    return emitOpError() << "multiplies integer codes by integer codes or fp8 "
                            "codes by fp8 codes, got "
                         << stringifyGrid(lhsGrid) << " lhs and "
                         << stringifyGrid(rhsGrid) << " rhs codes";
  for (auto [role, codes, scale, quantizer, rows] :
       {std::tuple{"lhs", lhs, getLhsScale().getType(), getLhsQuantizer(), m},
        {"rhs", rhs, getRhsScale().getType(), getRhsQuantizer(), n}}) {
    if (isa<E2M1GridAttr>(quantizer.getGrid()))
      return emitOpError() << "multiplies integer or fp8 (e4m3, e5m2) codes; "
                              "the "
                           << role
                           << "'s e2m1 codes have no tensor-core product here "
                              "(dequantize them and use a float contraction)";
    if (quantizer.getGranularity() == Granularity::PerGroup)
      return emitOpError() << "takes per_tensor or per_row scales, got "
                              "per_group for the "
                           << role;
    RankedTensorType values = RankedTensorType::get({rows, k}, resultElement);
    std::string scaleRole = std::string(role) + " scale";
    if (failed(verifyScaleShape(*this, values, scale, quantizer, scaleRole)) ||
        failed(verifyCodes(*this, values, codes, quantizer, getPacked())))
      return failure();
  }

  // fp8 products are exact in f32 and summed in f32: no bound on K.
  if (!lhsGrid.hasIntegerLevels())
    return success();
  // Each product of the sum is bounded by the operands' largest integers;
  // the whole sum must stay inside the int32 accumulator.
  int64_t bound = maxAccumulatedMagnitude(getLhsQuantizer()) *
                  maxAccumulatedMagnitude(getRhsQuantizer());
  if (k > std::numeric_limits<int32_t>::max() / bound)
    return emitOpError() << "contraction size " << k
                         << " can overflow the int32 accumulator (at most "
                         << std::numeric_limits<int32_t>::max() / bound
                         << " for these bit widths)";
  return success();
}

#define GET_OP_CLASSES
#include "qat/Dialect/QAT/IR/QATOps.cpp.inc"
