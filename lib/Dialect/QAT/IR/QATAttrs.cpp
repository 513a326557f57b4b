//===- QATAttrs.cpp - Attributes of the qat dialect -------------*- C++ -*-===//
//
// Parsing, printing and verification of the quantizer, its parts and the
// gradient estimators.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace mlir::qat;

#include "qat/Dialect/QAT/IR/QATEnums.cpp.inc"

#include "qat/Dialect/QAT/IR/QATAttrInterfaces.cpp.inc"

/// The bit width, read as a signed 64-bit integer so that `-3 bits` or
/// `99999999999 bits` are reported as such rather than wrapped or rejected
/// as too large for the storage type.
static ParseResult parseBits(AsmParser &parser, unsigned &bits) {
  SMLoc loc = parser.getCurrentLocation();
  int64_t value;
  if (parser.parseInteger(value))
    return failure();
  if (value < 1 || value > 8)
    return parser.emitError(loc, "bits must be in [1, 8], got ") << value;
  bits = static_cast<unsigned>(value);
  return success();
}

static void printBits(AsmPrinter &printer, unsigned bits) { printer << bits; }

/// `per_tensor`, `per_row` or `per_group<G>`, then the rounding: nothing
/// (to nearest), `, nearest` or `, stochastic`.
static ParseResult parseGranularity(AsmParser &parser, Granularity &granularity,
                                    int64_t &groupSize, Rounding &rounding) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Granularity> parsed = symbolizeGranularity(keyword);
  if (!parsed)
    return parser.emitError(loc, "expected granularity per_tensor, per_row or "
                                 "per_group<G>, got '")
           << keyword << "'";
  granularity = *parsed;
  groupSize = 0;
  if (*parsed == Granularity::PerGroup &&
      (parser.parseLess() || parser.parseInteger(groupSize) ||
       parser.parseGreater()))
    return failure();
  rounding = Rounding::Nearest;
  if (failed(parser.parseOptionalComma()))
    return success();
  loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Rounding> parsedRounding = symbolizeRounding(keyword);
  if (!parsedRounding)
    return parser.emitError(loc, "expected rounding nearest or stochastic, "
                                 "got '")
           << keyword << "'";
  rounding = *parsedRounding;
  return success();
}

static void printGranularity(AsmPrinter &printer, Granularity granularity,
                             int64_t groupSize, Rounding rounding) {
  printer << stringifyGranularity(granularity);
  if (granularity == Granularity::PerGroup)
    printer << "<" << groupSize << ">";
  if (rounding != Rounding::Nearest)
    printer << ", " << stringifyRounding(rounding);
}

/// Prints the shortest decimal that parses back to exactly `value`, so that
/// `0.21` reads as written and round trips bit for bit. MLIR's float literal
/// needs a '.' in its mantissa (`1e+02` lexes as the integer 1 and a
/// keyword), so one is added where %g leaves it out: `100.0` prints as
/// `1.0e+02`, `1` as `1.0`.
static void printShortestDouble(AsmPrinter &printer, double value) {
  char text[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof(text), "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  StringRef printed(text);
  size_t exponent = printed.find_first_of("eE");
  StringRef mantissa = printed.take_front(exponent);
  printer << mantissa;
  if (!mantissa.contains('.'))
    printer << ".0";
  if (exponent != StringRef::npos)
    printer << printed.drop_front(exponent);
}

/// A grid or scale method inside `#qat.quantizer`, written by its mnemonic.
static ParseResult parsePart(AsmParser &parser, GridAttrInterface &grid);
static ParseResult parsePart(AsmParser &parser,
                             ScaleMethodAttrInterface &method);
static void printPart(AsmPrinter &printer, Attribute part);

#define GET_ATTRDEF_CLASSES
#include "qat/Dialect/QAT/IR/QATAttrs.cpp.inc"

/// The mnemonic of a qat attribute: its name without the dialect prefix.
static StringRef getMnemonic(Attribute attr) {
  StringRef name = attr.getAbstractAttribute().getName();
  name.consume_front("qat.");
  return name;
}

/// A qat attribute written by its mnemonic that implements `Interface`,
/// `what` naming the kind in the diagnostic.
template <typename Interface>
static ParseResult parseByMnemonic(AsmParser &parser, Interface &result,
                                   StringRef what) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef mnemonic;
  Attribute attr;
  OptionalParseResult parsed =
      generatedAttributeParser(parser, &mnemonic, Type(), attr);
  if (!parsed.has_value())
    return parser.emitError(loc, "expected a ")
           << what << ", got '" << mnemonic << "'";
  if (failed(*parsed))
    return failure();
  result = dyn_cast<Interface>(attr);
  if (!result)
    return parser.emitError(loc, "expected a ")
           << what << ", got '" << getMnemonic(attr) << "'";
  return success();
}

