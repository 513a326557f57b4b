//===- ContractionKernelBuilder.h - What contraction kernels share -*- C++ -*-//
//
// The base of the mma.sync and wgmma kernel builders of float contractions:
// index arithmetic, the kernel's arguments, the CTA order, and the epilogue
// that turns an accumulator element into a stored result element.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_LIB_CONVERSION_LINALGTONVGPU_CONTRACTIONKERNELBUILDER_H
#define QAT_LIB_CONVERSION_LINALGTONVGPU_CONTRACTIONKERNELBUILDER_H

#include "ContractionKernel.h"
#include "qat/Conversion/TensorCoreKernels/KernelBuilder.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::qat {

class ContractionKernelBuilderBase : protected KernelBuilder {
protected:
  ContractionKernelBuilderBase(ImplicitLocOpBuilder &b,
                               const ContractionKernelSpec &spec)
      : KernelBuilder(b), spec(spec) {}

  /// `value` (a scalar or a vector) with elements of type `to`.
  Value convert(Value value, Type to);
  /// Indices into `operand`'s buffer of (batch, row, col).
  SmallVector<Value> indices(const ContractionOperand &operand, Value row,
                             Value col);

  /// Binds A, B, the init, the epilogue's buffers and the result to the
  /// arguments of `func` (buildContractionKernelFunc's order), clones the
  /// epilogue's captured constants at the entry, sets the sizes, and sets
  /// `entry` and the builder there. Returns the number of arguments bound.
  unsigned bindArguments(gpu::GPUFuncOp func);
  /// The CTA tiles along M and the K tiles, as many as cover the sizes.
  Value countTilesM(int64_t tileM);
  Value countTilesK(int64_t tileK);
  /// M - 1.
  Value lastRow();
  /// Whether tiles of `tileM` rows may reach past M.
  bool guardsRows(int64_t tileM) const {
    return ShapedType::isDynamic(spec.m) || spec.m % tileM != 0;
  }
  /// Sets m0 and n0 for the CTA tile `pid` of tileM x tileN tiles: CTAs
  /// along N within groups of 8 tile rows, so that the CTAs resident
  /// together share A and B panels in L2.
  void computeTileOrigin(Value pid, int64_t tileM, int64_t tileN);
  /// Stores result elements (row, col) and (row, col + 1) from their f32
  /// sums `pair`: the init added, the epilogue applied, rounded to the
  /// result type. `col` is even. Elements outside M (with `rowInBounds`
  /// given) or N (with `guardCols`) are not stored.
  void storePair(Value row, Value col, Value rowInBounds, bool guardCols,
                 ArrayRef<Value> pair);
  /// The result elements (row, col) and (row, col + 1) of their f32 sums
  /// `pair`: the init added, the epilogue applied, in the result type. The
  /// init and the epilogue's operands are read there: in bounds only.
  SmallVector<Value, 2> resultPair(Value row, Value col, ArrayRef<Value> pair);
  /// Whether storeBlocks serves a kernel with tiles of `tileN` columns: a
  /// 16-bit result with contiguous columns and no partial column tile.
  bool canStoreBlocks(int64_t tileN) const;
  /// Stores 32 consecutive columns of one row from `col0` on, held in the
  /// mma fragment layout by the 4 lanes of a quad (lane `quadLane` has the
  /// result pairs at columns col0 + 8j + 2 quadLane, j = 0..3, in `pairs`),
  /// 8 columns a lane with one 16-byte store
  /// (transposeFragmentQuad). The row is stored if `rowInBounds` holds
  /// (absent: always); every lane must call this.
  void storeBlocks(Value row, Value rowInBounds, Value col0, Value quadLane,
                   ArrayRef<Value> pairs);

  const ContractionKernelSpec &spec;
  Value lhs, rhs, init, result;
  /// The sizes of M, K and the batch: constants, or read from A's buffer at
  /// the kernel's entry where they are dynamic.
  Value mSize, kSize, batchSize;
  /// First row of A and of B (first column of the result) of the CTA tile;
  /// the batch index.
  Value m0, n0, batchIndex;

private:
  /// The epilogue's body applied to `element` (of the contraction's result
  /// type) at (row, col); `element` itself without an epilogue.
  Value applyEpilogue(Value element, Value row, Value col);

  /// The epilogue's buffers, one per EpilogueOperand::Kind::Buffer operand.
  SmallVector<Value> epilogueBuffers;
  /// The constants the epilogue's body takes from outside, cloned at entry.
  IRMapping epilogueConstants;
};

/// The `gpu.func` of a contraction kernel, empty, named `name` in `module`:
/// arguments A, B, the init (when `spec.accumulate`), the epilogue's buffers
/// (in its operand order), the result buffer, then `extra`.
gpu::GPUFuncOp buildContractionKernelFunc(OpBuilder &builder, Location loc,
                                          gpu::GPUModuleOp module,
                                          const ContractionKernelSpec &spec,
                                          StringRef name, TypeRange extra = {});

} // namespace mlir::qat

#endif // QAT_LIB_CONVERSION_LINALGTONVGPU_CONTRACTIONKERNELBUILDER_H
