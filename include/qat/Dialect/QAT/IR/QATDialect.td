//===- QATDialect.td - The qat dialect ---------------------*- tablegen -*-===//
//
// The dialect of quantization-aware training: quantizers, rotations and
// surrogate gradients on ranked tensors.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATDIALECT_TD
#define QAT_DIALECT_QAT_IR_QATDIALECT_TD

include "mlir/IR/OpBase.td"

def QAT_Dialect : Dialect {
  let name = "qat";
  let cppNamespace = "::mlir::qat";
  let summary = "Quantization-aware training at 1 to 8 bits";
  let description = [{
    The `qat` dialect describes quantization-aware training (QAT) on ranked
    tensors with value semantics. It models the two method families that the
    project targets:

    * QuEST: a block Hadamard rotation (`qat.hadamard`), clip scales that are
      MSE-optimal for a Gaussian (`rms_gaussian`), the centered grid and the
      `trust` gradient estimator;
    * StableQAT / LSQ: learned step sizes (`learned`) on the signed grid with
      the smooth `fourier` rounding surrogate (STE is a special case).

    A quantizer is described once by a `#qat.quantizer` attribute (grid, bit
    width, scale method, granularity) and referenced by every op that needs
    it. Scale operands are always the *step* of the grid, one per group: the
    last dimension of a scale tensor counts the groups of a row.

    Forward and backward are explicit: `qat.fake_quant` is the forward
    quantize-dequantize, `qat.fake_quant_grad` its backward under the
    gradient estimator carried by both ops.
  }];
  let useDefaultAttributePrinterParser = 1;
  // Checks the discardable attributes the training-graph passes use:
  // `qat.param`, `qat.step`, `qat.codes` on function arguments, `qat.recipe`
  // on contractions and `qat.estimator` on qat.quantize.
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Adds the attributes; defined next to them, where their storage is
    /// complete.
    void registerAttributes();

    /// Unit argument attribute: a trainable weight (qat-quantize picks the
    /// contractions whose weight operand is one; qat-differentiate
    /// differentiates with respect to them).
    static constexpr ::llvm::StringLiteral kParamAttrName = "qat.param";
    /// Unit argument attribute: a learned step that qat-quantize added.
    static constexpr ::llvm::StringLiteral kStepAttrName = "qat.step";
    /// Unit argument attribute: integer codes of a weight (qat-convert).
    static constexpr ::llvm::StringLiteral kCodesAttrName = "qat.codes";
    /// A recipe attribute on a contraction: overrides qat-quantize's default.
    static constexpr ::llvm::StringLiteral kRecipeAttrName = "qat.recipe";
    /// A gradient estimator on a qat.quantize: the rule its backward uses.
    static constexpr ::llvm::StringLiteral kEstimatorAttrName = "qat.estimator";
  }];
}

class QAT_Op<string mnemonic, list<Trait> traits = []>
    : Op<QAT_Dialect, mnemonic, traits>;

#endif // QAT_DIALECT_QAT_IR_QATDIALECT_TD
