//===- Passes.td - Training-graph passes of the qat dialect -*- tablegen -*-===//
//
// Passes that turn float models into QAT training graphs and trained graphs
// into low-bit inference functions.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_TRANSFORMS_PASSES_TD
#define QAT_DIALECT_QAT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QATQuantize : Pass<"qat-quantize", "ModuleOp"> {
  let summary = "Insert a QAT recipe's quantizers around the contractions of "
                "a float model";
  let description = [{
    Takes functions written with func / linalg / tensor / arith / math on
    tensors and no qat op, and rewrites their contractions (`linalg.matmul`
    in every indexing-map form, `linalg.batch_matmul`, and `linalg.generic`
    contractions of those shapes) so that their operands pass through the
    quantizers of a recipe:

    * `#qat.quest`: both operands rotated by a block Hadamard transform along
      K, quantized on the centered grid with `rms_gaussian` per-row steps
      and multiplied on packed codes by `qat.matmul` (`B` as N x K); every
      `qat.quantize` carries `qat.estimator = #qat.trust`. Batched
      contractions take `qat.fake_quant ... with trust` on both operands and
      stay a float batched product (qat.matmul is two-dimensional).
    * `#qat.stableqat`: the weight operand is fake-quantized with a learned
      per-row step (a new argument marked `qat.step`) and the Fourier
      surrogate; a function `@<name>_init_steps` computes the initial steps
      from the weights (LSQ: `2 * mean|w| / sqrt(qp)` per row).
    * `#qat.intn`: weights (and activations if asked) fake-quantized with
      steps from the data, `ste` or `clip` estimator, on the signed integer
      grid or a float element format (fp8 e4m3/e5m2, fp4 e2m1, with `mx`
      block steps for the MX formats).

    Which contractions: by default those whose weight operand is (a view of)
    a function argument marked `qat.param`, so that products of two
    activations (attention's) stay float. The discardable attribute
    `qat.recipe` on a contraction overrides the default (another recipe, or
    `#qat.keep_float`). Contractions are normalized to `A: [batch] M x K`,
    `B: [batch] N x K` with `linalg.transpose` where their maps differ.
    See docs/training-graphs.md.
  }];
  let options = [
    Option<"recipe", "recipe", "std::string", /*default=*/"\"quest\"",
           "Default recipe: quest, stableqat, ste, clip or none">,
    Option<"bits", "bits", "unsigned", /*default=*/"0",
           "Weight bits of the default recipe (0: quest 4, stableqat 2, "
           "ste/clip 4)">,
    Option<"activationBits", "activation-bits", "unsigned", /*default=*/"0",
           "ste/clip: also fake-quantize activations at this many bits "
           "(0: weights only)">,
    Option<"block", "block", "int64_t", /*default=*/"128",
           "quest: largest Hadamard block along K">,
    Option<"scale", "scale", "std::string", /*default=*/"\"absmax\"",
           "ste/clip: step from absmax, rms (rms_gaussian), mx (a power "
           "of two per block, float formats) or nvfp4 (e2m1: an e4m3 step "
           "per block under a per-tensor scale)">,
    Option<"format", "format", "std::string", /*default=*/"\"int\"",
           "ste/clip: weight elements: int (the signed integer grid), "
           "e4m3, e5m2 (fp8) or e2m1 (fp4); bits default to the format's">,
    Option<"activationFormat", "activation-format", "std::string",
           /*default=*/"\"\"",
           "ste/clip: activation elements (default: format); given, "
           "activations are fake-quantized">,
    Option<"granularity", "granularity", "std::string",
           /*default=*/"\"per_row\"",
           "ste/clip: per_tensor, per_row or per_group">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "ste/clip with per_group: elements of K per step">,
    ListOption<"amplitudes", "amplitudes", "double",
               "stableqat: Fourier amplitudes (default 0.21)">
  ];
  let dependentDialects = ["::mlir::qat::QATDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QATConvert : Pass<"qat-convert", "ModuleOp"> {
  let summary = "Turn a quantized training forward into an inference "
                "function on packed weight codes";
  let description = [{
    For each function that `qat-quantize` prepared (a function with
    `qat.param` arguments whose values reach the quantizers), adds
    `@<name>_inference`, whose quantized weights arrive as integer codes
    (packed two per byte at 4 bits or less, marked `qat.codes`) followed by
    their steps, in place of the float weight argument, and
    `@<name>_pack`, which computes those codes and steps once from the
    trained float weights (and learned steps). Activations are quantized on
    the fly as in training; QuEST contractions stay on `qat.matmul`, weight-
    only recipes dequantize the codes and keep the float contraction. The
    training function itself is left as is. See docs/training-graphs.md.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "Convert only this function (default: every function with a "
           "qat.param argument)">
  ];
  let dependentDialects = ["::mlir::qat::QATDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QATRecomputeRotations : Pass<"qat-recompute-rotations", "func::FuncOp"> {
  let summary = "Recompute a rotated input where the backward pass reads it "
                "instead of keeping it in memory";
  let description = [{
    QuEST's trust mask compares each rotated input `x H` with its quantized
    value, so the backward pass (`qat.fake_quant_grad ... with trust`) reads
    the forward's `qat.hadamard` result. Kept, that tensor is written by the
    forward kernel and held in memory until the backward reads it: as many
    bytes as the input again, written and read. Recomputed, the backward
    kernel reads the input instead and rotates it again (the row kernels are
    memory-bound, a rotation is a few shuffles).

    This pass clones each `qat.hadamard` next to every `qat.fake_quant_grad`
    that takes its result as the input, when the rotated input is itself a
    function argument or the result of an op outside the qat dialect (a
    tensor that stays in memory anyway, rather than one a fused row kernel
    would otherwise never store). Run it after CSE, which would merge the
    clones again; qat-to-nvptx runs it before forming its row kernels.

    Example:

    <!-- mlir-doc: wrap %x: tensor<64x256xf32>, %s: tensor<64x1xf32>, %dxq: tensor<64x256xf32> -->
    ```mlir
    %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
    %dxh = qat.fake_quant_grad %dxq, %xh, %s
        as <centered, 4 bits, rms_gaussian, per_row> with trust
        : tensor<64x256xf32>, tensor<64x1xf32>
    ```
    becomes (the forward keeps using `%xh`)

    <!-- mlir-doc: wrap %x: tensor<64x256xf32>, %s: tensor<64x1xf32>, %dxq: tensor<64x256xf32> -->
    ```mlir
    %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
    %xh2 = qat.hadamard %x block 128 : tensor<64x256xf32>
    %dxh = qat.fake_quant_grad %dxq, %xh2, %s
        as <centered, 4 bits, rms_gaussian, per_row> with trust
        : tensor<64x256xf32>, tensor<64x1xf32>
    ```
  }];
  let dependentDialects = ["::mlir::qat::QATDialect"];
}

#endif // QAT_DIALECT_QAT_TRANSFORMS_PASSES_TD
