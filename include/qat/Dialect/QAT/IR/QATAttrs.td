//===- QATAttrs.td - Attributes of the qat dialect ---------*- tablegen -*-===//
//
// The quantizer description, its grids and scale methods, and the gradient
// estimators.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATATTRS_TD
#define QAT_DIALECT_QAT_IR_QATATTRS_TD

include "qat/Dialect/QAT/IR/QATDialect.td"
include "qat/Dialect/QAT/IR/QATEnums.td"
include "qat/Dialect/QAT/IR/QATInterfaces.td"
include "mlir/IR/AttrTypeBase.td"

class QAT_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<QAT_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

//===----------------------------------------------------------------------===//
// Quantizer
//===----------------------------------------------------------------------===//

def QAT_QuantizerAttr : QAT_Attr<"Quantizer", "quantizer"> {
  let summary = "grid, bit width, scale method and granularity of a quantizer";
  let description = [{
    Describes one quantizer completely, so that the ops that compute scales,
    quantize, dequantize, fake-quantize and differentiate agree on it.

    * grid: an attribute implementing `GridAttrInterface`, written by its
      mnemonic: `centered` (QuEST: levels `(k - 1/2) * step`,
      `k` in `[-2^(b-1)+1, 2^(b-1)]`, no zero) or `signed` (LSQ: levels
      `k * step`, `k` in `[-2^(b-1), 2^(b-1)-1]`; one bit means
      `sign(x) * step`).
    * bits: 1 to 8.
    * scale method: an attribute implementing `ScaleMethodAttrInterface`,
      written by its mnemonic: `rms_gaussian`
      (`c = alpha_b * sqrt(mean(x^2)) + 1e-8`), `absmax` (`c = max|x|`) or
      `learned` (the step is a trained operand; signed grid only). From a
      clip `c` the step is `2c/(2^b-1)` on the centered grid and
      `c/(2^(b-1)-1)` on the signed grid.
    * granularity: `per_tensor`, `per_row` (the last dimension) or
      `per_group<G>` (G consecutive elements of the last dimension).
    * rounding (optional): round to nearest, ties to even, unless
      `stochastic` follows: then a value rounds up with probability equal
      to its fractional distance, from a counter-based generator keyed by
      the `seed` operand of the op that rounds and the element's index
      (docs/semantics.md), so every target draws the same bits.

    Example:

    ```mlir
    #w4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
    #lsq2 = #qat.quantizer<signed, 2 bits, learned, per_group<64>>
    #nvfp4sr = #qat.quantizer<e2m1, 4 bits, nvfp4, per_group<16>, stochastic>
    ```
  }];
  let parameters = (ins
    "GridAttrInterface":$grid,
    "unsigned":$bits,
    "ScaleMethodAttrInterface":$scaleMethod,
    EnumParameter<QAT_Granularity>:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$groupSize,
    DefaultValuedParameter<"::mlir::qat::Rounding",
                           "::mlir::qat::Rounding::Nearest">:$rounding);
  // The grid and the scale method are written by their mnemonics
  // (`centered`, not `#qat.centered`).
  let assemblyFormat = [{
    `<` custom<Part>($grid) `,` custom<Bits>($bits) `bits` `,`
    custom<Part>($scaleMethod) `,`
    custom<Granularity>($granularity, $groupSize, $rounding) `>`
  }];
  let builders = [
    // The built-in grids and methods by their C API and Python names.
    AttrBuilder<(ins "Grid":$grid, "unsigned":$bits,
                     "ScaleMethod":$scaleMethod, "Granularity":$granularity,
                     CArg<"int64_t", "0">:$groupSize,
                     CArg<"Rounding", "Rounding::Nearest">:$rounding), [{
      return $_get($_ctxt, getBuiltinGrid($_ctxt, grid), bits,
                   getBuiltinScaleMethod($_ctxt, scaleMethod), granularity,
                   groupSize, rounding);
    }]>
  ];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether the step is a trained operand (LSQ) that receives a gradient.
    bool hasLearnedStep() const { return getScaleMethod().isLearned(); }
    /// Whether the ops that round with this quantizer take a seed.
    bool isStochastic() const { return getRounding() == Rounding::Stochastic; }
    /// This quantizer with another rounding.
    QuantizerAttr withRounding(Rounding rounding) const;

    /// Range of the integer codes. Signed grid: [qn, qp] = [-2^(b-1),
    /// 2^(b-1)-1], and [-1, 1] for one bit (sign). Centered grid: the code
    /// is k - 1 in [-2^(b-1), 2^(b-1)-1], standing for the level k - 1/2.
    int64_t getMinCode() const;
    int64_t getMaxCode() const;
    /// The narrowest signless integer width that holds every code.
    unsigned getCodeBits() const;
    /// Number of elements sharing one step along the last dimension of a row
    /// of length `rowLength`.
    int64_t getGroupLength(int64_t rowLength) const;
    /// The shape a scale tensor must have for an input of shape `shape`.
    ::llvm::SmallVector<int64_t> getScaleShape(::llvm::ArrayRef<int64_t> shape) const;
    /// The MSE-optimal clip multiplier alpha_b of a Gaussian (QuEST).
    double getGaussianAlpha() const;

    //===------------------------------------------------------------------===//
    // Scalar IR of the quantizer (QuantizerMath.cpp), built from its grid's
    // and scale method's interfaces: the one definition that every lowering
    // builds, element by element, in f32.
    //===------------------------------------------------------------------===//

    /// The per-group reduction the step is computed from: SumOfSquares
    /// (rms_gaussian), MaxAbs (absmax) or None (learned: an operand).
    ::mlir::qat::GroupStatistic getStepStatistic() const;
    /// The step of a group from its statistic (f32) over `groupLength`
    /// elements (a constant, or a run-time value for dynamic rows).
    ::mlir::Value buildStep(::mlir::qat::QuantMath &math,
                            ::mlir::Value statistic,
                            const ::mlir::qat::GroupLength &groupLength) const;
    /// sqrt(sum / count): the root mean square of a group from its sum of
    /// squares, as rms_gaussian steps and the trust deviation use it.
    static ::mlir::Value
    buildRootMeanSquare(::mlir::qat::QuantMath &math,
                        ::mlir::Value sumOfSquares,
                        const ::mlir::qat::GroupLength &count);
    /// Whether quantize and fake_quant read v = x/s (all but the one-bit
    /// signed grid, which is sign(x)).
    bool needsRatio() const;
    /// The i32 code of x given v = x/s (ignored without needsRatio). NaN
    /// gives code 0; infinities the end codes.
    ::mlir::Value buildQuantize(::mlir::qat::QuantMath &math, ::mlir::Value x,
                                ::mlir::Value v) const;
    /// The level (f32) of an i32 code with step s.
    ::mlir::Value buildDequantize(::mlir::qat::QuantMath &math,
                                  ::mlir::Value code, ::mlir::Value s) const;
    /// dequantize(quantize(x)) without the integer, given v = x/s; NaN
    /// stays NaN. `negHalfStep`: see QuantElement.
    ::mlir::Value buildFakeQuant(::mlir::qat::QuantMath &math, ::mlir::Value x,
                                 ::mlir::Value v, ::mlir::Value s,
                                 ::mlir::Value negHalfStep = {}) const;

    /// Values of one element of fake_quant_grad, built once per element.
    /// qn <= v <= qp.
    ::mlir::Value getInCodeRange(::mlir::qat::QuantMath &math,
                                 ::mlir::qat::QuantElement &element) const;
    /// round(v), used only where v lies in [qn, qp] (sign of zero free).
    ::mlir::Value getRoundedRatio(::mlir::qat::QuantMath &math,
                                  ::mlir::qat::QuantElement &element) const;
    /// The fake-quantized x.
    ::mlir::Value getLevel(::mlir::qat::QuantMath &math,
                           ::mlir::qat::QuantElement &element) const;
    /// The largest |v| over the code range: max(-qn, qp).
    double getMaxAbsRatioInRange() const;
    /// The clip c of the grid as a multiple of the step: c = s * this
    /// ((2^b - 1)/2 on the centered grid).
    double getClipPerStep() const;

    /// LSQ: the term dy multiplies in the learned step's gradient,
    /// qn <= v <= qp ? round(v) - v : clamp(v, qn, qp) (NaN for NaN).
    ::mlir::Value buildStepGradTerm(::mlir::qat::QuantMath &math,
                                    ::mlir::qat::QuantElement &element) const;
    /// LSQ: g = 1/sqrt(N * qp) for a tensor of N elements.
    double getStepGradFactor(int64_t numElements) const;
  }];
}

