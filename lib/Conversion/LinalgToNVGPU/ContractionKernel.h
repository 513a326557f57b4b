//===- ContractionKernel.h - One float contraction kernel -------*- C++ -*-===//
//
// The description of one tensor-core kernel of a float linalg contraction and
// the builder of its mma.sync form.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_LIB_CONVERSION_LINALGTONVGPU_CONTRACTIONKERNEL_H
#define QAT_LIB_CONVERSION_LINALGTONVGPU_CONTRACTIONKERNEL_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::qat {

/// A buffer of the kernel (A, B, or the init and the result) and where the
/// contraction's dimensions sit in it: A is indexed by (batch, m, k), B by
/// (batch, n, k), the init and the result by (batch, m, n), each dimension
/// at the memref dimension that the op's indexing map puts it.
struct ContractionOperand {
  SmallVector<int64_t> shape;
  Type elementType;
  /// Memref dimensions of the batch (-1: none), of the rows (m or n) and of
  /// the columns (k for A and B, n for the result).
  int64_t batchDim = -1, rowDim = 0, colDim = 1;

  /// The columns are the fastest-varying dimension of the layout.
  bool colsContiguous() const {
    return colDim == static_cast<int64_t>(shape.size()) - 1;
  }
  bool operator==(const ContractionOperand &other) const {
    return shape == other.shape && elementType == other.elementType &&
           batchDim == other.batchDim && rowDim == other.rowDim &&
           colDim == other.colDim;
  }
};

/// One operand of an epilogue's elementwise op (ContractionEpilogue::op, in
/// its operand order).
struct EpilogueOperand {
  enum class Kind {
    /// The contraction's result (read at the element's own position).
    Result,
    /// A buffer of its own, loaded at the element's (batch, row, col).
    Buffer,
    /// Not read by the body (an init): neither loaded nor passed.
    Unused,
  };
  /// Where each memref dimension of a buffer sits in the result.
  enum class Role { Batch, Row, Col };

  Kind kind = Kind::Unused;
  SmallVector<int64_t> shape;
  Type elementType;
  SmallVector<Role> roles;

  bool operator==(const EpilogueOperand &other) const {
    return kind == other.kind && shape == other.shape &&
           elementType == other.elementType && roles == other.roles;
  }
};

/// An elementwise linalg.generic applied to every element of the
/// contraction's result in the kernel, before the store: its body is cloned
/// once per element, its block arguments bound to the element (rounded to
/// the contraction's result type) and to the other operands loaded at the
/// element's position. The kernel then stores the body's yield, of type
/// `resultType`, instead of the contraction's result.
struct ContractionEpilogue {
  /// The body (a region of the generic, or the kernel cache's copy of one).
  Region *body = nullptr;
  SmallVector<EpilogueOperand> operands;
  Type resultType;

  bool operator==(const ContractionEpilogue &other) const;
};

/// CTA tiles of at least this many CTAs use the large tile (see
/// ContractionKernelSpec::chooseTiles).
constexpr int64_t kMinLargeTileCTAs = 120;

/// The tensor-core instruction of a kernel.
enum class ContractionStrategy {
  /// ldmatrix + mma.sync, operands staged through registers (sm_80+).
  MmaSync,
  /// TMA + wgmma.mma_async, warp-specialized (sm_90a).
  Wgmma,
};

/// Everything a kernel depends on; contractions with equal specs share one
/// kernel.
struct ContractionKernelSpec {
  /// The sizes; batch, m and k may be ShapedType::kDynamic (rows known at run
  /// time: the kernel reads them from its buffers, the host computes the
  /// grid), n is static.
  int64_t batch = 1, m = 0, n = 0, k = 0;
  ContractionOperand lhs, rhs, out;
  /// The result adds the init (read through its own buffer, laid out as the
  /// result); false where the init is a fill of zero.
  bool accumulate = false;
  /// What the tensor cores multiply: bf16, f16, or f32 (as tf32).
  Type computeType;
  /// Applied to each element before the store; none: the result is stored.
  std::optional<ContractionEpilogue> epilogue;
  ContractionStrategy strategy = ContractionStrategy::MmaSync;
  /// CTA tile and its grid of warps (mma.sync); wgmma: the tile, two
  /// consumer warpgroups of 64 rows each, and the pipeline's stages.
  int64_t tileM = 128, tileN = 128, warpsM = 2, warpsN = 4, stages = 0;
  /// wgmma: the CTAs claim their tiles one at a time from a counter in
  /// global memory (zeroed by the host before each launch) instead of
  /// taking every gridDim.x-th (claimsTiles in PersistentLaunch.h says
  /// when and why). The kernel then takes the counter as its last argument.
  bool claimTiles = false;

