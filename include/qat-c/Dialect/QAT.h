//===- QAT.h - C API of the qat dialect ---------------------------*- C -*-===//
//
// Registration of the qat dialect and construction, inspection and type
// identification of its attributes from C (and from bindings built on C).
//
// Constructors of attributes with rules take a location and are "checked":
// invalid arguments (9 bits, an unbounded Fourier surrogate, an unknown enum
// value) are reported as an error diagnostic at that location, and a null
// attribute is returned; they never abort. Constructors load the qat dialect
// into the context if it is only registered. Accessors expect an attribute of
// the named kind (test with the qatAttributeIsA* predicates first).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_C_DIALECT_QAT_H
#define QAT_C_DIALECT_QAT_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(QAT, qat);

//===----------------------------------------------------------------------===//
// Enums (values equal those of the C++ enums generated from QATEnums.td)
//===----------------------------------------------------------------------===//

/// The built-in quantization grids: QuEST's `centered` (no zero level),
/// LSQ's `signed`, or a float element format (fp8 e4m3 and e5m2, fp4 e2m1).
/// A getter returns QatGridOther for a grid that C has no name for (one a
/// dialect extension added).
enum QatGrid {
  QatGridOther = -1,
  QatGridCentered = 0,
  QatGridSigned = 1,
  QatGridE4M3 = 2,
  QatGridE5M2 = 3,
  QatGridE2M1 = 4
};
typedef enum QatGrid QatGrid;

/// The built-in ways to obtain the step: from the data or trained;
/// QatScaleMethodOther as for QatGridOther.
enum QatScaleMethod {
  QatScaleMethodOther = -1,
  QatScaleMethodRmsGaussian = 0,
  QatScaleMethodAbsMax = 1,
  QatScaleMethodLearned = 2,
  QatScaleMethodMx = 3,
  QatScaleMethodNvFp4 = 4
};
typedef enum QatScaleMethod QatScaleMethod;

/// Which elements share one step.
enum QatGranularity {
  QatGranularityPerTensor = 0,
  QatGranularityPerRow = 1,
  QatGranularityPerGroup = 2
};
typedef enum QatGranularity QatGranularity;

/// How values round onto the grid: to nearest (ties to even), or
/// stochastically (the ops that round then take an i64 seed).
enum QatRounding { QatRoundingNearest = 0, QatRoundingStochastic = 1 };
typedef enum QatRounding QatRounding;

//===----------------------------------------------------------------------===//
// #qat.quantizer
//===----------------------------------------------------------------------===//

/// Whether `attr` is a #qat.quantizer.
MLIR_CAPI_EXPORTED bool qatAttributeIsAQuantizerAttr(MlirAttribute attr);

/// Builds #qat.quantizer<grid, bits, scaleMethod, granularity> in the context
/// of `loc`. `groupSize` is the G of per_group<G> and must be 0 for the other
/// granularities. Returns a null attribute and emits an error at `loc` when the
/// quantizer is invalid (bits outside [1, 8], a learned step on the centered
/// grid, a non-positive group size, an unknown enum value).
MLIR_CAPI_EXPORTED MlirAttribute qatQuantizerAttrGetChecked(
    MlirLocation loc, QatGrid grid, unsigned bits, QatScaleMethod scaleMethod,
    QatGranularity granularity, int64_t groupSize);

MLIR_CAPI_EXPORTED QatGrid qatQuantizerAttrGetGrid(MlirAttribute attr);
MLIR_CAPI_EXPORTED unsigned qatQuantizerAttrGetBits(MlirAttribute attr);
MLIR_CAPI_EXPORTED QatScaleMethod
qatQuantizerAttrGetScaleMethod(MlirAttribute attr);
MLIR_CAPI_EXPORTED QatGranularity
qatQuantizerAttrGetGranularity(MlirAttribute attr);
/// The G of per_group<G>; 0 for per_tensor and per_row.
MLIR_CAPI_EXPORTED int64_t qatQuantizerAttrGetGroupSize(MlirAttribute attr);
MLIR_CAPI_EXPORTED QatRounding qatQuantizerAttrGetRounding(MlirAttribute attr);
/// `quantizer` with `rounding` instead of its own; null (and a diagnostic at
/// `loc`) where `rounding` is not a QatRounding value.
MLIR_CAPI_EXPORTED MlirAttribute qatQuantizerAttrWithRoundingChecked(
    MlirLocation loc, MlirAttribute quantizer, QatRounding rounding);