static ParseResult parsePart(AsmParser &parser, GridAttrInterface &grid) {
  return parseByMnemonic(
      parser, grid, "quantization grid (centered, signed, e4m3, e5m2, e2m1)");
}

static ParseResult parsePart(AsmParser &parser,
                             ScaleMethodAttrInterface &method) {
  return parseByMnemonic(
      parser, method,
      "scale method (rms_gaussian, absmax, mx, nvfp4, learned)");
}

static void printPart(AsmPrinter &printer, Attribute part) {
  (void)generatedAttributePrinter(part, printer);
}

StringRef mlir::qat::stringifyGrid(GridAttrInterface grid) {
  return getMnemonic(grid);
}

StringRef mlir::qat::stringifyScaleMethod(ScaleMethodAttrInterface method) {
  return getMnemonic(method);
}

GridAttrInterface mlir::qat::getBuiltinGrid(MLIRContext *ctx, Grid grid) {
  switch (grid) {
  case Grid::Centered:
    return CenteredGridAttr::get(ctx);
  case Grid::Signed:
    return SignedGridAttr::get(ctx);
  case Grid::E4M3:
    return E4M3GridAttr::get(ctx);
  case Grid::E5M2:
    return E5M2GridAttr::get(ctx);
  case Grid::E2M1:
    return E2M1GridAttr::get(ctx);
  }
  llvm_unreachable("unknown built-in grid");
}

ScaleMethodAttrInterface mlir::qat::getBuiltinScaleMethod(MLIRContext *ctx,
                                                          ScaleMethod method) {
  switch (method) {
  case ScaleMethod::RmsGaussian:
    return RmsGaussianAttr::get(ctx);
  case ScaleMethod::AbsMax:
    return AbsMaxAttr::get(ctx);
  case ScaleMethod::Learned:
    return LearnedAttr::get(ctx);
  case ScaleMethod::Mx:
    return MxAttr::get(ctx);
  case ScaleMethod::NvFp4:
    return NvFp4Attr::get(ctx);
  }
  llvm_unreachable("unknown built-in scale method");
}

FailureOr<GradientEstimatorAttrInterface>
mlir::qat::parseGradientEstimator(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef mnemonic;
  Attribute attr;
  OptionalParseResult result =
      generatedAttributeParser(parser, &mnemonic, Type(), attr);
  if (!result.has_value() || failed(*result)) {
    if (!result.has_value())
      parser.emitError(loc, "expected a gradient estimator (ste, clip, trust "
                            "or fourier), got '")
          << mnemonic << "'";
    return failure();
  }
  auto estimator = dyn_cast<GradientEstimatorAttrInterface>(attr);
  if (!estimator)
    return parser.emitError(loc, "expected a gradient estimator (ste, clip, "
                                 "trust or fourier), got ")
           << attr;
  return estimator;
}

void mlir::qat::printGradientEstimator(AsmPrinter &printer,
                                       GradientEstimatorAttrInterface attr) {
  (void)generatedAttributePrinter(attr, printer);
}

void QATDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qat/Dialect/QAT/IR/QATAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantizerAttr
//===----------------------------------------------------------------------===//

LogicalResult
QuantizerAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      GridAttrInterface grid, unsigned bits,
                      ScaleMethodAttrInterface scaleMethod,
                      Granularity granularity, int64_t groupSize, Rounding) {
  if (!grid || !scaleMethod)
    return emitError() << "a quantizer needs a grid and a scale method";
  if (bits < 1 || bits > 8)
    return emitError() << "bits must be in [1, 8], got " << bits;
  if (failed(grid.verifyBits(emitError, bits)))
    return failure();
  if (granularity == Granularity::PerGroup && groupSize <= 0)
    return emitError() << "group size must be positive, got " << groupSize;
  if (granularity != Granularity::PerGroup && groupSize != 0)
    return emitError() << "a group size is only meaningful for per_group, got "
                       << stringifyGranularity(granularity);
  return scaleMethod.verifyForGrid(emitError, grid);
}

QuantizerAttr QuantizerAttr::withRounding(Rounding rounding) const {
  return get(getContext(), getGrid(), getBits(), getScaleMethod(),
             getGranularity(), getGroupSize(), rounding);
}

int64_t QuantizerAttr::getMinCode() const {
  return getGrid().getMinCode(getBits());
}

int64_t QuantizerAttr::getMaxCode() const {
  return getGrid().getMaxCode(getBits());
}

unsigned QuantizerAttr::getCodeBits() const {
  return getGrid().getCodeBits(getBits());
}

int64_t QuantizerAttr::getGroupLength(int64_t rowLength) const {
  return getGranularity() == Granularity::PerGroup ? getGroupSize() : rowLength;
}

SmallVector<int64_t>
QuantizerAttr::getScaleShape(ArrayRef<int64_t> shape) const {
  SmallVector<int64_t> scaleShape(shape);
  if (scaleShape.empty())
    return scaleShape;
  switch (getGranularity()) {
  case Granularity::PerTensor:
    llvm::fill(scaleShape, 1);
    break;
  case Granularity::PerRow:
    scaleShape.back() = 1;
    break;
  case Granularity::PerGroup:
    scaleShape.back() = shape.back() / getGroupSize();
    break;
  }
  return scaleShape;
}

double mlir::qat::getGaussianClipAlpha(unsigned bits) {
  // MSE-optimal clip of a unit Gaussian for 2^b levels (QuEST, DESIGN.md 1).
  static constexpr double alpha[8] = {0.7978845587140913, 1.4935346200015913,
                                      2.051068354131873,  2.513930578568423,
                                      2.9160938834961225, 3.276597282593217,
                                      3.6010497188221655, 3.884938678807525};
  return alpha[bits - 1];
}

double QuantizerAttr::getGaussianAlpha() const {
  return getGaussianClipAlpha(getBits());
}

//===----------------------------------------------------------------------===//
// Gradient estimators
//===----------------------------------------------------------------------===//

/// An estimator's optional factor: absent, or positive and finite.
static LogicalResult
verifyEstimatorFactor(function_ref<InFlightDiagnostic()> emitError,
                      FloatAttr factor, StringRef estimator) {
  if (!factor)
    return success();
  double value = factor.getValueAsDouble();
  if (!std::isfinite(value) || value <= 0)
    return emitError() << estimator
                       << " factor must be positive and finite, got " << value;
  return success();
}

LogicalResult ClipAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               FloatAttr factor) {
  return verifyEstimatorFactor(emitError, factor, "clip");
}

double ClipAttr::getFactorOrDefault() const {
  FloatAttr factor = getFactor();
  return factor ? factor.getValueAsDouble() : 1.0;
}