  /// The tile heuristic. mma.sync: 128x128 CTA tiles on 8 warps (64x32
  /// warp tiles) when the problem has at least kMinLargeTileCTAs of them,
  /// which is about one per SM of an H100 (132), so that the large tile's
  /// better reuse of shared memory does not leave SMs idle; otherwise 64x64
  /// tiles on 4 warps (32x32 warp tiles), four times as many CTAs. wgmma:
  /// 128x256 tiles under the same condition, otherwise 128x128 (see
  /// ContractionWgmma.cpp). A dynamic M or batch counts as large: rows known
  /// only at run time are a training batch's tokens.
  void chooseTiles();
  /// Whether the CTA tiles count at least kMinLargeTileCTAs with tiles of
  /// tileM x `largeTileN`.
  bool hasManyLargeTiles(int64_t largeTileN) const;
  int64_t getThreads() const {
    return strategy == ContractionStrategy::Wgmma ? 384 : warpsM * warpsN * 32;
  }
  /// The CTA tiles of one batch; dynamic with M.
  int64_t getGridX() const {
    if (ShapedType::isDynamic(m))
      return ShapedType::kDynamic;
    return llvm::divideCeil(m, tileM) * llvm::divideCeil(n, tileN);
  }
  /// A symbol-friendly name that tells kernels apart, e.g.
  /// `qat_contraction_64x256x128_tf32_f32_64x64` (`_epilogue` appended for a
  /// fused epilogue, `dyn` for a dynamic size).
  std::string getName() const;
  bool operator==(const ContractionKernelSpec &other) const;
};

/// A kernel and how to launch it: blocks of blockSize threads with
/// dynamicSharedBytes of dynamic shared memory; a wgmma kernel also takes the
/// TMA descriptors of A and B (buildContractionTensorMaps) after its other
/// arguments. The grid is computed on the host (buildContractionGrid).
struct ContractionKernel {
  gpu::GPUFuncOp func;
  int64_t blockSize = 0, dynamicSharedBytes = 0;
  /// The kernel loops over the tiles along x (every gridDim.x-th, or
  /// claimed): the host launches fewer CTAs than tiles where that pays (one
  /// per multiprocessor for at most a few tiles each).
  bool persistent = false;
};

/// Whether the wgmma kernel takes `spec` (whatever the chip): A and B
/// already of the compute type (TMA moves bytes, it does not convert), bf16
/// or f16 in either layout, f32 (tf32) only with K contiguous in both, the
/// contiguous dimension being M, N or K with rows of a multiple of 16 bytes.
bool canUseWgmma(const ContractionKernelSpec &spec);

/// Builds the mma.sync kernel for `spec` as a `gpu.func` named
/// `qat_contraction_mma_sync` inside `module`, together with its
/// shared-memory buffer. Its arguments are A, B, the init (when
/// `spec.accumulate`), the epilogue's buffers (in its operand order) and the
/// result buffer.
ContractionKernel
buildContractionMmaSyncKernel(OpBuilder &builder, Location loc,
                              gpu::GPUModuleOp module,
                              const ContractionKernelSpec &spec);

/// The tiles and stages of the wgmma kernel for `spec`.
void chooseWgmmaTiles(ContractionKernelSpec &spec);

/// Builds the wgmma kernel for `spec` (strategy Wgmma) as a `gpu.func` named
/// `qat_contraction_wgmma` inside `module`, with the arguments of the
/// mma.sync kernel followed by the TMA descriptors of A and B.
ContractionKernel
buildContractionWgmmaKernel(OpBuilder &builder, Location loc,
                            gpu::GPUModuleOp module,
                            const ContractionKernelSpec &spec);

/// The dimensions whose size may be dynamic (ContractionKernelSpec).
enum class ContractionDim { Batch, M, K };

/// The size of `dim`: a constant, or read from A's buffer `lhs` where it is
/// dynamic (A holds every dimension that may be).
Value buildContractionSize(OpBuilder &builder, Location loc,
                           const ContractionKernelSpec &spec,
                           ContractionDim dim, Value lhs);

/// Host side: the grid of `kernel` for `spec` (x, y) given A's buffer `lhs`,
/// from which dynamic sizes are read: mma.sync has the tiles of a batch
/// along x and the batch along y, wgmma the tiles of every batch along x
/// (fewer CTAs where the kernel is persistent).
std::pair<Value, Value> buildContractionGrid(OpBuilder &builder, Location loc,
                                             const ContractionKernelSpec &spec,
                                             const ContractionKernel &kernel,
                                             Value lhs);

/// Host side: the TMA descriptors of the buffers `lhs` and `rhs` of a wgmma
/// kernel for `spec`, as its `!llvm.ptr` arguments.
SmallVector<Value> buildContractionTensorMaps(OpBuilder &builder, Location loc,
                                              const ContractionKernelSpec &spec,
                                              Value lhs, Value rhs);

/// `value` (a float scalar or vector) with elements of type `to`: widened,
/// rounded, or between f16 and bf16 through f32 (exact on the way up).
Value convertFloat(OpBuilder &builder, Location loc, Value value, Type to);

/// The elementwise consumer of `contraction` that its kernel can apply in its
/// epilogue, formed into one linalg.generic (named ops generalized, chains of
/// elementwise ops and the elementwise producers of its other operands fused
/// into it), or failure (the IR is then unchanged). `out` is the layout of
/// the contraction's result. ContractionEpilogue.cpp states the rules.
FailureOr<linalg::GenericOp> formEpilogue(RewriterBase &rewriter,
                                          linalg::LinalgOp contraction,
                                          const ContractionOperand &out);

/// The description of `op` (from formEpilogue) as the epilogue of the
/// contraction whose result is `result` with layout `out`.
ContractionEpilogue describeEpilogue(linalg::GenericOp op, Value result,
                                     const ContractionOperand &out);

} // namespace mlir::qat

#endif // QAT_LIB_CONVERSION_LINALGTONVGPU_CONTRACTIONKERNEL_H
