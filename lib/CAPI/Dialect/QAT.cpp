//===- QAT.cpp - C API of the qat dialect -----------------------*- C++ -*-===//
//
// Thin wrappers over the attribute classes; every constructor goes through
// getChecked so that bad input from C becomes a diagnostic, not an abort.
//
//===----------------------------------------------------------------------===//

#include "qat-c/Dialect/QAT.h"

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/CAPI/Support.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

#include <limits>

using namespace mlir;
using namespace mlir::qat;

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(QAT, qat, QATDialect)

// The C enums are the ABI of the C++ ones: keep the values in step with
// QATEnums.td.
static_assert(QatGridCentered == static_cast<int>(Grid::Centered) &&
                  QatGridSigned == static_cast<int>(Grid::Signed) &&
                  QatGridE4M3 == static_cast<int>(Grid::E4M3) &&
                  QatGridE5M2 == static_cast<int>(Grid::E5M2) &&
                  QatGridE2M1 == static_cast<int>(Grid::E2M1),
              "QatGrid out of sync with qat::Grid");
static_assert(
    QatScaleMethodRmsGaussian == static_cast<int>(ScaleMethod::RmsGaussian) &&
        QatScaleMethodAbsMax == static_cast<int>(ScaleMethod::AbsMax) &&
        QatScaleMethodLearned == static_cast<int>(ScaleMethod::Learned) &&
        QatScaleMethodMx == static_cast<int>(ScaleMethod::Mx) &&
        QatScaleMethodNvFp4 == static_cast<int>(ScaleMethod::NvFp4),
    "QatScaleMethod out of sync with qat::ScaleMethod");
static_assert(
    QatGranularityPerTensor == static_cast<int>(Granularity::PerTensor) &&
        QatGranularityPerRow == static_cast<int>(Granularity::PerRow) &&
        QatGranularityPerGroup == static_cast<int>(Granularity::PerGroup),
    "QatGranularity out of sync with qat::Granularity");

static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Attribute storage is set up when the dialect loads; building a qat
/// attribute in a context that only has the dialect registered (the usual
/// state after mlirContextAppendDialectRegistry) would dereference null.
static MLIRContext *loadQAT(MLIRContext *ctx) {
  ctx->getOrLoadDialect<QATDialect>();
  return ctx;
}

//===----------------------------------------------------------------------===//
// #qat.quantizer
//===----------------------------------------------------------------------===//

bool qatAttributeIsAQuantizerAttr(MlirAttribute attr) {
  return isa<QuantizerAttr>(unwrap(attr));
}

MlirAttribute qatQuantizerAttrGetChecked(MlirLocation loc, QatGrid grid,
                                         unsigned bits,
                                         QatScaleMethod scaleMethod,
                                         QatGranularity granularity,
                                         int64_t groupSize) {
  Location location = unwrap(loc);
  MLIRContext *ctx = loadQAT(location.getContext());
  // A C enum can hold any integer; reject the ones ODS has no case for
  // before they become C++ enum values.
  std::optional<Grid> gridValue = symbolizeGrid(static_cast<uint32_t>(grid));
  if (!gridValue) {
    emitError(location) << "unknown quantization grid "
                        << static_cast<int>(grid)
                        << ", expected 0 (centered), 1 (signed), 2 (e4m3), 3 "
                           "(e5m2) or 4 (e2m1)";
    return MlirAttribute{nullptr};
  }
  std::optional<ScaleMethod> methodValue =
      symbolizeScaleMethod(static_cast<uint32_t>(scaleMethod));
  if (!methodValue) {
    emitError(location) << "unknown scale method "
                        << static_cast<int>(scaleMethod)
                        << ", expected 0 (rms_gaussian), 1 (absmax), 2 "
                           "(learned), 3 (mx) or 4 (nvfp4)";
    return MlirAttribute{nullptr};
  }
  std::optional<Granularity> granularityValue =
      symbolizeGranularity(static_cast<uint32_t>(granularity));
  if (!granularityValue) {
    emitError(location) << "unknown granularity "
                        << static_cast<int>(granularity)
                        << ", expected 0 (per_tensor), 1 (per_row) or 2 "
                           "(per_group)";
    return MlirAttribute{nullptr};
  }
  return wrap(QuantizerAttr::getChecked([&] { return emitError(location); },
                                        ctx, *gridValue, bits, *methodValue,
                                        *granularityValue, groupSize));
}