/// `#qat.clip` or `#qat.clip<k>`; `clip<1>` is `clip`.
Attribute ClipAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  if (failed(parser.parseOptionalLess()))
    return ClipAttr::get(ctx);
  SMLoc loc = parser.getCurrentLocation();
  double value;
  if (parser.parseFloat(value) || parser.parseGreater())
    return {};
  if (value == 1.0)
    return ClipAttr::get(ctx);
  return parser.getChecked<ClipAttr>(
      loc, ctx, FloatAttr::get(Float64Type::get(ctx), value));
}

void ClipAttr::print(AsmPrinter &printer) const {
  FloatAttr factor = getFactor();
  if (!factor)
    return;
  printer << "<";
  printShortestDouble(printer, factor.getValueAsDouble());
  printer << ">";
}

LogicalResult TrustAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                FloatAttr factor) {
  return verifyEstimatorFactor(emitError, factor, "trust");
}

double TrustAttr::getFactorForBits(unsigned bits) const {
  if (FloatAttr factor = getFactor())
    return factor.getValueAsDouble();
  return getGaussianClipAlpha(bits) / double((1 << bits) - 1);
}

/// `#qat.trust` or `#qat.trust<T>`.
Attribute TrustAttr::parse(AsmParser &parser, Type) {
  if (failed(parser.parseOptionalLess()))
    return TrustAttr::get(parser.getContext(), FloatAttr());
  SMLoc loc = parser.getCurrentLocation();
  double value;
  if (parser.parseFloat(value) || parser.parseGreater())
    return {};
  return parser.getChecked<TrustAttr>(
      loc, parser.getContext(),
      FloatAttr::get(Float64Type::get(parser.getContext()), value));
}

void TrustAttr::print(AsmPrinter &printer) const {
  FloatAttr factor = getFactor();
  if (!factor)
    return;
  printer << "<";
  printShortestDouble(printer, factor.getValueAsDouble());
  printer << ">";
}

LogicalResult
TrustAttr::verifyForGrid(function_ref<InFlightDiagnostic()> emitError,
                         GridAttrInterface grid, unsigned) const {
  // The default threshold is half a step of an integer grid's rms_gaussian
  // scale, which means nothing for a float format's uneven spacing.
  if (!getFactor() && !grid.hasIntegerLevels())
    return emitError() << "the trust estimator needs an explicit threshold "
                          "(trust<T>) on the "
                       << stringifyGrid(grid) << " grid";
  return success();
}

LogicalResult
FourierAttr::verifyForGrid(function_ref<InFlightDiagnostic()> emitError,
                           GridAttrInterface grid, unsigned) const {
  if (!isa<SignedGridAttr>(grid))
    return emitError()
           << "the fourier estimator is defined on the signed grid, got "
           << stringifyGrid(grid);
  return success();
}

LogicalResult FourierAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  DenseF64ArrayAttr amplitudes) {
  if (!amplitudes)
    return success();
  if (amplitudes.empty())
    return emitError() << "the fourier estimator needs at least one amplitude";
  double sum = 0;
  for (double a : amplitudes.asArrayRef()) {
    if (!std::isfinite(a))
      return emitError() << "fourier amplitudes must be finite, got " << a;
    sum += std::fabs(a);
  }
  double bound = std::sqrt(2.0) * M_PI * sum;
  if (!(bound < 1.0))
    return emitError() << "fourier amplitudes give sqrt(2)*pi*sum|a_k| = "
                       << llvm::formatv("{0:F4}", bound).str()
                       << ", which must be < 1 for a bounded gradient";
  return success();
}

SmallVector<double> FourierAttr::getAmplitudesOrDefault() const {
  if (DenseF64ArrayAttr amplitudes = getAmplitudes())
    return SmallVector<double>(amplitudes.asArrayRef());
  return {0.21};
}

