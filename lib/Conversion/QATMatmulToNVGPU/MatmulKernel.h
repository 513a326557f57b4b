//===- MatmulKernel.h - What every qat.matmul GPU strategy shares -*- C++ -*-=//
//
// The description of one qat.matmul kernel, its dequantizing epilogue and the
// interface of the kernel strategies (one file each, named after it).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_LIB_CONVERSION_QATMATMULTONVGPU_MATMULKERNEL_H
#define QAT_LIB_CONVERSION_QATMATMULTONVGPU_MATMULKERNEL_H

#include "qat/Conversion/QATMatmulToNVGPU/QATMatmulToNVGPU.h"
#include "qat/Conversion/TensorCoreKernels/KernelBuilder.h"
#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <limits>
#include <optional>
#include <string>

namespace mlir::qat {

/// The largest K of packed 4-bit codes that int4-mma=unpack accumulates
/// exactly. The tensor cores multiply s8 values of magnitude at most 128
/// (16c for a code c in [-8, 7], or 16c + 8), and the int32 accumulator
/// (saturating in mma.sync) must hold the products over K rounded up to
/// whole K tiles of 128 codes (zero-filled codes of centered operands add
/// products too): 130944.
constexpr int64_t kUnpackedInt4KTile = 128;
constexpr int64_t kMaxUnpackedInt4K = std::numeric_limits<int32_t>::max() /
                                      (128 * 128) / kUnpackedInt4KTile *
                                      kUnpackedInt4KTile;

/// Consumers of a qat.matmul's product that the wgmma kernel applies in its
/// epilogue instead of storing the product (FusedConsumers.cpp): an
/// elementwise linalg op, whose result the kernel stores, and optionally a
/// sum over every element of a function of it (a loss), which the kernel
/// leaves as one partial sum a warp for a reduction after the launch.
struct MatmulConsumers {
  /// The qat.matmul's result.
  Value product;
  linalg::GenericOp elementwise;
  /// Null when there is none.
  linalg::GenericOp sum;
  /// What the two read besides the product: tensors of its shape, each
  /// loaded once where the element is, in the kernel's argument order.
  SmallVector<Value> inputs;

  /// The element type the kernel stores (the elementwise op's result's).
  Type getStoredType() const;
  bool operator==(const MatmulConsumers &other) const {
    return elementwise == other.elementwise && sum == other.sum;
  }
};

/// The consumers of `op`'s result that its kernel can apply in the
/// epilogue: every use is one elementwise linalg.generic or one full sum,
/// both in `op`'s block, with an elementwise one; they read, besides the
/// product, only static tensors of its shape defined before `op`, all
/// through identity maps; their bodies are scalar code without
/// `linalg.index` or values from above; the sum's body adds one term to its
/// accumulator (`arith.addf`) into a scalar f32. std::nullopt otherwise.
std::optional<MatmulConsumers> matchFusedConsumers(MatmulOp op);

/// Everything a kernel depends on; qat.matmul ops with equal specs share one
/// kernel.
struct MatmulKernelSpec {
  /// M may be ShapedType::kDynamic (tokens known at run time).
  int64_t m = 0, n = 0;
  /// The contraction size in codes, and in bytes per row of A and B (half of
  /// it for packed 4-bit codes).
  int64_t k = 0, kBytes = 0;
  bool packed = false;
  /// Packed codes go through s8 MMA (see Int4Mma::Unpack).
  bool unpackInt4 = false;
  /// Element types of the code tensors (i8 when packed).
  Type lhsCodeType, rhsCodeType;
  /// The grids of the codes (levels q * s or, half-integer, (q + 1/2) * s).
  GridAttrInterface lhsGrid, rhsGrid;
  /// One step per row (M x 1, N x 1) rather than one per tensor (1 x 1).
  bool lhsPerRow = false, rhsPerRow = false;
  /// Element types of the steps (f16, bf16, f32 or f64; read as f32).
  Type lhsScaleElementType, rhsScaleElementType;
  /// f32, bf16 or f16.
  Type resultElementType;
  /// The kernel strategy (never Auto) and its shared-memory pipeline depth
  /// of the K loop.
  MatmulGPUStrategy strategy = MatmulGPUStrategy::MmaSync;
  unsigned stages = 3;
  /// Columns of the wgmma kernel's CTA tile (chooseWgmmaTileN).
  int64_t wgmmaTileN = 256;
  /// Consumers applied in the epilogue (wgmma with a static M only).
  std::optional<MatmulConsumers> consumers;