/// The range [min, max] of the integer codes of the quantizer.
MLIR_CAPI_EXPORTED int64_t qatQuantizerAttrGetMinCode(MlirAttribute attr);
MLIR_CAPI_EXPORTED int64_t qatQuantizerAttrGetMaxCode(MlirAttribute attr);

MLIR_CAPI_EXPORTED MlirTypeID qatQuantizerAttrGetTypeID(void);

//===----------------------------------------------------------------------===//
// Gradient estimators: #qat.ste, #qat.clip, #qat.trust, #qat.fourier
//===----------------------------------------------------------------------===//

/// Whether `attr` is any gradient estimator (the attributes that
/// qat.fake_quant and qat.fake_quant_grad accept after `with`).
MLIR_CAPI_EXPORTED bool
qatAttributeIsAGradientEstimatorAttr(MlirAttribute attr);

/// #qat.ste: the straight-through estimator.
MLIR_CAPI_EXPORTED bool qatAttributeIsASteAttr(MlirAttribute attr);
MLIR_CAPI_EXPORTED MlirAttribute qatSteAttrGet(MlirContext ctx);
MLIR_CAPI_EXPORTED MlirTypeID qatSteAttrGetTypeID(void);

/// #qat.clip: the clipped straight-through estimator.
MLIR_CAPI_EXPORTED bool qatAttributeIsAClipAttr(MlirAttribute attr);
MLIR_CAPI_EXPORTED MlirAttribute qatClipAttrGet(MlirContext ctx);
MLIR_CAPI_EXPORTED MlirTypeID qatClipAttrGetTypeID(void);

/// #qat.trust: QuEST's trust estimator.
MLIR_CAPI_EXPORTED bool qatAttributeIsATrustAttr(MlirAttribute attr);
/// #qat.trust without a factor: T follows from the bit width.
MLIR_CAPI_EXPORTED MlirAttribute qatTrustAttrGet(MlirContext ctx);
/// #qat.trust<factor>; `factor` must be positive and finite.
MLIR_CAPI_EXPORTED MlirAttribute qatTrustAttrGetChecked(MlirLocation loc,
                                                        double factor);
/// Whether the estimator was given an explicit factor.
MLIR_CAPI_EXPORTED bool qatTrustAttrHasFactor(MlirAttribute attr);
/// The explicit factor, NaN when there is none.
MLIR_CAPI_EXPORTED double qatTrustAttrGetFactor(MlirAttribute attr);
/// The threshold T used for a `bits`-bit quantizer: the explicit factor, or
/// alpha_b / (2^b - 1). NaN when `bits` is outside [1, 8].
MLIR_CAPI_EXPORTED double qatTrustAttrGetFactorForBits(MlirAttribute attr,
                                                       unsigned bits);
MLIR_CAPI_EXPORTED MlirTypeID qatTrustAttrGetTypeID(void);

/// #qat.fourier: StableQAT's Fourier surrogate of the rounding gradient.
MLIR_CAPI_EXPORTED bool qatAttributeIsAFourierAttr(MlirAttribute attr);
/// #qat.fourier with the default amplitudes [0.21].
MLIR_CAPI_EXPORTED MlirAttribute qatFourierAttrGet(MlirContext ctx);
/// #qat.fourier<[a_0, ..., a_{n-1}]>. The amplitudes must be finite, at least
/// one, and keep the gradient bounded: sqrt(2) * pi * sum |a_k| < 1.
MLIR_CAPI_EXPORTED MlirAttribute qatFourierAttrGetChecked(
    MlirLocation loc, intptr_t numAmplitudes, const double *amplitudes);
/// Whether the amplitudes were given explicitly.
MLIR_CAPI_EXPORTED bool qatFourierAttrHasAmplitudes(MlirAttribute attr);
/// The amplitudes in effect (the default [0.21] when none were given).
MLIR_CAPI_EXPORTED intptr_t qatFourierAttrGetNumAmplitudes(MlirAttribute attr);
MLIR_CAPI_EXPORTED double qatFourierAttrGetAmplitude(MlirAttribute attr,
                                                     intptr_t pos);
MLIR_CAPI_EXPORTED MlirTypeID qatFourierAttrGetTypeID(void);

#ifdef __cplusplus
}
#endif

#endif // QAT_C_DIALECT_QAT_H