/// `#qat.fourier` or `#qat.fourier<[a_0, a_1, ...]>`.
Attribute FourierAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  if (failed(parser.parseOptionalLess()))
    return FourierAttr::get(ctx, DenseF64ArrayAttr());
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<double> amplitudes;
  if (parser.parseCommaSeparatedList(
          AsmParser::Delimiter::Square,
          [&] { return parser.parseFloat(amplitudes.emplace_back()); }) ||
      parser.parseGreater())
    return {};
  return parser.getChecked<FourierAttr>(
      loc, ctx, DenseF64ArrayAttr::get(ctx, amplitudes));
}

void FourierAttr::print(AsmPrinter &printer) const {
  DenseF64ArrayAttr amplitudes = getAmplitudes();
  if (!amplitudes)
    return;
  printer << "<[";
  llvm::interleaveComma(amplitudes.asArrayRef(), printer,
                        [&](double a) { printShortestDouble(printer, a); });
  printer << "]>";
}

//===----------------------------------------------------------------------===//
// Recipes
//===----------------------------------------------------------------------===//

LogicalResult
QuestRecipeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits, int64_t block) {
  if (bits < 1 || bits > 8)
    return emitError() << "quest bits must be in [1, 8], got " << bits;
  if (block < 1 || !llvm::isPowerOf2_64(block))
    return emitError() << "quest Hadamard block must be a positive power of "
                          "two, got "
                       << block;
  return success();
}

QuantizerAttr QuestRecipeAttr::getQuantizer() const {
  MLIRContext *ctx = getContext();
  return QuantizerAttr::get(ctx, GridAttrInterface(CenteredGridAttr::get(ctx)),
                            getBits(),
                            ScaleMethodAttrInterface(RmsGaussianAttr::get(ctx)),
                            Granularity::PerRow, 0, Rounding::Nearest);
}

LogicalResult
StableQATRecipeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                            unsigned bits, Attribute surrogate) {
  if (bits < 1 || bits > 4)
    return emitError() << "stableqat bits must be in [1, 4], got " << bits;
  if (surrogate && !isa<FourierAttr>(surrogate))
    return emitError() << "stableqat surrogate must be a #qat.fourier, got "
                       << surrogate;
  return success();
}

QuantizerAttr StableQATRecipeAttr::getQuantizer() const {
  MLIRContext *ctx = getContext();
  return QuantizerAttr::get(ctx, GridAttrInterface(SignedGridAttr::get(ctx)),
                            getBits(),
                            ScaleMethodAttrInterface(LearnedAttr::get(ctx)),
                            Granularity::PerRow, 0, Rounding::Nearest);
}

FourierAttr StableQATRecipeAttr::getSurrogateOrDefault() const {
  if (auto surrogate = dyn_cast_or_null<FourierAttr>(getSurrogate()))
    return surrogate;
  return FourierAttr::get(getContext(), DenseF64ArrayAttr());
}

/// A quantizer with steps computed from the data, as the int-N recipe needs.
static LogicalResult
verifyDataQuantizer(function_ref<InFlightDiagnostic()> emitError,
                    StringRef role, Attribute attr) {
  auto quantizer = dyn_cast<QuantizerAttr>(attr);
  if (!quantizer)
    return emitError() << "intn " << role << " must be a #qat.quantizer, got "
                       << attr;
  if (quantizer.hasLearnedStep())
    return emitError() << "intn " << role
                       << " steps come from the data (absmax, rms_gaussian, "
                          "mx or nvfp4), got learned; use #qat.stableqat "
                          "for learned steps";
  return success();
}

LogicalResult
IntRecipeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      Attribute estimator, Attribute weights,
                      Attribute activations) {
  if (!isa<SteAttr, ClipAttr>(estimator))
    return emitError() << "intn estimator must be #qat.ste or #qat.clip, got "
                       << estimator;
  if (failed(verifyDataQuantizer(emitError, "weights", weights)))
    return failure();
  if (activations &&
      failed(verifyDataQuantizer(emitError, "activations", activations)))
    return failure();
  return success();
}
