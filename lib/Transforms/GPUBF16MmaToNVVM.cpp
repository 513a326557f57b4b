//===- GPUBF16MmaToNVVM.cpp - bf16 nvgpu.mma.sync to NVVM -------*- C++ -*-===//
//
// Lowers the bf16 m16n8k16 form of nvgpu.mma.sync, which MLIR 22's
// convert-nvgpu-to-nvvm does not handle, to nvvm.mma.sync.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUBF16MMATONVVM
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

SmallVector<int64_t> shapeOf(nvgpu::MmaSyncOp op) {
  SmallVector<int64_t> shape;
  for (Attribute size : op.getMmaShape())
    shape.push_back(cast<IntegerAttr>(size).getInt());
  return shape;
}

/// nvgpu.mma.sync (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) ->
/// nvvm.mma.sync on i32 registers (two bf16 each, the lower index in the
/// low half, as mma.sync reads them) and f32 accumulators.
struct LowerBF16MmaSync : OpRewritePattern<nvgpu::MmaSyncOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(nvgpu::MmaSyncOp op,
                                PatternRewriter &rewriter) const override {
    auto aType = op.getMatrixA().getType();
    auto bType = op.getMatrixB().getType();
    auto cType = op.getMatrixC().getType();
    if (!aType.getElementType().isBF16() || !bType.getElementType().isBF16() ||
        !cType.getElementType().isF32() ||
        shapeOf(op) != SmallVector<int64_t>{16, 8, 16} ||
        aType.getShape() != ArrayRef<int64_t>{4, 2} ||
        bType.getShape() != ArrayRef<int64_t>{2, 2} ||
        cType.getShape() != ArrayRef<int64_t>{2, 2})
      return rewriter.notifyMatchFailure(op, "not the bf16 m16n8k16 form");
    Location loc = op.getLoc();
    Type i32 = rewriter.getI32Type(), f32 = rewriter.getF32Type();
    auto registers = [&](Value matrix, int64_t rows) {
      SmallVector<Value> words;
      for (int64_t i = 0; i < rows; ++i) {
        Value pair = vector::ExtractOp::create(rewriter, loc, matrix, i);
        Value word = vector::BitCastOp::create(rewriter, loc,
                                               VectorType::get({1}, i32), pair);
        words.push_back(vector::ExtractOp::create(rewriter, loc, word, 0));
      }
      return words;
    };
    SmallVector<Value> c;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t k = 0; k < 2; ++k)
        c.push_back(vector::ExtractOp::create(rewriter, loc, op.getMatrixC(),
                                              ArrayRef<int64_t>{i, k}));
    auto result = LLVM::LLVMStructType::getLiteral(getContext(),
                                                   SmallVector<Type>(4, f32));
    Value d = NVVM::MmaOp::create(
        rewriter, loc, result, registers(op.getMatrixA(), 4),
        registers(op.getMatrixB(), 2), c, ArrayRef<int64_t>{16, 8, 16},
        std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                      NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    SmallVector<Value> fields;
    for (int64_t i = 0; i < 4; ++i)
      fields.push_back(
          LLVM::ExtractValueOp::create(rewriter, loc, d, ArrayRef<int64_t>{i}));
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, cType, fields);
    return success();
  }
};

struct GPUBF16MmaToNVVMPass
    : qat::impl::GPUBF16MmaToNVVMBase<GPUBF16MmaToNVVMPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerBF16MmaSync>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