//===----------------------------------------------------------------------===//
// Grids (GridAttrInterface; their math in Grids.cpp)
//===----------------------------------------------------------------------===//

class QAT_GridAttr<string name, string attrMnemonic, list<string> overridden = []>
    : QAT_Attr<name, attrMnemonic,
               [DeclareAttrInterfaceMethods<QAT_GridAttrInterface,
                                            overridden>]>;

def QAT_CenteredGridAttr
    : QAT_GridAttr<"CenteredGrid", "centered", ["hasHalfIntegerLevels"]> {
  let summary = "QuEST's grid: 2^b levels symmetric around zero, no zero";
  let description = [{
    Levels `(k - 1/2) * step`, `k` in `[-2^(b-1)+1, 2^(b-1)]`, stored as the
    code `k - 1` in `[-2^(b-1), 2^(b-1)-1]`. From a clip `c` the step is
    `2c/(2^b-1)`. Written `centered` inside `#qat.quantizer`.
  }];
}

def QAT_SignedGridAttr
    : QAT_GridAttr<"SignedGrid", "signed", ["getCodeBits", "needsRatio"]> {
  let summary = "LSQ's grid: two's complement levels with zero";
  let description = [{
    Levels `k * step`, `k` in `[-2^(b-1), 2^(b-1)-1]`; one bit means
    `sign(x) * step` (codes -1, 0, 1). From a clip `c` the step is
    `c/(2^(b-1)-1)`. Written `signed` inside `#qat.quantizer`.
  }];
}