  /// `int4Mma` is Auto when the chip leaves the choice open: packed codes
  /// are unpacked up to kMaxUnpackedInt4K, multiplied natively beyond.
  /// `strategy` Auto picks Wgmma where `chip` has it and the codes are s8;
  /// `stages` 0 is the strategy's default.
  static MatmulKernelSpec get(MatmulOp op, MatmulGPUStrategy strategy,
                              StringRef chip, unsigned stages, Int4Mma int4Mma);
  /// A symbol-friendly name that tells kernels apart, e.g.
  /// `qat_matmul_256x128x512_centered_centered_s4_bf16`.
  std::string getName() const;
  bool operator==(const MatmulKernelSpec &other) const;
};

/// The integer epilogue that turns the product of the raw codes into the
/// product of the levels, exactly, in int32:
///
///   T[m,n] = accFactor * acc[m,n] + lhsRowSumFactor * rowSumA[m]
///            + rhsRowSumFactor * rowSumB[n] + constant
///   result[m,n] = (float(T) * scale) * sa[m] * sb[n]
///
/// with acc = sum_k a[m,k] * b[n,k] over the stored codes (s8 or s4, what the
/// tensor cores multiply), rowSumA[m] = sum_k a[m,k], rowSumB[n] =
/// sum_k b[n,k]. A level is the code on the signed grid and code + 1/2 on the
/// centered grid, so with K the contraction size:
///
///   signed   x signed  : sum a*b                 = acc
///   centered x centered: sum (a+1/2)(b+1/2)      = (4acc + 2rA + 2rB + K)/4
///   centered x signed  : sum (a+1/2) b           = (2acc + rB)/2
///   signed   x centered: sum a (b+1/2)           = (2acc + rA)/2
///
/// T is the sum of the odd integers (2a+1)(2b+1), (2a+1)b or a(2b+1) that the
/// qat.matmul verifier bounds to int32, so T is exact even if the pieces
/// wrap (int32 arithmetic is modular). Zero codes padding K add nothing to
/// acc and the row sums, which is why tiles may be zero-filled.
///
/// Packed codes unpacked to s8 (Int4Mma::Unpack) enter the tensor cores as
/// 16a on the signed grid and as 16a + 8 = 8(2a+1) on the centered grid, so
/// acc is already T times 2^accShift (256, 128 or 64) and no row sums are
/// needed:
///
///   T = (acc >> accShift) + constant
///
/// where a zero-filled code of K's padding, unpacked to 8 in both centered
/// operands, adds 64 to acc: constant = -(padded K - K) then.
struct EpilogueCoefficients {
  unsigned accShift = 0;
  int32_t accFactor = 1;
  int32_t lhsRowSumFactor = 0;
  int32_t rhsRowSumFactor = 0;
  int32_t constant = 0;
  /// 1, 1/2 or 1/4: exact in binary floating point.
  double scale = 1.0;

  static EpilogueCoefficients get(GridAttrInterface lhs, GridAttrInterface rhs,
                                  int64_t k);
  /// For packed codes unpacked to s8, with K zero-padded to `paddedK`.
  static EpilogueCoefficients getUnpackedInt4(GridAttrInterface lhs,
                                              GridAttrInterface rhs, int64_t k,
                                              int64_t paddedK);
  bool needsLhsRowSums() const { return lhsRowSumFactor != 0; }
  bool needsRhsRowSums() const { return rhsRowSumFactor != 0; }
};

/// What the qat.matmul kernel builders share beyond KernelBuilder: the CTA
/// tile's origin with M static or dynamic, the loads of the steps and the
/// element math of the dequantizing epilogue.
class MatmulKernelBuilderBase : protected KernelBuilder {
protected:
  MatmulKernelBuilderBase(ImplicitLocOpBuilder &b, const MatmulKernelSpec &spec)
      : KernelBuilder(b), spec(spec) {}

  bool dynamicM() const { return ShapedType::isDynamic(spec.m); }
  /// Rows of `rows` (spec.m or spec.n) and the last of them: constants, or
  /// mRows and mLast when M is dynamic.
  Value rowsValue(int64_t rows) {
    return ShapedType::isDynamic(rows) ? mRows : idx(rows);
  }
  Value lastRow(int64_t rows) {
    return ShapedType::isDynamic(rows) ? mLast : idx(rows - 1);
  }