QatGrid qatQuantizerAttrGetGrid(MlirAttribute attr) {
  GridAttrInterface grid = cast<QuantizerAttr>(unwrap(attr)).getGrid();
  std::optional<Grid> name = symbolizeGrid(stringifyGrid(grid));
  return name ? static_cast<QatGrid>(*name) : QatGridOther;
}

unsigned qatQuantizerAttrGetBits(MlirAttribute attr) {
  return cast<QuantizerAttr>(unwrap(attr)).getBits();
}

QatScaleMethod qatQuantizerAttrGetScaleMethod(MlirAttribute attr) {
  ScaleMethodAttrInterface method =
      cast<QuantizerAttr>(unwrap(attr)).getScaleMethod();
  std::optional<ScaleMethod> name =
      symbolizeScaleMethod(stringifyScaleMethod(method));
  return name ? static_cast<QatScaleMethod>(*name) : QatScaleMethodOther;
}

QatGranularity qatQuantizerAttrGetGranularity(MlirAttribute attr) {
  return static_cast<QatGranularity>(
      cast<QuantizerAttr>(unwrap(attr)).getGranularity());
}

int64_t qatQuantizerAttrGetGroupSize(MlirAttribute attr) {
  return cast<QuantizerAttr>(unwrap(attr)).getGroupSize();
}

QatRounding qatQuantizerAttrGetRounding(MlirAttribute attr) {
  return static_cast<QatRounding>(
      cast<QuantizerAttr>(unwrap(attr)).getRounding());
}

MlirAttribute qatQuantizerAttrWithRoundingChecked(MlirLocation loc,
                                                  MlirAttribute quantizer,
                                                  QatRounding rounding) {
  Location location = unwrap(loc);
  std::optional<Rounding> roundingValue =
      symbolizeRounding(static_cast<uint32_t>(rounding));
  if (!roundingValue) {
    emitError(location) << "unknown rounding " << static_cast<int>(rounding)
                        << ", expected 0 (nearest) or 1 (stochastic)";
    return MlirAttribute{nullptr};
  }
  auto q = cast<QuantizerAttr>(unwrap(quantizer));
  return wrap(QuantizerAttr::getChecked(
      [&] { return emitError(location); }, q.getContext(), q.getGrid(),
      q.getBits(), q.getScaleMethod(), q.getGranularity(), q.getGroupSize(),
      *roundingValue));
}

int64_t qatQuantizerAttrGetMinCode(MlirAttribute attr) {
  return cast<QuantizerAttr>(unwrap(attr)).getMinCode();
}

int64_t qatQuantizerAttrGetMaxCode(MlirAttribute attr) {
  return cast<QuantizerAttr>(unwrap(attr)).getMaxCode();
}

MlirTypeID qatQuantizerAttrGetTypeID(void) {
  return wrap(QuantizerAttr::getTypeID());
}

//===----------------------------------------------------------------------===//
// Gradient estimators
//===----------------------------------------------------------------------===//

bool qatAttributeIsAGradientEstimatorAttr(MlirAttribute attr) {
  return isa<GradientEstimatorAttrInterface>(unwrap(attr));
}

bool qatAttributeIsASteAttr(MlirAttribute attr) {
  return isa<SteAttr>(unwrap(attr));
}

MlirAttribute qatSteAttrGet(MlirContext ctx) {
  return wrap(SteAttr::get(loadQAT(unwrap(ctx))));
}

MlirTypeID qatSteAttrGetTypeID(void) { return wrap(SteAttr::getTypeID()); }

bool qatAttributeIsAClipAttr(MlirAttribute attr) {
  return isa<ClipAttr>(unwrap(attr));
}