/// A low-bit float element format (DESIGN.md section 3) as a grid: the level
/// of x is x/s rounded to the nearest value of the format (ties to even),
/// saturating at its largest finite value; the code is the format's bit
/// encoding, read as a two's complement integer of its width. The math is
/// FloatFormat's (FloatFormats.cpp), shared by the three formats.
class QAT_FloatGridAttr<string name, string attrMnemonic, string format>
    : QAT_GridAttr<name, attrMnemonic,
                   ["hasIntegerLevels", "getRatioRange", "verifyBits"]> {
  let extraClassDeclaration = [{
    /// The element format this grid rounds to.
    static const ::mlir::qat::FloatFormat &getFormat();
  }];
  let extraClassDefinition = [{
    const ::mlir::qat::FloatFormat &$cppClass::getFormat() {
      return ::mlir::qat::FloatFormat::}] # format # [{;
    }
    int64_t $cppClass::getMinCode(unsigned) const {
      return getFormat().getMinCode();
    }
    int64_t $cppClass::getMaxCode(unsigned) const {
      return getFormat().getMaxCode();
    }
    bool $cppClass::hasIntegerLevels() const { return false; }
    std::pair<double, double> $cppClass::getRatioRange(unsigned) const {
      return {-getFormat().maxValue, getFormat().maxValue};
    }
    ::llvm::LogicalResult $cppClass::verifyBits(
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError,
        unsigned bits) const {
      return getFormat().verifyBits(emitError, bits);
    }
    double $cppClass::getClipPerStep(unsigned) const {
      return getFormat().maxValue;
    }
    ::mlir::Value $cppClass::buildStepFromClip(::mlir::qat::QuantMath &math,
        unsigned, ::mlir::Value clip) const {
      return math.divideByConstant(clip, getFormat().maxValue);
    }
    ::mlir::Value $cppClass::buildQuantize(::mlir::qat::QuantMath &math,
        unsigned, ::mlir::Value, ::mlir::Value v) const {
      return getFormat().buildQuantize(math, v);
    }
    ::mlir::Value $cppClass::buildDequantize(::mlir::qat::QuantMath &math,
        unsigned, ::mlir::Value code, ::mlir::Value s) const {
      return getFormat().buildDequantize(math, code, s);
    }
    ::mlir::Value $cppClass::buildFakeQuant(::mlir::qat::QuantMath &math,
        unsigned, ::mlir::Value, ::mlir::Value v, ::mlir::Value s,
        ::mlir::Value) const {
      return getFormat().buildFakeQuant(math, v, s);
    }
  }];
}

