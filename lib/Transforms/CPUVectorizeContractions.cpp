//===- CPUVectorizeContractions.cpp - Register-blocked matmuls --*- C++ -*-===//
//
// Tiles f32 matmuls on tensors into register blocks of C, vectorizes each
// block's update into a vector.contract (outer products) and keeps the block
// in registers over the contraction loop; the transposes that pack their
// operands become 16x16 vector blocks.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/OptionCheckedPass.h"
#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::qat {
#define GEN_PASS_DEF_CPUVECTORIZECONTRACTIONS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

/// The first of `choices` that divides `size`, or 0.
static int64_t firstDivisor(ArrayRef<int64_t> choices, int64_t size) {
  for (int64_t c : choices)
    if (size % c == 0)
      return c;
  return 0;
}

/// Tile sizes of the loops of `op` (a matmul or batch_matmul on tensors with
/// default maps and static f32 shapes) for register blocks of rows x cols and
/// one step of the contraction dimension; empty when none fits.
static SmallVector<int64_t> registerBlock(linalg::LinalgOp op,
                                          ArrayRef<int64_t> rows,
                                          ArrayRef<int64_t> cols) {
  if (!op.hasPureTensorSemantics() || op.hasDynamicShape())
    return {};
  for (OpOperand &operand : op->getOpOperands())
    if (!getElementTypeOrSelf(operand.get().getType()).isF32())
      return {};
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  // Loops: [batch,] m, n, k.
  size_t m = bounds.size() - 3;
  int64_t r = firstDivisor(rows, bounds[m]);
  int64_t c = firstDivisor(cols, bounds[m + 1]);
  if (!r || !c)
    return {};
  SmallVector<int64_t> sizes(m, 1);
  sizes.append({r, c, 1});
  return sizes;
}

/// Tiles `op` (loops [batch,] m, n, k) into panels of `cols` columns of C
/// and copies each panel's columns of B into a contiguous K x cols tensor,
/// the packing step of a GEMM: the register blocks then stream B's panel
/// row by row from consecutive cache lines instead of one line per row of B
/// at B's row stride (with a power-of-two stride, a handful of L1 sets).
/// Returns the panel's matmul; `op` itself where B is one panel already.
static FailureOr<linalg::LinalgOp> tileIntoPackedPanels(RewriterBase &rewriter,
                                                        linalg::LinalgOp op,
                                                        int64_t cols) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  size_t m = bounds.size() - 3;
  if (bounds[m + 1] == cols)
    return op;
  SmallVector<int64_t> sizes(m, 1);
  sizes.append({0, cols, 0});
  rewriter.setInsertionPoint(op);
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(getAsIndexOpFoldResult(op.getContext(), sizes));
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), tiling);
  if (failed(tiled) || tiled->tiledOps.size() != 1)
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  auto panel = cast<linalg::LinalgOp>(tiled->tiledOps.front());
  OpOperand *b = panel.getDpsInputOperand(1);
  auto type = cast<RankedTensorType>(b->get().getType());
  rewriter.setInsertionPoint(panel);
  Location loc = panel.getLoc();
  Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                        type.getElementType());
  Value packed =
      linalg::CopyOp::create(rewriter, loc, b->get(), empty).getResult(0);
  rewriter.modifyOpInPlace(panel, [&] { b->set(packed); });
  return panel;
}

/// Tiles a transpose on tensors (the packing copy of
/// qat-cpu-pack-contraction-operands) into 16x16 blocks of its last two
/// dimensions and vectorizes each block (LLVM lowers the 16x16
/// vector.transpose to AVX-512 permutes). As loops over its result, it read
/// the source one element per cache line at the source's row stride. Left
/// alone unless the static sizes of both dimensions are multiples of 16.
static LogicalResult tileTranspose(RewriterBase &rewriter,
                                   linalg::TransposeOp op) {
  constexpr int64_t block = 16;
  if (!op.hasPureTensorSemantics() || op.hasDynamicShape())
    return success();
  ArrayRef<int64_t> shape = op.getInit().getType().getShape();
  int64_t rank = shape.size();
  if (rank < 2 || shape[rank - 1] % block || shape[rank - 2] % block)
    return success();
  SmallVector<int64_t> sizes(rank - 2, 1);
  sizes.append({block, block});
  rewriter.setInsertionPoint(op);
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(getAsIndexOpFoldResult(op.getContext(), sizes));
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), tiling);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  for (Operation *tile : tiled->tiledOps) {
    rewriter.setInsertionPoint(tile);
    // Fixed-size vectors: see the register blocks below.
    SmallVector<bool> fixed(sizes.size(), false);
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, tile, sizes, fixed);
    if (failed(vectorized))
      return failure();
    rewriter.replaceOp(tile, vectorized->replacements);
  }
  return success();
}