MlirAttribute qatClipAttrGet(MlirContext ctx) {
  return wrap(ClipAttr::get(loadQAT(unwrap(ctx))));
}

MlirTypeID qatClipAttrGetTypeID(void) { return wrap(ClipAttr::getTypeID()); }

bool qatAttributeIsATrustAttr(MlirAttribute attr) {
  return isa<TrustAttr>(unwrap(attr));
}

MlirAttribute qatTrustAttrGet(MlirContext ctx) {
  return wrap(TrustAttr::get(loadQAT(unwrap(ctx)), FloatAttr()));
}

MlirAttribute qatTrustAttrGetChecked(MlirLocation loc, double factor) {
  Location location = unwrap(loc);
  MLIRContext *ctx = loadQAT(location.getContext());
  // f64, as the parser builds it, so that C-built and parsed attributes
  // unique to the same object.
  return wrap(
      TrustAttr::getChecked([&] { return emitError(location); }, ctx,
                            FloatAttr::get(Float64Type::get(ctx), factor)));
}

bool qatTrustAttrHasFactor(MlirAttribute attr) {
  return static_cast<bool>(cast<TrustAttr>(unwrap(attr)).getFactor());
}

double qatTrustAttrGetFactor(MlirAttribute attr) {
  FloatAttr factor = cast<TrustAttr>(unwrap(attr)).getFactor();
  return factor ? factor.getValueAsDouble() : kNaN;
}

double qatTrustAttrGetFactorForBits(MlirAttribute attr, unsigned bits) {
  // getFactorForBits indexes a table of the eight supported widths.
  if (bits < 1 || bits > 8)
    return kNaN;
  return cast<TrustAttr>(unwrap(attr)).getFactorForBits(bits);
}

MlirTypeID qatTrustAttrGetTypeID(void) { return wrap(TrustAttr::getTypeID()); }

bool qatAttributeIsAFourierAttr(MlirAttribute attr) {
  return isa<FourierAttr>(unwrap(attr));
}

MlirAttribute qatFourierAttrGet(MlirContext ctx) {
  return wrap(FourierAttr::get(loadQAT(unwrap(ctx)), DenseF64ArrayAttr()));
}

MlirAttribute qatFourierAttrGetChecked(MlirLocation loc, intptr_t numAmplitudes,
                                       const double *amplitudes) {
  Location location = unwrap(loc);
  MLIRContext *ctx = loadQAT(location.getContext());
  if (numAmplitudes < 0 || (numAmplitudes > 0 && !amplitudes)) {
    emitError(location) << "invalid fourier amplitude array: " << numAmplitudes
                        << " amplitudes"
                        << (amplitudes ? "" : " at a null pointer");
    return MlirAttribute{nullptr};
  }
  // An empty array reaches the verifier, which explains that one amplitude
  // is needed.
  ArrayRef<double> values(amplitudes, static_cast<size_t>(numAmplitudes));
  return wrap(FourierAttr::getChecked([&] { return emitError(location); }, ctx,
                                      DenseF64ArrayAttr::get(ctx, values)));
}

bool qatFourierAttrHasAmplitudes(MlirAttribute attr) {
  return static_cast<bool>(cast<FourierAttr>(unwrap(attr)).getAmplitudes());
}

intptr_t qatFourierAttrGetNumAmplitudes(MlirAttribute attr) {
  return static_cast<intptr_t>(
      cast<FourierAttr>(unwrap(attr)).getAmplitudesOrDefault().size());
}

double qatFourierAttrGetAmplitude(MlirAttribute attr, intptr_t pos) {
  SmallVector<double> amplitudes =
      cast<FourierAttr>(unwrap(attr)).getAmplitudesOrDefault();
  if (pos < 0 || pos >= static_cast<intptr_t>(amplitudes.size()))
    return kNaN;
  return amplitudes[pos];
}

MlirTypeID qatFourierAttrGetTypeID(void) {
  return wrap(FourierAttr::getTypeID());
}