def QAT_E4M3GridAttr : QAT_FloatGridAttr<"E4M3Grid", "e4m3", "e4m3"> {
  let summary = "fp8 e4m3 elements: max 448, saturating, no infinities";
  let description = [{
    The OCP fp8 E4M3 format (`f8E4M3FN`): 4 exponent bits (bias 7), 3
    mantissa bits, largest value 448, NaN encoded `S.1111.111`, no
    infinities. 8 bits. Written `e4m3` inside `#qat.quantizer`.
  }];
}

def QAT_E5M2GridAttr : QAT_FloatGridAttr<"E5M2Grid", "e5m2", "e5m2"> {
  let summary = "fp8 e5m2 elements: max 57344, saturating";
  let description = [{
    The OCP fp8 E5M2 format (`f8E5M2`): 5 exponent bits (bias 15), 2
    mantissa bits, largest finite value 57344; infinities and NaN as in
    IEEE 754 (quantization saturates, so only dequantize meets the
    infinities). 8 bits. Written `e5m2` inside `#qat.quantizer`.
  }];
}

def QAT_E2M1GridAttr : QAT_FloatGridAttr<"E2M1Grid", "e2m1", "e2m1"> {
  let summary = "fp4 e2m1 elements: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives";
  let description = [{
    The OCP fp4 E2M1 format (`f4E2M1FN`): 2 exponent bits (bias 1), 1
    mantissa bit, largest value 6, no infinities or NaN. 4 bits (packable
    two a byte). Written `e2m1` inside `#qat.quantizer`.
  }];
}

//===----------------------------------------------------------------------===//
// Scale methods (ScaleMethodAttrInterface; their math in ScaleMethods.cpp)
//===----------------------------------------------------------------------===//

class QAT_ScaleMethodAttr<string name, string attrMnemonic,
                          list<string> overridden = []>
    : QAT_Attr<name, attrMnemonic,
               [DeclareAttrInterfaceMethods<QAT_ScaleMethodAttrInterface,
                                            overridden>]>;

def QAT_RmsGaussianAttr : QAT_ScaleMethodAttr<"RmsGaussian", "rms_gaussian"> {
  let summary = "clip at the MSE-optimal multiple of the RMS of a Gaussian";
  let description = [{
    `c = alpha_b * sqrt(mean(x^2)) + 1e-8` (QuEST). Written `rms_gaussian`
    inside `#qat.quantizer`.
  }];
}

def QAT_AbsMaxAttr : QAT_ScaleMethodAttr<"AbsMax", "absmax"> {
  let summary = "clip at the largest magnitude";
  let description = [{
    `c = max|x|`. Written `absmax` inside `#qat.quantizer`.
  }];
}

