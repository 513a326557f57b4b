//===- CPUPackContractionOperands.cpp - Row-major matmul operands -*- C++
//-*-===//
//
// Rewrites matmuls with transposed operands into transposes (packing) and a
// matmul with the default indexing maps, the one form the CPU micro-kernel
// of qat-cpu-vectorize-contractions handles.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qat {
#define GEN_PASS_DEF_CPUPACKCONTRACTIONOPERANDS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

/// `value` (a tensor read through `map`) copied into the layout `wanted`
/// reads, or null when the two maps differ by more than a permutation of the
/// same dimensions.
static Value packOperand(PatternRewriter &rewriter, Location loc, Value value,
                         AffineMap map, AffineMap wanted) {
  if (map == wanted)
    return value;
  // Both maps are projected permutations onto the same set of loops; the
  // packed tensor's dimension i is the operand's dimension that reads
  // wanted's i-th loop.
  SmallVector<int64_t> perm;
  for (AffineExpr expr : wanted.getResults()) {
    std::optional<unsigned> pos = map.getResultPosition(expr);
    if (!pos)
      return {};
    perm.push_back(*pos);
  }
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : perm)
    sizes.push_back(tensor::getMixedSize(rewriter, loc, value, d));
  Value init =
      tensor::EmptyOp::create(rewriter, loc, sizes, type.getElementType());
  return linalg::TransposeOp::create(rewriter, loc, value, init, perm)
      ->getResult(0);
}

namespace {

/// Packs the transposed operands of a matmul-like named op `OpTy` (whose
/// default maps are the row-major form).
template <typename OpTy>
struct PackTransposedOperands : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<AffineMap> defaults =
        OpTy::getDefaultIndexingMaps(op.getContext());
    if (maps == defaults)
      return rewriter.notifyMatchFailure(op, "already row-major");
    if (maps[2] != defaults[2])
      return rewriter.notifyMatchFailure(op, "result is not row-major");
    Location loc = op.getLoc();
    Value a =
        packOperand(rewriter, loc, op.getDpsInputs()[0], maps[0], defaults[0]);
    Value b =
        packOperand(rewriter, loc, op.getDpsInputs()[1], maps[1], defaults[1]);
    if (!a || !b)
      return rewriter.notifyMatchFailure(op, "maps are not transposes");
    rewriter.replaceOpWithNewOp<OpTy>(op, op->getResultTypes(),
                                      ValueRange{a, b}, op.getDpsInits());
    return success();
  }
};

struct CPUPackContractionOperandsPass
    : qat::impl::CPUPackContractionOperandsBase<
          CPUPackContractionOperandsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PackTransposedOperands<linalg::MatmulOp>,
                 PackTransposedOperands<linalg::BatchMatmulOp>>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
