//===- Passes.td - Conversions out of the qat dialect ------*- tablegen -*-===//
//
// Declarations of the passes that lower qat ops to other dialects.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_PASSES_TD
#define QAT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// QATToLinalg
//===----------------------------------------------------------------------===//

def ConvertQATToLinalg : Pass<"convert-qat-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower qat ops to linalg, arith and math on tensors";
  let description = [{
    Rewrites every qat op, forward and backward, into `linalg.generic`,
    `linalg.matmul`, `linalg.fill` and `tensor` reshapes with `arith`/`math`
    bodies, following the semantics of docs/semantics.md. Arithmetic is done
    in f32 whatever the storage types: operands are extended on read and
    results truncated on write.

    * Quantizer groups are rows of a 3-D view `[rows, groups, group length]`
      of the input (`tensor.collapse_shape`/`tensor.expand_shape`), so that
      per-group reductions (`qat.scale`, the trust threshold, the LSQ step
      gradient) are `linalg.generic` reductions over the innermost dimension
      and the steps broadcast along it.
    * Packed codes are built and read two per byte in one `linalg.generic`
      over the byte (low nibble first).
    * `qat.matmul` accumulates integers exactly in i32 with a transposed-B
      `linalg.matmul` (the codes, or `2*code+1` on the centered grid), then
      applies the dequantizing epilogue.
    * `qat.hadamard` is a fast Walsh-Hadamard transform: its log2(n)
      butterfly levels, two per `linalg.generic` over the view
      `[..., D/4h, 2, 2, h]` of the rows (measured against a product with
      the constant block, see the pattern).

    Example:

    ```mlir
    %q = qat.quantize %x, %s as <signed, 8 bits, absmax, per_row>
        : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x64xi8>
    ```
    becomes a `linalg.generic` whose body computes
    `clamp(roundeven(x / s), -128, 127)` with `math.roundeven`,
    `arith.maxnumf`/`arith.minnumf` and `arith.fptosi`.

    Every qat op is illegal afterwards; an op the patterns cannot lower is
    reported and the pass fails.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // QAT_CONVERSION_PASSES_TD