template <typename OpTy> static bool hasDefaultMaps(OpTy op) {
  return op.getIndexingMapsArray() ==
         OpTy::getDefaultIndexingMaps(op.getContext());
}

namespace {

/// Register blocks are unrolled: a block beyond these bounds would only
/// make compile time and register spills explode.
constexpr int64_t kMaxBlockRows = 64;
constexpr int64_t kMaxBlockCols = 256;

struct CPUVectorizeContractionsPass
    : qat::OptionCheckedPass<CPUVectorizeContractionsPass,
                             qat::impl::CPUVectorizeContractionsBase<
                                 CPUVectorizeContractionsPass>> {
  using OptionCheckedPass::OptionCheckedPass;

  /// Empty when every listed size is in range.
  std::string checkOptions() const {
    auto check = [](StringRef name, ArrayRef<int64_t> sizes, int64_t limit) {
      for (int64_t size : sizes)
        if (size < 1 || size > limit)
          return (name + " entries must be in [1, " + Twine(limit) + "], got " +
                  Twine(size))
              .str();
      return std::string();
    };
    std::string error = check("rows", rowSizes, kMaxBlockRows);
    return error.empty() ? check("cols", colSizes, kMaxBlockCols) : error;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!hasValidOptions())
      return signalPassFailure();
    // 8x32 f32 accumulators are 16 of AVX-512's 32 registers (two per row),
    // leaving room for the B row and the broadcast A elements.
    SmallVector<int64_t> rows(rowSizes.begin(), rowSizes.end());
    SmallVector<int64_t> cols(colSizes.begin(), colSizes.end());
    if (rows.empty())
      rows = {8, 4, 2, 1};
    if (cols.empty())
      cols = {32, 16, 8};

    SmallVector<std::pair<linalg::LinalgOp, SmallVector<int64_t>>> work;
    func.walk([&](linalg::LinalgOp op) {
      bool isDefault = false;
      if (auto mm = dyn_cast<linalg::MatmulOp>(op.getOperation()))
        isDefault = hasDefaultMaps(mm);
      else if (auto bmm = dyn_cast<linalg::BatchMatmulOp>(op.getOperation()))
        isDefault = hasDefaultMaps(bmm);
      if (!isDefault)
        return;
      SmallVector<int64_t> sizes = registerBlock(op, rows, cols);
      if (!sizes.empty())
        work.push_back({op, sizes});
    });
    if (work.empty())
      return;

    IRRewriter rewriter(&getContext());
    SetVector<linalg::TransposeOp> transposes;
    for (auto &[op, sizes] : work)
      for (Value input : op.getDpsInputs())
        if (auto t = input.getDefiningOp<linalg::TransposeOp>())
          transposes.insert(t);
    for (linalg::TransposeOp t : transposes) {
      if (failed(tileTranspose(rewriter, t))) {
        t->emitOpError("could not be vectorized in blocks");
        return signalPassFailure();
      }
    }
    for (auto &[original, sizes] : work) {
      FailureOr<linalg::LinalgOp> op =
          tileIntoPackedPanels(rewriter, original, sizes[sizes.size() - 2]);
      if (failed(op)) {
        original->emitOpError("could not be tiled into panels");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(*op);
      scf::SCFTilingOptions tiling;
      tiling.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op->getOperation()), tiling);
      if (failed(tiled)) {
        (*op)->emitOpError("could not be tiled into register blocks");
        return signalPassFailure();
      }
      rewriter.replaceOp(*op, tiled->replacements);
      for (Operation *tile : tiled->tiledOps) {
        rewriter.setInsertionPoint(tile);
        // One scalable flag per vector size, all false: with none given,
        // the vectorizer reads flags past the end of an empty array, and
        // the block's vector types come out "scalable" at random (printed
        // like fixed ones), which every vector.contract lowering but the
        // generic one refuses; convert-vector-to-llvm then leaves n-D
        // vector.insert/extract ops behind.
        SmallVector<bool> fixed(sizes.size(), false);
        FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
            rewriter, tile, sizes, fixed,
            /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
            /*assumeDynamicDimsMatchVecSizes=*/false,
            /*createNamedContraction=*/true);
        if (failed(vectorized)) {
          tile->emitOpError("could not be vectorized");
          return signalPassFailure();
        }
        rewriter.replaceOp(tile, vectorized->replacements);
      }
      // The C block is a loop-carried tensor of the contraction loop: its
      // slice and its vector read and write do not depend on that loop's
      // index, so they move out of it (innermost loop first) and the block
      // is carried in registers from one step of the contraction to the
      // next.
      for (LoopLikeOpInterface loop : llvm::reverse(tiled->loops)) {
        moveLoopInvariantCode(loop);
        hoistLoopInvariantSubsets(rewriter, loop);
      }
    }
  }
};

} // namespace