  /// Sets m0 and n0 for the CTA tile `pid` of tileM x tileN
  /// (KernelBuilder::groupedTileOrigin).
  void computeTileOrigin(Value pid, int64_t tileM, int64_t tileN);
  /// Element `row` of a step buffer (rows x 1), as f32.
  Value loadStep(Value steps, Value row);
  /// The epilogue of one accumulator element `acc` (see
  /// EpilogueCoefficients; an f32 `acc`, of fp8 codes, is the sum of the
  /// levels): `rowScale` already holds the 1/2 or 1/4 factor. Returns the
  /// value in the result type.
  Value dequantize(const EpilogueCoefficients &coefficients, Value acc,
                   Value lhsRowSum, Value rhsRowSum, Value rowScale,
                   Value colScale);
  /// sum * rowScale * colScale (f32) in the result type.
  Value scaleProduct(Value sum, Value rowScale, Value colScale);

  const MatmulKernelSpec &spec;
  /// First row of A and of B (first column of the result) of the CTA tile.
  Value m0, n0;
  /// M and M - 1, when M is dynamic.
  Value mRows, mLast;
};

/// A kernel and how to launch it: a 1-D grid of `gridSize` blocks of
/// `blockSize` threads with `dynamicSharedBytes` of dynamic shared memory.
/// With M dynamic, gridSize is ShapedType::kDynamic and the host launches
/// ceil(M / tileM) * tilesN blocks. Its arguments are A, B, sa, sb, the
/// result (the fused elementwise consumer's, with spec.consumers), the row
/// sums it reads, for `tmaRowsA` != 0 the TMA descriptors of A and B (see
/// buildWgmmaTensorMaps), and with spec.consumers their inputs and, for a
/// fused sum, a buffer of `partialSums` f32.
struct MatmulKernel {
  gpu::GPUFuncOp func;
  int64_t gridSize = 0;
  int64_t blockSize = 0;
  int64_t tileM = 0;
  int64_t tilesN = 0;
  int64_t dynamicSharedBytes = 0;
  /// Rows of the TMA boxes of A and B; 0: no TMA.
  int64_t tmaRowsA = 0, tmaRowsB = 0;
  /// Whether the kernel takes the row sums of A's and of B's codes (i32, M
  /// and N) as arguments after the result, computed before the launch
  /// (launchCodeRowSums), rather than summing them itself.
  bool lhsRowSumArg = false, rhsRowSumArg = false;
  /// Partial sums of a fused sum the kernel writes (one a consumer warp).
  int64_t partialSums = 0;
  /// gridSize counts tiles, of which each CTA computes several: the host
  /// launches buildPersistentGrid's CTAs. With claimsTiles the kernel's
  /// last argument is a counter of claimed tiles (buildTileCounter).
  bool persistent = false, claimsTiles = false;
};

//===----------------------------------------------------------------------===//
// mma.sync strategy (MmaSyncStrategy.cpp)
//===----------------------------------------------------------------------===//

/// The pipeline depth of the mma.sync kernel when the pass names none.
unsigned getMmaSyncDefaultStages();

/// Checks that the mma.sync kernel handles `spec`, reporting through
/// `emitError` (which names the op) what it does not support.
LogicalResult
checkMmaSyncSupport(const MatmulKernelSpec &spec,
                    llvm::function_ref<InFlightDiagnostic()> emitError);

/// Builds the mma.sync kernel for `spec` as a `gpu.func` named
/// `qat_matmul_mma_sync` inside `module`, together with its shared-memory
/// buffer. Its arguments are A, B, sa, sb and the result buffer.
MatmulKernel buildMmaSyncKernel(OpBuilder &builder, Location loc,
                                gpu::GPUModuleOp module,
                                const MatmulKernelSpec &spec);

//===----------------------------------------------------------------------===//
// wgmma strategy (WgmmaStrategy.cpp)
//===----------------------------------------------------------------------===//

/// Checks that the wgmma kernel handles `spec` (what checkMmaSyncSupport
/// says, for s8 codes and its own stage bounds).
LogicalResult
checkWgmmaSupport(const MatmulKernelSpec &spec,
                  llvm::function_ref<InFlightDiagnostic()> emitError);

/// The pipeline depth of the wgmma kernel when the pass names none.
unsigned getWgmmaDefaultStages();

/// The wgmma kernel's tile columns for `spec`: 256, or 128 where N is at
/// most 128 or a static M gives fewer than about one 128 x 256 tile per
/// multiprocessor of an H100 (see WgmmaStrategy.cpp).
int64_t chooseWgmmaTileN(const MatmulKernelSpec &spec);

/// Tiles a multiprocessor up to which the wgmma kernel's CTAs take every
/// gridDim.x-th tile (beyond, up to claiming, a CTA a tile); fewer than the
/// float kernel's, as measured (docs/gpu.md).
constexpr int64_t kWgmmaPersistentTilesPerSM = 2;

/// Whether the wgmma kernel for `spec` loops over tiles (claiming them, or
/// with at most kWgmmaPersistentTilesPerSM a multiprocessor of an H100);
/// otherwise each CTA computes the tile of its blockIdx.x.
bool loopsOverTiles(const MatmulKernelSpec &spec);

/// Whether the wgmma kernel for `spec` claims its tiles (claimsTiles of its
/// count of tiles; always with a dynamic M).
bool claimsWgmmaTiles(const MatmulKernelSpec &spec);

/// Bytes of packed codes a thread of the unpacking kernel reads.
constexpr int64_t kUnpackChunkBytes = 8;

/// Whether unpackCodes takes `op`: packed codes that qat.quantize ops make,
/// or rows of a multiple of kUnpackChunkBytes.
bool canUnpackCodes(MatmulOp op);

/// `op` (canUnpackCodes) on its codes one a byte instead of packed two a
/// byte, for the wgmma kernel, which multiplies s8: a packed qat.quantize
/// that makes them makes them unpacked, else the kernel from `getKernel`
/// (buildUnpackCodesKernel of the op's bytes a row) unpacks them.
MatmulOp unpackCodes(RewriterBase &rewriter, MatmulOp op,
                     llvm::function_ref<gpu::GPUFuncOp()> getKernel);

/// The kernel `qat_unpack_codes(packed: memref<? x kBytes x i8>, unpacked:
/// memref<? x 2 kBytes x i8>)` in `module`: each thread sign-extends the 16
/// codes of kUnpackChunkBytes bytes. kBytes is a multiple of
/// kUnpackChunkBytes.
gpu::GPUFuncOp buildUnpackCodesKernel(OpBuilder &builder, Location loc,
                                      gpu::GPUModuleOp module, int64_t kBytes);

/// Builds the wgmma kernel for `spec` as a `gpu.func` named
/// `qat_matmul_wgmma` inside `module`: persistent, its CTAs taking every
/// gridDim.x-th tile or claiming them.
MatmulKernel buildWgmmaKernel(OpBuilder &builder, Location loc,
                              gpu::GPUModuleOp module,
                              const MatmulKernelSpec &spec);

/// `sum` plus the sum of the 16 signed bytes of `bytes` (vector<16xi8>):
/// four dp4a against ones.
Value accumulateBytes(ImplicitLocOpBuilder &b, Value bytes, Value sum);

/// The kernel `qat_code_row_sums(codes0: memref<? x kBytes x i8>, sums0:
/// memref<? x i32>, ...)` of `operands` pairs in `module`: the sum of each
/// row's codes (s8), a warp a row, the CTAs of each operand after those of
/// the one before (one launch for A and B). kBytes is a multiple of 16.
gpu::GPUFuncOp buildCodeRowSumKernel(OpBuilder &builder, Location loc,
                                     gpu::GPUModuleOp module, int64_t kBytes,
                                     unsigned operands);

/// Host side, on buffers: a fresh i32 buffer of the row sums of each of
/// `codes` (rows x K i8), filled by one launch of `kernel`
/// (buildCodeRowSumKernel of as many operands).
SmallVector<Value> launchCodeRowSums(OpBuilder &builder, Location loc,
                                     gpu::GPUFuncOp kernel, ValueRange codes);

/// Host side: the TMA descriptors of the code buffers `lhs` and `rhs` (boxes
/// of kernel.tmaRowsA and tmaRowsB rows of 128 bytes, 128-byte swizzled),
/// as the `!llvm.ptr` kernel arguments of `kernel`.
SmallVector<Value> buildWgmmaTensorMaps(OpBuilder &builder, Location loc,
                                        const MatmulKernel &kernel, Value lhs,
                                        Value rhs);

} // namespace mlir::qat

#endif // QAT_LIB_CONVERSION_QATMATMULTONVGPU_MATMULKERNEL_H
