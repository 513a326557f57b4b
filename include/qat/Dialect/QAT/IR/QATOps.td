//===- QATOps.td - Operations of the qat dialect -----------*- tablegen -*-===//
//
// Rotation, scale, quantize/dequantize, fake quantization and its gradient,
// and the low-bit matmul.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATOPS_TD
#define QAT_DIALECT_QAT_IR_QATOPS_TD

include "qat/Dialect/QAT/IR/QATAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

def QAT_FloatTensor : RankedTensorOf<[AnyFloat]>;
def QAT_CodeTensor : RankedTensorOf<[AnySignlessInteger]>;
def QAT_EstimatorAttr : Attr<
    CPred<"::llvm::isa<::mlir::qat::GradientEstimatorAttrInterface>($_self)">,
    "gradient estimator attribute"> {
  let storageType = "::mlir::qat::GradientEstimatorAttrInterface";
  let returnType = "::mlir::qat::GradientEstimatorAttrInterface";
  let convertFromStorage = "$_self";
}

//===----------------------------------------------------------------------===//
// qat.hadamard
//===----------------------------------------------------------------------===//

def QAT_HadamardOp : QAT_Op<"hadamard", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "block Hadamard rotation along the last dimension";
  let description = [{
    `result = input · blockdiag(H_n, ..., H_n)` along the last dimension, with
    `H_n` the Sylvester Hadamard matrix of size `n` (the block) divided by
    `sqrt(n)`. The block is a power of two that divides the last dimension.
    The transform is orthogonal and symmetric: it is its own inverse and its
    own backward, so `hadamard(hadamard(x))` folds to `x`.

    With `signs %seed` (i64) it is the random-sign Hadamard
    `x · diag(s) · blockdiag(H_n)`: column `j` of the last dimension is
    multiplied by a sign `s_j = ±1` drawn from the seed and `j`
    (docs/semantics.md), the same for every row, so that rotating both
    operands of a matmul along K with one seed leaves the product unchanged.
    It is orthogonal but not symmetric: `inverse` gives its inverse and
    backward, `x · blockdiag(H_n) · diag(s)`, and a rotation followed by its
    `inverse` under the same seed folds away.

    <!-- mlir-doc: wrap %x: tensor<64x512xf32>, %seed: i64 -->
    ```mlir
    %r = qat.hadamard %x block 128 : tensor<64x512xf32>
    %t = qat.hadamard %x block 128 signs %seed : tensor<64x512xf32>
    %u = qat.hadamard %t block 128 signs %seed inverse : tensor<64x512xf32>
    ```
  }];
  let arguments = (ins QAT_FloatTensor:$input, Optional<I64>:$seed,
                       I64Attr:$block, UnitAttr:$inverse);
  let results = (outs QAT_FloatTensor:$result);
  let assemblyFormat = [{
    $input `block` $block (`signs` $seed^)? (`inverse` $inverse^)? attr-dict
    `:` type($input)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// qat.scale
//===----------------------------------------------------------------------===//

def QAT_ScaleOp : QAT_Op<"scale", [Pure]> {
  let summary = "steps of a quantizer computed from data";
  let description = [{
    Computes one step per group for the scale methods that derive it from
    the data (learned steps are operands, not computed). Per group of `x`:

    * `rms_gaussian`: `c = alpha_b * sqrt(mean(x^2)) + 1e-8`
    * `absmax`: `c = max|x|`

    and the step is `2c/(2^b-1)` on the centered grid, `c/qp` on the signed
    grid, `c/max` on a float grid; `mx` and `nvfp4` compute theirs as
    docs/semantics.md states. The result has the input's rank; its last dimension counts the
    groups of a row (1 per row), its other dimensions are the input's
    (all 1 for `per_tensor`).

    <!-- mlir-doc: wrap %x: tensor<64x512xf32> -->
    ```mlir
    %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
        : tensor<64x512xf32> -> tensor<64x1xf32>
    ```
  }];
  let arguments = (ins QAT_FloatTensor:$input, QAT_QuantizerAttr:$quantizer);
  let results = (outs QAT_FloatTensor:$result);
  let assemblyFormat = [{
    $input `as` $quantizer attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def QAT_RmsOp : QAT_Op<"rms", [Pure]> {
  let summary = "root mean square of each quantization group";
  let description = [{
    Computes `sqrt(mean(x^2))` over each group of `x` that the quantizer
    defines (the whole tensor, a row, or `group_size` elements of a row):
    the deviation `std` that the `trust` estimator of `qat.fake_quant_grad`
    compares the quantization error against. The forward computes it with
    the step (the same reduction as an `rms_gaussian` `qat.scale`) and
    passes it to the backward, which then does not reduce `x` again. The
    result has the shape of the quantizer's steps.

    <!-- mlir-doc: wrap %x: tensor<64x512xf32> -->
    ```mlir
    %std = qat.rms %x as <centered, 4 bits, rms_gaussian, per_row>
        : tensor<64x512xf32> -> tensor<64x1xf32>
    ```
  }];
  let arguments = (ins QAT_FloatTensor:$input, QAT_QuantizerAttr:$quantizer);
  let results = (outs QAT_FloatTensor:$result);
  let assemblyFormat = [{
    $input `as` $quantizer attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// qat.quantize / qat.dequantize
//===----------------------------------------------------------------------===//

def QAT_QuantizeOp : QAT_Op<"quantize", [Pure]> {
  let summary = "float tensor to integer codes";
  let description = [{
    With `s` the step of the element's group:

    * signed grid: `code = clamp(round(x/s), qn, qp)`; one bit:
      `code = sign(x)`;
    * centered grid: `k = clamp(round(x/s + 1/2), -2^(b-1)+1, 2^(b-1))` and
      `code = k - 1`, so that the level is `(code + 1/2) * s` and the odd
      integer `2*code + 1` is the exact operand of integer GEMMs.

    `round` is round-half-to-even; a `stochastic` quantizer rounds up with
    probability equal to the fractional distance instead, drawing from the
    `seed` operand (i64) and the element's row-major index, which the op
    then takes. Codes are signless integers read as two's
    complement; the element type must hold `bits` bits (two for the one-bit
    signed grid). With `packed`, codes of at most 4 bits are stored two per
    `i8`, element `2j` in the low nibble and `2j+1` in the high nibble, so the
    last dimension halves.

    <!-- mlir-doc: wrap %x: tensor<64x512xf32>, %s: tensor<64x1xf32> -->
    ```mlir
    %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed
        : tensor<64x512xf32>, tensor<64x1xf32> -> tensor<64x256xi8>
    ```
  }];
  let arguments = (ins QAT_FloatTensor:$input, QAT_FloatTensor:$scale,
                       Optional<I64>:$seed, QAT_QuantizerAttr:$quantizer,
                       UnitAttr:$packed);
  let results = (outs QAT_CodeTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `as` $quantizer (`packed` $packed^)? (`seed` $seed^)?
    attr-dict `:` type($input) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QAT_DequantizeOp : QAT_Op<"dequantize", [Pure]> {
  let summary = "integer codes to float values";
  let description = [{
    The inverse of `qat.quantize` on the grid: `code * s` on the signed grid,
    `(code + 1/2) * s` on the centered grid. `packed` reads two codes per
    `i8` (low nibble first).

    <!-- mlir-doc: wrap %q: tensor<64x512xi8>, %s: tensor<64x1xf32> -->
    ```mlir
    %x = qat.dequantize %q, %s as <signed, 4 bits, learned, per_row>
        : tensor<64x512xi8>, tensor<64x1xf32> -> tensor<64x512xf32>
    ```
  }];
  let arguments = (ins QAT_CodeTensor:$input, QAT_FloatTensor:$scale,
                       QAT_QuantizerAttr:$quantizer, UnitAttr:$packed);
  let results = (outs QAT_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `as` $quantizer (`packed` $packed^)? attr-dict `:`
    type($input) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
  }

//===----------------------------------------------------------------------===//
// qat.fake_quant / qat.fake_quant_grad
//===----------------------------------------------------------------------===//

def QAT_FakeQuantOp : QAT_Op<"fake_quant", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "quantize then dequantize (forward of QAT)";
  let description = [{
    `result = dequantize(quantize(x, s), s)`, computed in floating point,
    except that NaN stays NaN (quantize stores NaN as the lowest code, so the
    round trip through codes is not folded into this op). The op carries the gradient estimator that its backward
    (`qat.fake_quant_grad`) uses. A `stochastic` quantizer takes a `seed`
    (i64) and rounds as `qat.quantize` does with it.

    <!-- mlir-doc: wrap %x: tensor<64x512xf32>, %s: tensor<64x1xf32> -->
    ```mlir
    %y = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row>
        with trust : tensor<64x512xf32>, tensor<64x1xf32>
    ```

    <!-- mlir-doc: wrap %x: tensor<64x512xf32>, %s: tensor<64x32xf32>, %seed: i64 -->
    ```mlir
    %y = qat.fake_quant %x, %s as <e2m1, 4 bits, mx, per_group<16>, stochastic>
        seed %seed with ste : tensor<64x512xf32>, tensor<64x32xf32>
    ```
  }];
  let arguments = (ins QAT_FloatTensor:$input, QAT_FloatTensor:$scale,
                       Optional<I64>:$seed, QAT_QuantizerAttr:$quantizer,
                       QAT_EstimatorAttr:$estimator);
  let results = (outs QAT_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `as` $quantizer (`seed` $seed^)? `with`
    custom<Estimator>($estimator) attr-dict `:` type($input) `,` type($scale)
  }];
  let hasVerifier = 1;
}

def QAT_FakeQuantGradOp : QAT_Op<"fake_quant_grad",
    [Pure, AttrSizedOperandSegments,
     AllTypesMatch<["grad", "input", "inputGrad"]>]> {
  let summary = "backward of qat.fake_quant: dx, and ds for learned steps";
  let description = [{
    Given the incoming gradient `dy`, computes `dx` under the estimator:

    * `ste`: `dx = dy`;
    * `clip`: `dx = dy * [|x| <= c]` (centered, `c = s*(2^b-1)/2`),
      `dx = dy * [qn <= x/s <= qp]` (signed);
    * `trust`: `dx = dy * [|xq - x| <= T * std]`, `std = sqrt(mean(x^2))` of
      the group, or the operand after `std` (from `qat.rms` of the same `x`
      in the forward, so that the backward does not reduce `x` again);
    * `fourier`: `dx = dy * [qn <= v <= qp] * (1 - S(v)) / (1 + S(v))`,
      `v = x/s`.

    For `learned` steps a second result gives the LSQ step gradient, per
    group: `ds = g * sum(dy * (qn <= v <= qp ? round(v) - v : clamp(v, qn, qp)))`
    with `g = 1/sqrt(N*qp)` and `N` the number of elements of `x`. Other scale
    methods are constants for the backward and have no second result.

    With a `stochastic` quantizer, `xq` (trust) and `round(v)` (learned
    steps) are the forward's stochastic roundings: the op then takes the
    forward's `seed` and draws the same bits again (with `ste` or `clip`
    the seed is optional: nothing reads the rounding).

    <!-- mlir-doc: wrap %dy: tensor<64x512xf32>, %x: tensor<64x512xf32>, %s: tensor<64x1xf32>, %std: tensor<64x1xf32> -->
    ```mlir
    %dx, %ds = qat.fake_quant_grad %dy, %x, %s
        as <signed, 2 bits, learned, per_row> with fourier
        : tensor<64x512xf32>, tensor<64x1xf32> -> tensor<64x1xf32>
    %dx2 = qat.fake_quant_grad %dy, %x, %s std %std
        as <centered, 4 bits, rms_gaussian, per_row> with trust
        : tensor<64x512xf32>, tensor<64x1xf32>, tensor<64x1xf32>
    ```
  }];
  let arguments = (ins QAT_FloatTensor:$grad, QAT_FloatTensor:$input,
                       QAT_FloatTensor:$scale,
                       Optional<QAT_FloatTensor>:$std, Optional<I64>:$seed,
                       QAT_QuantizerAttr:$quantizer,
                       QAT_EstimatorAttr:$estimator);
  let results = (outs QAT_FloatTensor:$inputGrad,
                      Optional<QAT_FloatTensor>:$scaleGrad);
  let assemblyFormat = [{
    $grad `,` $input `,` $scale (`std` $std^)? `as` $quantizer (`seed` $seed^)?
    `with` custom<Estimator>($estimator) attr-dict `:`
    type($input) `,` type($scale) (`,` type($std)^)? (`->` type($scaleGrad)^)?
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// qat.matmul
//===----------------------------------------------------------------------===//

def QAT_MatmulOp : QAT_Op<"matmul", [Pure]> {
  let summary = "low-bit matmul of integer or fp8 codes with a dequantizing epilogue";
  let description = [{
    `result[m, n] = sa[m] * sb[n] * sum_k A[m, k] * B[n, k]` where `A` and `B`
    are the levels of the codes in units of their steps: the code itself on
    the signed grid, `code + 1/2` on the centered grid. The sum is exact in
    int32: centered operands are accumulated as odd integers `2*code + 1` and
    the factors 1/2 are folded into the epilogue. `B` is given as N x K (the
    layout of a weight matrix); scales are `per_row` (M x 1 and N x 1) or
    `per_tensor` (1 x 1). With `packed`, both operands hold two codes of at
    most 4 bits per `i8` along K.

    On the fp8 grids (`e4m3`, `e5m2`, both operands, in any mix) the levels
    are the values the codes encode; each product is exact in f32 and the
    sum is accumulated in f32 (in an order each target chooses, so results
    agree to f32 rounding of the sum, not bit for bit).

    <!-- mlir-doc: wrap %a: tensor<64x256xi8>, %b: tensor<128x256xi8>, %sa: tensor<64x1xf32>, %sb: tensor<128x1xf32> -->
    ```mlir
    %y = qat.matmul %a, %b, %sa, %sb
        as <centered, 4 bits, rms_gaussian, per_row>,
           <centered, 4 bits, rms_gaussian, per_row> packed
        : tensor<64x256xi8>, tensor<128x256xi8>, tensor<64x1xf32>,
          tensor<128x1xf32> -> tensor<64x128xbf16>
    ```
  }];
  let arguments = (ins QAT_CodeTensor:$lhs, QAT_CodeTensor:$rhs,
                       QAT_FloatTensor:$lhsScale, QAT_FloatTensor:$rhsScale,
                       QAT_QuantizerAttr:$lhsQuantizer,
                       QAT_QuantizerAttr:$rhsQuantizer, UnitAttr:$packed);
  let results = (outs QAT_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs `,` $lhsScale `,` $rhsScale `as` $lhsQuantizer `,`
    $rhsQuantizer (`packed` $packed^)? attr-dict `:` type($lhs) `,`
    type($rhs) `,` type($lhsScale) `,` type($rhsScale) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // QAT_DIALECT_QAT_IR_QATOPS_TD