def QAT_MxAttr : QAT_ScaleMethodAttr<"Mx", "mx", ["verifyForGrid"]> {
  let summary = "OCP Microscaling: a power-of-two step per block";
  let description = [{
    The shared scale of the OCP Microscaling formats (MX v1.0):
    `step = 2^(floor(log2(max|x|)) - emax)`, `emax` the exponent of the
    element format's largest value (2 for e2m1, 8 for e4m3, 15 for e5m2), so
    the step is an e8m0 value. Float grids only; MXFP4/MXFP8 use it with
    `per_group<32>`. Steps below 2^-126 (f32's smallest normal) are raised
    to it. Written `mx` inside `#qat.quantizer`:
    ```mlir
    #mxfp4 = #qat.quantizer<e2m1, 4 bits, mx, per_group<32>>
    ```
  }];
}

def QAT_NvFp4Attr
    : QAT_ScaleMethodAttr<"NvFp4", "nvfp4",
                          ["verifyForGrid", "isTwoLevel", "buildTwoLevelStep"]> {
  let summary = "NVFP4: an e4m3 step per block under a per-tensor f32 scale";
  let description = [{
    Two-level scaling of e2m1 elements: with `a = max|x| / 6` of the group
    and `T = max|x| / 6` of the whole tensor (f32), `g = 448 / T`, the
    block scale `sb = e4m3(a * g)` (at least e4m3's smallest subnormal,
    2^-9) and the step `sb / g`; a tensor of zeros gets the step 1. The
    e2m1 grid only; NVFP4 uses it with `per_group<16>`:
    ```mlir
    #nvfp4 = #qat.quantizer<e2m1, 4 bits, nvfp4, per_group<16>>
    ```
  }];
}

def QAT_LearnedAttr
    : QAT_ScaleMethodAttr<"Learned", "learned", ["isLearned", "verifyForGrid"]> {
  let summary = "the step is a trained operand (LSQ)";
  let description = [{
    The step is an operand that receives a gradient; signed grid only.
    Written `learned` inside `#qat.quantizer`.
  }];
}

//===----------------------------------------------------------------------===//
// Gradient estimators
//===----------------------------------------------------------------------===//

/// Every estimator defines its backward (buildInputGrad) in
/// GradientEstimators.cpp.
class QAT_EstimatorAttr<string name, string attrMnemonic,
                        list<string> overridden = []>
    : QAT_Attr<name, attrMnemonic,
               [DeclareAttrInterfaceMethods<QAT_GradientEstimatorAttrInterface,
                    !listconcat(["buildInputGrad"], overridden)>]>;

def QAT_SteAttr : QAT_EstimatorAttr<"Ste", "ste", ["isMask"]> {
  let summary = "straight-through estimator: dx = dy";
}

def QAT_ClipAttr : QAT_EstimatorAttr<"Clip", "clip", ["isMask"]> {
  let summary = "clipped straight-through estimator";
  let description = [{
    `dx = dy * [|x| <= k * c]` on the centered grid (`c = step * (2^b-1)/2`),
    `dx = dy * [k * qn <= x/step <= k * qp]` on the signed grid. The factor
    `k` (QuEST's ClipQuantizer `clip_scale`, default 1) widens or narrows
    the window.

    <!-- mlir-doc: attributes -->
    ```mlir
    #qat.clip          // k = 1
    #qat.clip<1.5>
    ```
  }];
  let parameters = (ins "::mlir::FloatAttr":$factor);
  let builders = [
    AttrBuilder<(ins), [{ return $_get($_ctxt, ::mlir::FloatAttr()); }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// k: the given factor, or 1.
    double getFactorOrDefault() const;
  }];
}

def QAT_TrustAttr : QAT_EstimatorAttr<"Trust", "trust",
                                      ["buildGroupInvariant",
                                       "getGroupStatistic", "isMask",
                                       "usesLevel", "verifyForGrid"]> {
  let summary = "QuEST trust estimator: masks large quantization errors";
  let description = [{
    `dx = dy * [|xq - x| <= T * std]`, `std = sqrt(mean(x^2))` of the group.
    Without a factor, `T = alpha_b / (2^b - 1)` (half a step of the
    rms_gaussian scale).

    <!-- mlir-doc: attributes -->
    ```mlir
    #qat.trust          // T from the bit width
    #qat.trust<0.25>    // T = 0.25
    ```
  }];
  let parameters = (ins "::mlir::FloatAttr":$factor);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// T: the given factor, or alpha_b / (2^b - 1) when none was given.
    double getFactorForBits(unsigned bits) const;
  }];
}

def QAT_FourierAttr : QAT_EstimatorAttr<"Fourier", "fourier",
                                        ["verifyForGrid"]> {
  let summary = "StableQAT Fourier surrogate of the rounding gradient";
  let description = [{
    With `v = x/step` and amplitudes `a_k` (default `[0.21]`):
    `S(v) = sqrt(2)*pi * sum_k a_k * cos((2k+1)*pi*(v + round(v)))` and
    `dx = dy * [qn <= v <= qp] * (1 - S(v)) / (1 + S(v))`.
    The gradient stays bounded only while `sqrt(2)*pi*sum|a_k| < 1`.
    Signed grid only.

    <!-- mlir-doc: attributes -->
    ```mlir
    #qat.fourier               // a = [0.21]
    #qat.fourier<[0.2, 0.01]>
    ```
  }];
  let parameters = (ins "::mlir::DenseF64ArrayAttr":$amplitudes);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The amplitudes a_k, [0.21] when none were given.
    ::llvm::SmallVector<double> getAmplitudesOrDefault() const;
  }];
}

//===----------------------------------------------------------------------===//
// Recipes: which quantizers qat-quantize puts around a contraction
//===----------------------------------------------------------------------===//

class QAT_RecipeAttr<string name, string attrMnemonic>
    : QAT_Attr<name, attrMnemonic, [QAT_RecipeAttrInterface]> {
  let assemblyFormat = "(`<` struct(params)^ `>`)?";
  let genVerifyDecl = 1;
}

