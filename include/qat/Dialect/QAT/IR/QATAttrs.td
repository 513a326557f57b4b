//===- QATAttrs.td - Attributes of the qat dialect ---------*- tablegen -*-===//
//
// The quantizer description and the gradient estimators.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATATTRS_TD
#define QAT_DIALECT_QAT_IR_QATATTRS_TD

include "qat/Dialect/QAT/IR/QATDialect.td"
include "qat/Dialect/QAT/IR/QATEnums.td"
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

    * `grid`: `centered` (QuEST: levels `(k - 1/2) * step`,
      `k` in `[-2^(b-1)+1, 2^(b-1)]`, no zero) or `signed` (LSQ: levels
      `k * step`, `k` in `[-2^(b-1), 2^(b-1)-1]`; one bit means
      `sign(x) * step`).
    * bits: 1 to 8.
    * scale method: `rms_gaussian` (`c = alpha_b * sqrt(mean(x^2)) + 1e-8`),
      `absmax` (`c = max|x|`) or `learned` (the step is a trained operand;
      signed grid only). From a clip `c` the step is `2c/(2^b-1)` on the
      centered grid and `c/(2^(b-1)-1)` on the signed grid.
    * granularity: `per_tensor`, `per_row` (the last dimension) or
      `per_group<G>` (G consecutive elements of the last dimension).

    Example:

    ```mlir
    #w4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
    #lsq2 = #qat.quantizer<signed, 2 bits, learned, per_group<64>>
    ```
  }];
  let parameters = (ins
    EnumParameter<QAT_Grid>:$grid,
    "unsigned":$bits,
    EnumParameter<QAT_ScaleMethod>:$scaleMethod,
    EnumParameter<QAT_Granularity>:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$groupSize);
  let assemblyFormat = [{
    `<` $grid `,` custom<Bits>($bits) `bits` `,` $scaleMethod `,`
    custom<Granularity>($granularity, $groupSize) `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
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
  }];
}

//===----------------------------------------------------------------------===//
// Gradient estimators
//===----------------------------------------------------------------------===//

def QAT_GradientEstimatorAttrInterface
    : AttrInterface<"GradientEstimatorAttrInterface"> {
  let cppNamespace = "::mlir::qat";
  let description = [{
    A rule for the backward of fake quantization with respect to its input.
  }];
  let methods = [
    InterfaceMethod<[{
        Checks that the estimator is defined for a quantizer on `grid` with
        `bits` bits.
      }], "::llvm::LogicalResult", "verifyForGrid",
      (ins "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
           "::mlir::qat::Grid":$grid, "unsigned":$bits),
      [{}], [{ return ::mlir::success(); }]>
  ];
}

class QAT_EstimatorAttr<string name, string attrMnemonic,
                        list<Trait> traits = [QAT_GradientEstimatorAttrInterface]>
    : QAT_Attr<name, attrMnemonic, traits>;

def QAT_SteAttr : QAT_EstimatorAttr<"Ste", "ste"> {
  let summary = "straight-through estimator: dx = dy";
}

def QAT_ClipAttr : QAT_EstimatorAttr<"Clip", "clip"> {
  let summary = "clipped straight-through estimator";
  let description = [{
    `dx = dy * [|x| <= c]` on the centered grid (`c = step * (2^b-1)/2`),
    `dx = dy * [qn <= x/step <= qp]` on the signed grid.
  }];
}

def QAT_TrustAttr : QAT_EstimatorAttr<"Trust", "trust"> {
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
    [DeclareAttrInterfaceMethods<QAT_GradientEstimatorAttrInterface,
                                 ["verifyForGrid"]>]> {
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

#endif // QAT_DIALECT_QAT_IR_QATATTRS_TD