def QAT_QuestRecipeAttr : QAT_RecipeAttr<"QuestRecipe", "quest"> {
  let summary = "QuEST: Hadamard-rotated weights and activations, trust estimator";
  let description = [{
    Both operands of the contraction are rotated by a block Hadamard
    transform along the contraction dimension, quantized to `bits` bits on
    the centered grid with `rms_gaussian` per-row steps, and multiplied on
    their codes (`qat.matmul`); the backward uses the `trust` estimator.
    `block` is the largest Hadamard block; a contraction whose K it does not
    divide gets the largest power of two that does.

    <!-- mlir-doc: attributes -->
    ```mlir
    #qat.quest                          // 4 bits, block 128
    #qat.quest<bits = 3, block = 64>
    ```
  }];
  let parameters = (ins DefaultValuedParameter<"unsigned", "4">:$bits,
                        DefaultValuedParameter<"int64_t", "128">:$block);
  let extraClassDeclaration = [{
    /// The quantizer of both operands: centered grid, rms_gaussian, per row.
    QuantizerAttr getQuantizer() const;
  }];
}

def QAT_StableQATRecipeAttr : QAT_RecipeAttr<"StableQATRecipe", "stableqat"> {
  let summary = "StableQAT: weights only, learned per-row steps, Fourier surrogate";
  let description = [{
    The weight operand is fake-quantized on the signed grid at `bits` bits
    (1 to 4) with a learned step per output row (LSQ); the step becomes a new
    argument of the function, marked `qat.step`. The backward uses the
    Fourier surrogate `surrogate` (`#qat.fourier` when absent).
    Activations stay in float.

    <!-- mlir-doc: attributes -->
    ```mlir
    #qat.stableqat                      // 2 bits, #qat.fourier
    #qat.stableqat<bits = 3, surrogate = #qat.fourier<[0.2, 0.01]>>
    ```
  }];
  let parameters = (ins DefaultValuedParameter<"unsigned", "2">:$bits,
                        OptionalParameter<"::mlir::Attribute">:$surrogate);
  let extraClassDeclaration = [{
    /// The weight quantizer: signed grid, learned, per row.
    QuantizerAttr getQuantizer() const;
    /// The surrogate, `#qat.fourier` when none was given.
    FourierAttr getSurrogateOrDefault() const;
  }];
}

def QAT_IntRecipeAttr : QAT_RecipeAttr<"IntRecipe", "intn"> {
  let summary = "int-N fake quantization with data-derived steps (STE or clip)";
  let description = [{
    The int-N fake quantization of torchao's QAT configurations: the weight
    operand (and the activation operand when `activations` is given) is
    fake-quantized with steps computed from the data (`absmax`,
    `rms_gaussian`, or `mx` on a float format) per tensor, row or group
    along the contraction dimension, and the backward uses `estimator`
    (`#qat.ste` or `#qat.clip`). The contraction itself stays in float.
    The quantizers may be on a float element grid: fp8 training with
    per-tensor steps, or the MX formats.

    ```mlir
    #int4 = #qat.intn<estimator = #qat.ste,
              weights = #qat.quantizer<signed, 4 bits, absmax, per_group<32>>,
              activations = #qat.quantizer<signed, 8 bits, absmax, per_row>>
    #mxfp4 = #qat.intn<estimator = #qat.ste,
              weights = #qat.quantizer<e2m1, 4 bits, mx, per_group<32>>,
              activations = #qat.quantizer<e2m1, 4 bits, mx, per_group<32>>>
    ```
  }];
  let parameters = (ins "::mlir::Attribute":$estimator,
                        "::mlir::Attribute":$weights,
                        OptionalParameter<"::mlir::Attribute">:$activations);
  let assemblyFormat = "`<` struct(params) `>`";
}

def QAT_KeepFloatRecipeAttr : QAT_RecipeAttr<"KeepFloatRecipe", "keep_float"> {
  let summary = "no quantization: the contraction stays in float";
  let description = [{
    As `qat.recipe = #qat.keep_float` on a contraction, exempts it from the
    pass's default recipe.
  }];
  let parameters = (ins);
  let assemblyFormat = "";
  let genVerifyDecl = 0;
}

#endif // QAT_DIALECT_QAT_IR_QATATTRS_TD
