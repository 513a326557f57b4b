//===- MmaSyncStrategy.cpp - qat.matmul on warp-level mma.sync --*- C++ -*-===//
//
// The sm_80+ tensor-core kernel of qat.matmul: a cp.async multistage
// pipeline, ldmatrix, warp tiles of nvgpu.mma.sync and a fused dequantizing
// epilogue.
//
//===----------------------------------------------------------------------===//
//
// Kernel layout (all sizes in bytes of the K dimension; a byte is one s8 code
// or two packed s4 codes, so the same byte tiles serve both element types):
//
// * One CTA of 256 threads (8 warps) computes a 128 x 128 tile of the output
//   and walks K in steps of 64 bytes. Warps form a 2 (M) x 4 (N) grid; each
//   owns a 64 x 32 warp tile: 4 x 4 mma tiles of m16n8, two mma k-steps of
//   32 bytes per K step (m16n8k32 for s8, m16n8k64 for s4, or two m16n8k32
//   for s4 unpacked to s8). That is 64 int32 accumulators per thread, held
//   in registers for the whole K loop.
// * Packed 4-bit codes unpacked to s8 (Int4Mma::Unpack, for chips without
//   4-bit tensor cores): the fragments are loaded exactly as for s4 and each
//   32-bit register r of eight nibbles becomes `(r << 4) & 0xF0F0F0F0` (the
//   even codes, each 16x its value as a signed byte) and `r & 0xF0F0F0F0`
//   (the odd codes, 16x): exact sign extension without per-byte borrows.
//   Centered codes also get `| 0x08080808`: 16c + 8 = 8(2c+1), the odd
//   level itself, so the accumulator needs no row sums (EpilogueCoefficients
//   ::getUnpackedInt4). The m16n8k64 s4 fragment holds in register j of
//   thread (g, t) = (lane / 4, lane % 4) the codes k = 8t + i, i = 0..7 (+ 32
//   for A's registers 2-3 and B's register 1); the m16n8k32 s8 fragment
//   takes byte i of the same register as k' = 4t + i (+ 16). So the even
//   (odd) halves of all registers are an s8 k32 fragment pair for the codes
//   k = 8t + 2i (+ 1) of the k64 step: the same permutation of K in A and B,
//   and the two s8 mma sum all 64 products. Costs: 3 or 4 integer
//   instructions per fragment register and half, two mma per former one.
// * CTAs are numbered along N within groups of 8 tile rows, so that the CTAs
//   resident together share A and B panels in L2.
// * Shared memory holds `stages` copies of the A tile (128 x 64 bytes) and
//   the B tile (128 x 64 bytes): 16 KiB per stage, 48 KiB for the default 3
//   stages, the most a block gets without opting in at launch. It is a
//   static, 128-byte aligned memref.global of the kernel's gpu.module:
//   gpu.dynamic_shared_memory lowers to a one-byte static .shared variable
//   (which pushes 48 KiB over the limit) and workgroup attributions to
//   byte-aligned arrays (cp.async and ldmatrix need 16 bytes). A row's four
//   16-byte chunks are XOR-swizzled with bits 1-2 of the row index, so that
//   the eight row addresses of an ldmatrix phase, and the cp.async writes of
//   eight threads, fall into eight different groups of four banks.
// * Pipeline: the prologue issues the copies of the first stages-1 K tiles,
//   one cp.async group each; iteration kt waits until at most stages-2 groups
//   are pending (tile kt has landed), synchronizes the CTA (which also frees
//   the stage read in iteration kt-1), issues the copies of tile
//   kt+stages-1 into that stage and multiplies tile kt. Every iteration
//   commits one group, empty or zero-filling past the end of K, so the
//   counting stays uniform.
// * Guards: copies of rows beyond M or N and of bytes beyond K read nothing
//   and zero-fill (cp.async src-size 0, from a clamped in-bounds address);
//   zero codes add nothing to the products or the row sums. The epilogue
//   stores only in-bounds elements. Rows must be a multiple of 16 bytes so
//   that every chunk is 16-byte aligned.
// * Row sums (only for centered operands, see EpilogueCoefficients): thread
//   t sums row t % 128 of A (t < 128) or B (t >= 128) of each tile from
//   shared memory with dp4a, beside the tensor cores; 4-bit codes are
//   summed as their high and low nibbles shifted to the top of each byte.
//   The sums are exchanged through shared memory after the K loop.
// * Epilogue: T = c1*acc + c2*rowSumA + c3*rowSumB + c4 in int32, then
//   float(T) * (1/4, 1/2 or 1) * sa[m] * sb[n], converted to the result type
//   and stored straight from the accumulator fragments, two adjacent
//   elements per store.
//
// On sm_90a, s8 codes take Hopper's warpgroup MMA instead
// (WgmmaStrategy.cpp).
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

using namespace mlir;
using namespace mlir::qat;

namespace {

constexpr int64_t kTileM = 128;
constexpr int64_t kTileN = 128;
constexpr int64_t kTileKBytes = 64;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarpsM = 2;
constexpr int64_t kWarpsN = 4;
constexpr int64_t kThreads = kWarpsM * kWarpsN * kWarpSize;
constexpr int64_t kWarpTileM = kTileM / kWarpsM;
constexpr int64_t kWarpTileN = kTileN / kWarpsN;
constexpr int64_t kMmaM = 16;
constexpr int64_t kMmaN = 8;
constexpr int64_t kMmaKBytes = 32;
constexpr int64_t kMmaTilesM = kWarpTileM / kMmaM;
constexpr int64_t kMmaTilesN = kWarpTileN / kMmaN;
constexpr int64_t kMmaStepsK = kTileKBytes / kMmaKBytes;
/// One cp.async, one ldmatrix row, one swizzle unit.
constexpr int64_t kChunkBytes = 16;
constexpr int64_t kChunksPerRow = kTileKBytes / kChunkBytes;
constexpr int64_t kTileABytes = kTileM * kTileKBytes;
constexpr int64_t kStageBytes = (kTileM + kTileN) * kTileKBytes;
constexpr int64_t kCopiesPerThread = kTileABytes / kChunkBytes / kThreads;
/// Static shared memory of a block (more needs dynamic shared memory and an
/// opt-in at launch).
constexpr int64_t kMaxSharedBytes = 48 * 1024;
/// CTAs resident on one SM (see buildMmaSyncKernel).
constexpr int64_t kCtasPerSM = 2;

static_assert(kTileM == kTileN, "A and B tiles share the copy schedule");
static_assert(kChunksPerRow == 4, "the swizzle permutes four chunks per row");
static_assert(kTileABytes % (kChunkBytes * kThreads) == 0,
              "every thread copies the same number of chunks");
static_assert(kTileM + kTileN == kThreads, "one thread sums one row of A or B");
static_assert(kUnpackedInt4KTile == 2 * kTileKBytes,
              "kMaxUnpackedInt4K counts the zero-filled codes of a K tile");

/// Emits the body of the mma.sync kernel.
class MmaSyncKernelBuilder : MatmulKernelBuilderBase {
public:
  MmaSyncKernelBuilder(ImplicitLocOpBuilder &b, const MatmulKernelSpec &spec)
      : MatmulKernelBuilderBase(b, spec),
        epilogue(spec.unpackInt4
                     ? EpilogueCoefficients::getUnpackedInt4(
                           spec.lhsGrid, spec.rhsGrid, spec.k,
                           llvm::alignTo(spec.kBytes, kTileKBytes) * 2)
                     : EpilogueCoefficients::get(spec.lhsGrid, spec.rhsGrid,
                                                 spec.k)),
        i8Type(b.getI8Type()), i32Type(b.getI32Type()),
        tokenType(nvgpu::DeviceAsyncTokenType::get(b.getContext())) {}

  void build(gpu::GPUFuncOp func, memref::GlobalOp sharedBuffer);

private:
  /// Whether rows of `rows` (spec.m or spec.n) can end inside a tile.
  bool partialTiles(int64_t rows) const {
    return ShapedType::isDynamic(rows) || rows % kTileM != 0;
  }

  /// Byte offset of chunk `chunk` of row `row` inside one operand tile.
  Value swizzledOffset(Value row, Value chunk);
  Value swizzledOffset(Value row, int64_t chunk) {
    return swizzledOffset(row, idx(chunk));
  }

  /// Issues the copies of K tile `kTile` into stage `stage` and commits them
  /// as one group.
  Value issueTileCopies(Value kTile, Value stage);
  /// Registers [first, first + count) of an ldmatrix result, as the operand
  /// type of the mma: vector<count x 4 x i8>, or vector<count x 8 x i4> for
  /// packed codes multiplied as s4. Built from 1-D vector ops only, which the
  /// NVVM conversion lowers by itself.
  Value regroup(Value registers, int64_t first, int64_t count);
  /// The s8 fragment holding the even (`odd` false) or odd codes of each
  /// register of a packed fragment vector<R x 4 x i8>, as 16c, or as
  /// 8(2c+1) for `centered` codes.
  Value unpackInt4(Value fragment, bool odd, bool centered);
  /// Packed codes are multiplied as s4 on the tensor cores.
  bool nativeInt4() const { return spec.packed && !spec.unpackInt4; }
  Value loadLhsFragment(Value stageBase, int64_t mmaTileM, int64_t kStep);
  std::pair<Value, Value> loadRhsFragments(Value stageBase, int64_t pair,
                                           int64_t kStep);
  /// Adds the codes of this thread's row of the tile in stage `stageBase` to
  /// `rowSum`.
  Value accumulateRowSum(Value stageBase, Value rowSum);
  Value sumRowOfTile(Value stageBase);
  void emitEpilogue(ValueRange accumulators);

  EpilogueCoefficients epilogue;
  Type i8Type, i32Type, tokenType;

  Value lhs, rhs, lhsScale, rhsScale, result;
  /// The shared buffer as bytes (copies, ldmatrix) and as int32 words (row
  /// sums).
  Value shared, sharedWords;
  Value tid, lane, warpM, warpN;
};

} // namespace

Value MmaSyncKernelBuilder::swizzledOffset(Value row, Value chunk) {
  // Rows are 64 bytes: eight consecutive rows cover 512 bytes, i.e. every
  // bank group four times. XOR with bits 1-2 of the row spreads the same
  // logical chunk of eight rows over all eight 16-byte bank groups.
  Value key = bitAnd(shr(row, 1), kChunksPerRow - 1);
  Value physical = b.createOrFold<arith::XOrIOp>(chunk, key);
  return add(mul(row, kTileKBytes), mul(physical, kChunkBytes));
}

Value MmaSyncKernelBuilder::issueTileCopies(Value kTile, Value stage) {
  SmallVector<Value> tokens;
  Value kByteBase = mul(kTile, kTileKBytes);
  Value stageBase = mul(stage, kStageBytes);
  Value chunk = bitAnd(tid, kChunksPerRow - 1);
  Value kByte = add(kByteBase, mul(chunk, kChunkBytes));
  // Past the end of K (the K tail and the tiles after the last one) the
  // copies read nothing and zero-fill.
  Value inK = ult(kByte, spec.kBytes);
  for (auto [operand, source, rows, rowBase] :
       {std::tuple{0, lhs, spec.m, m0}, {1, rhs, spec.n, n0}}) {
    for (int64_t copy = 0; copy < kCopiesPerThread; ++copy) {
      Value row = add(shr(tid, 2), copy * (kThreads / kChunksPerRow));
      Value globalRow = add(rowBase, row);
      Value valid = inK;
      Value sourceRow = globalRow;
      if (partialTiles(rows)) {
        valid =
            arith::AndIOp::create(b, valid, ult(globalRow, rowsValue(rows)));
        sourceRow = b.createOrFold<arith::MinUIOp>(globalRow, lastRow(rows));
      }
      Value sourceCol = arith::SelectOp::create(b, valid, kByte, idx(0));
      Value bytes = arith::SelectOp::create(b, valid, idx(kChunkBytes), idx(0));
      Value offset = add(add(stageBase, operand * kTileABytes),
                         swizzledOffset(row, chunk));
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, tokenType, shared, ValueRange{offset}, source,
          ValueRange{sourceRow, sourceCol}, b.getIndexAttr(kChunkBytes), bytes,
          /*bypassL1=*/b.getUnitAttr()));
    }
  }
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, tokens);
}

Value MmaSyncKernelBuilder::regroup(Value registers, int64_t first,
                                    int64_t count) {
  Type element = nativeInt4() ? b.getIntegerType(4) : i8Type;
  int64_t perRegister = nativeInt4() ? 8 : 4;
  auto registerType = VectorType::get({perRegister}, element);
  auto groupType = VectorType::get({count, perRegister}, element);
  Value group = arith::ConstantOp::create(
      b, DenseElementsAttr::get(groupType, b.getIntegerAttr(element, 0)));
  for (int64_t i = 0; i < count; ++i) {
    Value reg =
        vector::ExtractOp::create(b, registers, ArrayRef<int64_t>{first + i});
    if (nativeInt4())
      reg = vector::BitCastOp::create(b, registerType, reg);
    group = vector::InsertOp::create(b, reg, group, ArrayRef<int64_t>{i});
  }
  return group;
}

Value MmaSyncKernelBuilder::unpackInt4(Value fragment, bool odd,
                                       bool centered) {
  auto fragmentType = cast<VectorType>(fragment.getType());
  auto bytesType = VectorType::get({4}, i8Type);
  auto wordType = VectorType::get({1}, i32Type);
  Value unpacked = arith::ConstantOp::create(
      b, DenseElementsAttr::get(fragmentType, b.getI8IntegerAttr(0)));
  for (int64_t i = 0; i < fragmentType.getDimSize(0); ++i) {
    Value bytes = vector::ExtractOp::create(b, fragment, ArrayRef<int64_t>{i});
    Value word = vector::ExtractOp::create(
        b, vector::BitCastOp::create(b, wordType, bytes), ArrayRef<int64_t>{0});
    if (!odd)
      word = arith::ShLIOp::create(b, word, i32(4));
    word =
        arith::AndIOp::create(b, word, i32(static_cast<int32_t>(0xF0F0F0F0u)));
    if (centered)
      word = arith::OrIOp::create(b, word, i32(0x08080808));
    bytes = vector::BitCastOp::create(
        b, bytesType, vector::BroadcastOp::create(b, wordType, word));
    unpacked =
        vector::InsertOp::create(b, bytes, unpacked, ArrayRef<int64_t>{i});
  }
  return unpacked;
}

Value MmaSyncKernelBuilder::loadLhsFragment(Value stageBase, int64_t mmaTileM,
                                            int64_t kStep) {
  // ldmatrix.x4: lanes 0-15 address rows 0-15 of the first 16 bytes of the
  // k-step, lanes 16-31 the same rows 16 bytes further; the four 8x8 (b16)
  // matrices are then exactly registers a0..a3 of the m16n8k32 s8 (and
  // m16n8k64 s4) A fragment.
  Value row =
      add(add(mul(warpM, kWarpTileM), idx(mmaTileM * kMmaM)), bitAnd(lane, 15));
  Value chunk = add(shr(lane, 4), kStep * (kMmaKBytes / kChunkBytes));
  Value offset = add(stageBase, swizzledOffset(row, chunk));
  Value fragment = nvgpu::LdMatrixOp::create(
      b, VectorType::get({4, 4}, i8Type), shared, ValueRange{offset},
      /*transpose=*/false, /*numTiles=*/4);
  if (!nativeInt4())
    return fragment;
  // Two's complement nibbles with element 2j in the low half of byte j are
  // the PTX register layout of .s4 fragments (lower element, lower bits).
  return regroup(fragment, 0, 4);
}

std::pair<Value, Value> MmaSyncKernelBuilder::loadRhsFragments(Value stageBase,
                                                               int64_t pair,
                                                               int64_t kStep) {
  // B is N x K, i.e. already the "col" operand: ldmatrix without transpose.
  // Matrix j of the x4 load holds rows n (j / 2) * 8 + 0..7 of the pair and
  // chunk j % 2 of the k-step: registers b0, b1 of two n8 mma tiles.
  Value laneRow = add(shl(shr(lane, 4), 3), bitAnd(lane, 7));
  Value row = add(add(mul(warpN, kWarpTileN), idx(pair * 2 * kMmaN)), laneRow);
  Value chunk =
      add(bitAnd(shr(lane, 3), 1), kStep * (kMmaKBytes / kChunkBytes));
  Value offset = add(add(stageBase, kTileABytes), swizzledOffset(row, chunk));
  Value both = nvgpu::LdMatrixOp::create(b, VectorType::get({4, 4}, i8Type),
                                         shared, ValueRange{offset},
                                         /*transpose=*/false, /*numTiles=*/4);
  return {regroup(both, 0, 2), regroup(both, 2, 2)};
}

Value MmaSyncKernelBuilder::sumRowOfTile(Value stageBase) {
  // Thread t owns row t % 128 of A (t < 128) or of B; reading the chunks
  // through the swizzle keeps the eight rows of a phase in distinct banks.
  Value operandBase = mul(shr(tid, 7), kTileABytes);
  Value row = bitAnd(tid, kTileM - 1);
  auto vec4xi32 = VectorType::get({4}, i32Type);
  auto vec16xi8 = VectorType::get({16}, i8Type);
  auto splat = [&](int32_t value) -> Value {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(vec4xi32, b.getI32IntegerAttr(value)));
  };
  auto dp4a = [&](Value words, Value sum) {
    return accumulateBytes(b, vector::BitCastOp::create(b, vec16xi8, words),
                           sum);
  };

  Value sum = i32(0);
  for (int64_t chunk = 0; chunk < kChunksPerRow; ++chunk) {
    Value offset = add(add(stageBase, operandBase), swizzledOffset(row, chunk));
    Value words = vector::LoadOp::create(
        b, vec4xi32, sharedWords, ValueRange{shr(offset, 2)},
        /*nontemporal=*/false, llvm::MaybeAlign(kChunkBytes));
    if (!spec.packed) {
      sum = dp4a(words, sum);
      continue;
    }
    // Masked in place, each byte holds 16 * (its high nibble); shifted left
    // by 4 first, 16 * (its low nibble), both as signed bytes.
    Value mask = splat(static_cast<int32_t>(0xF0F0F0F0u));
    Value high = arith::AndIOp::create(b, words, mask);
    Value low = arith::AndIOp::create(
        b, arith::ShLIOp::create(b, words, splat(4)), mask);
    sum = dp4a(low, dp4a(high, sum));
  }
  if (spec.packed) {
    // Exact: every term is a multiple of 16. Per tile, so that the running
    // sum never holds 16x the row sum.
    sum = arith::ShRSIOp::create(b, sum, i32(4));
  }
  return sum;
}

Value MmaSyncKernelBuilder::accumulateRowSum(Value stageBase, Value rowSum) {
  if (epilogue.needsLhsRowSums() && epilogue.needsRhsRowSums())
    return arith::AddIOp::create(b, rowSum, sumRowOfTile(stageBase));
  // One operand: its half of the threads (four whole warps) sums.
  Value mine = epilogue.needsRhsRowSums()
                   ? b.createOrFold<arith::CmpIOp>(arith::CmpIPredicate::uge,
                                                   tid, idx(kTileM))
                   : ult(tid, kTileM);
  auto ifOp = scf::IfOp::create(b, TypeRange{i32Type}, mine,
                                /*withElseRegion=*/true);
  {
    ImplicitLocOpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value sum = arith::AddIOp::create(b, rowSum, sumRowOfTile(stageBase));
    scf::YieldOp::create(b, sum);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, rowSum);
  }
  return ifOp.getResult(0);
}

void MmaSyncKernelBuilder::emitEpilogue(ValueRange accumulators) {
  Type resultType = spec.resultElementType;
  bool guardRows = partialTiles(spec.m);
  bool guardCols = spec.n % kTileN != 0;
  // Pairs of adjacent columns start at even columns; with N even they are
  // aligned for one vector store and either both in bounds or both out.
  bool pairStores = spec.n % 2 == 0;
  Value lane4 = bitAnd(lane, 3);
  Value laneRow = shr(lane, 2);

  Value lhsTensorScale, rhsTensorScale;
  if (!spec.lhsPerRow)
    lhsTensorScale = loadStep(lhsScale, idx(0));
  if (!spec.rhsPerRow)
    rhsTensorScale = loadStep(rhsScale, idx(0));

  // Per-column factors of this thread: 4 mma tiles x 2 columns.
  SmallVector<Value> cols, colScales, rhsRowSums;
  for (int64_t tileN = 0; tileN < kMmaTilesN; ++tileN) {
    for (int64_t e = 0; e < 2; ++e) {
      Value local = add(add(mul(warpN, kWarpTileN), idx(tileN * kMmaN + e)),
                        mul(lane4, 2));
      Value col = add(n0, local);
      cols.push_back(col);
      Value clamped = guardCols
                          ? b.createOrFold<arith::MinUIOp>(col, idx(spec.n - 1))
                          : col;
      colScales.push_back(spec.rhsPerRow ? loadStep(rhsScale, clamped)
                                         : rhsTensorScale);
      if (epilogue.needsRhsRowSums())
        rhsRowSums.push_back(memref::LoadOp::create(
            b, sharedWords, ValueRange{add(local, kTileM)}));
    }
  }

  for (int64_t tileM = 0; tileM < kMmaTilesM; ++tileM) {
    for (int64_t h = 0; h < 2; ++h) {
      Value local =
          add(add(mul(warpM, kWarpTileM), idx(tileM * kMmaM + h * 8)), laneRow);
      Value row = add(m0, local);
      Value clamped = guardRows
                          ? b.createOrFold<arith::MinUIOp>(row, lastRow(spec.m))
                          : row;
      Value rowScale =
          spec.lhsPerRow ? loadStep(lhsScale, clamped) : lhsTensorScale;
      if (epilogue.scale != 1.0)
        rowScale = arith::MulFOp::create(
            b, arith::ConstantOp::create(b, b.getF32FloatAttr(epilogue.scale)),
            rowScale);
      Value lhsRowSum;
      if (epilogue.needsLhsRowSums())
        lhsRowSum = memref::LoadOp::create(b, sharedWords, ValueRange{local});

      for (int64_t tileN = 0; tileN < kMmaTilesN; ++tileN) {
        Value acc = accumulators[tileM * kMmaTilesN + tileN];
        SmallVector<Value, 2> values;
        for (int64_t e = 0; e < 2; ++e) {
          int64_t c = tileN * 2 + e;
          Value t = vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{h, e});
          values.push_back(
              dequantize(epilogue, t, lhsRowSum,
                         epilogue.needsRhsRowSums() ? rhsRowSums[c] : Value(),
                         rowScale, colScales[c]));
        }

        // Stores, guarded where the tile can stick out of the result.
        Value rowInBounds = guardRows ? ult(row, rowsValue(spec.m)) : Value();
        if (pairStores) {
          Value col = cols[tileN * 2];
          Value inBounds =
              both(rowInBounds, guardCols ? ult(col, spec.n) : Value());
          emitGuarded(inBounds, [&] {
            Value pair = vector::FromElementsOp::create(
                b, VectorType::get({2}, resultType), values);
            vector::StoreOp::create(
                b, pair, result, ValueRange{row, col}, /*nontemporal=*/false,
                llvm::MaybeAlign(resultType.getIntOrFloatBitWidth() / 4));
          });
          continue;
        }
        for (int64_t e = 0; e < 2; ++e) {
          Value col = cols[tileN * 2 + e];
          Value inBounds =
              both(rowInBounds, guardCols ? ult(col, spec.n) : Value());
          emitGuarded(inBounds, [&] {
            memref::StoreOp::create(b, values[e], result, ValueRange{row, col});
          });
        }
      }
    }
  }
}

void MmaSyncKernelBuilder::build(gpu::GPUFuncOp func,
                                 memref::GlobalOp sharedBuffer) {
  entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  lhs = entry->getArgument(0);
  rhs = entry->getArgument(1);
  lhsScale = entry->getArgument(2);
  rhsScale = entry->getArgument(3);
  result = entry->getArgument(4);
  if (dynamicM()) {
    mRows = memref::DimOp::create(b, lhs, 0);
    mLast = arith::SubIOp::create(b, mRows, idx(1));
  }

  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  lane = bitAnd(tid, kWarpSize - 1);
  Value warp = shr(tid, 5);
  warpM = b.createOrFold<arith::DivUIOp>(warp, idx(kWarpsN));
  warpN = b.createOrFold<arith::RemUIOp>(warp, idx(kWarpsN));
  computeTileOrigin(gpu::BlockIdOp::create(b, gpu::Dimension::x), kTileM,
                    kTileN);

  MemRefType sharedType = sharedBuffer.getType();
  shared = memref::GetGlobalOp::create(b, sharedType, sharedBuffer.getName());
  sharedWords = memref::ViewOp::create(
      b,
      MemRefType::get({sharedType.getNumElements() / 4}, i32Type,
                      MemRefLayoutAttrInterface(), sharedType.getMemorySpace()),
      shared, idx(0), ValueRange{});

  int64_t stages = spec.stages;
  int64_t kTiles = llvm::divideCeil(spec.kBytes, kTileKBytes);
  Value token;
  for (int64_t stage = 0; stage + 1 < stages; ++stage)
    token = issueTileCopies(idx(stage), idx(stage));

  // Accumulators, the row sum of this thread and the last committed group
  // travel through the K loop.
  SmallVector<Value> inits;
  Value zeroFragment = arith::ConstantOp::create(
      b, DenseElementsAttr::get(VectorType::get({2, 2}, i32Type),
                                b.getI32IntegerAttr(0)));
  inits.append(kMmaTilesM * kMmaTilesN, zeroFragment);
  inits.push_back(i32(0));
  inits.push_back(token);
  auto loop = scf::ForOp::create(b, idx(0), idx(kTiles), idx(1), inits);
  {
    ImplicitLocOpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kTile = loop.getInductionVar();
    ValueRange iterArgs = loop.getRegionIterArgs();
    SmallVector<Value> accs(iterArgs.take_front(kMmaTilesM * kMmaTilesN));
    Value rowSum = iterArgs[kMmaTilesM * kMmaTilesN];
    Value lastGroup = iterArgs.back();

    // Tile kTile has landed once at most stages-2 younger groups are
    // pending; the barrier publishes it to all threads and retires the
    // stage that iteration kTile-1 read, which is refilled right away.
    nvgpu::DeviceAsyncWaitOp::create(b, lastGroup,
                                     b.getI32IntegerAttr(stages - 2));
    gpu::BarrierOp::create(b);
    Value nextTile = add(kTile, stages - 1);
    Value group = issueTileCopies(
        nextTile, b.createOrFold<arith::RemUIOp>(nextTile, idx(stages)));

    Value stageBase =
        mul(b.createOrFold<arith::RemUIOp>(kTile, idx(stages)), kStageBytes);
    SmallVector<int64_t, 3> mmaShape = {
        kMmaM, kMmaN, nativeInt4() ? 2 * kMmaKBytes : kMmaKBytes};
    auto multiply = [&](ArrayRef<Value> lhsFragments,
                        ArrayRef<Value> rhsFragments) {
      for (int64_t tileM = 0; tileM < kMmaTilesM; ++tileM) {
        for (int64_t tileN = 0; tileN < kMmaTilesN; ++tileN) {
          Value &acc = accs[tileM * kMmaTilesN + tileN];
          acc = nvgpu::MmaSyncOp::create(b, lhsFragments[tileM],
                                         rhsFragments[tileN], acc, mmaShape);
        }
      }
    };
    for (int64_t kStep = 0; kStep < kMmaStepsK; ++kStep) {
      SmallVector<Value> lhsFragments, rhsFragments;
      for (int64_t tileM = 0; tileM < kMmaTilesM; ++tileM)
        lhsFragments.push_back(loadLhsFragment(stageBase, tileM, kStep));
      for (int64_t pair = 0; pair < kMmaTilesN / 2; ++pair) {
        auto [first, second] = loadRhsFragments(stageBase, pair, kStep);
        rhsFragments.push_back(first);
        rhsFragments.push_back(second);
      }
      if (!spec.unpackInt4) {
        multiply(lhsFragments, rhsFragments);
        continue;
      }
      // Even codes of the k-step, then odd codes: one s8 mma each.
      for (bool odd : {false, true}) {
        auto unpack = [&](ArrayRef<Value> fragments, GridAttrInterface grid) {
          return llvm::map_to_vector(fragments, [&](Value f) {
            return unpackInt4(f, odd, grid.hasHalfIntegerLevels());
          });
        };
        SmallVector<Value> lhsUnpacked = unpack(lhsFragments, spec.lhsGrid);
        SmallVector<Value> rhsUnpacked = unpack(rhsFragments, spec.rhsGrid);
        multiply(lhsUnpacked, rhsUnpacked);
      }
    }
    if (epilogue.needsLhsRowSums() || epilogue.needsRhsRowSums())
      rowSum = accumulateRowSum(stageBase, rowSum);

    SmallVector<Value> yields(accs);
    yields.push_back(rowSum);
    yields.push_back(group);
    scf::YieldOp::create(b, yields);
  }

  // The groups committed past the end of K still zero-fill shared memory:
  // wait for them before the buffer is reused.
  nvgpu::DeviceAsyncWaitOp::create(b, loop.getResults().back(),
                                   b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b);
  if (epilogue.needsLhsRowSums() || epilogue.needsRhsRowSums()) {
    // Row sums of A at words [0, 128), of B at [128, 256).
    memref::StoreOp::create(b, loop.getResult(kMmaTilesM * kMmaTilesN),
                            sharedWords, ValueRange{tid});
    gpu::BarrierOp::create(b);
  }
  emitEpilogue(loop.getResults().take_front(kMmaTilesM * kMmaTilesN));
  gpu::ReturnOp::create(b);
}

unsigned mlir::qat::getMmaSyncDefaultStages() { return 3; }

LogicalResult
mlir::qat::checkMmaSyncSupport(const MatmulKernelSpec &spec,
                               function_ref<InFlightDiagnostic()> emitError) {
  for (auto [role, codeType] :
       {std::pair{"lhs", spec.lhsCodeType}, {"rhs", spec.rhsCodeType}}) {
    if (!codeType.isInteger(8))
      return emitError() << "the mma-sync kernel reads codes stored as i8 "
                            "(s8 tensor cores, or two s4 codes per byte "
                            "when packed), got "
                         << codeType << " " << role << " codes";
  }
  for (auto [role, stepType] : {std::pair{"lhs", spec.lhsScaleElementType},
                                {"rhs", spec.rhsScaleElementType}}) {
    if (!isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(stepType))
      return emitError() << "the mma-sync kernel reads f16, bf16, f32 or f64 "
                            "steps, got "
                         << stepType << " " << role << " steps";
  }
  if (spec.unpackInt4 && spec.k > kMaxUnpackedInt4K)
    return emitError() << "contraction size K = " << spec.k
                       << " is too large for int4-mma=unpack: its int32 "
                          "accumulator holds up to 256x the sum of products, "
                          "exact up to K = "
                       << kMaxUnpackedInt4K << "; use int4-mma=native";
  if (spec.kBytes % kChunkBytes != 0) {
    InFlightDiagnostic diag = emitError();
    diag << "contraction size K = " << spec.k << " gives rows of "
         << spec.kBytes << " bytes; the mma-sync kernel copies rows in "
         << kChunkBytes << "-byte chunks and needs K to be a multiple of "
         << (spec.packed ? 2 : 1) * kChunkBytes;
    if (spec.packed)
      diag << " (packed 4-bit codes)";
    return diag;
  }
  int64_t maxStages = kMaxSharedBytes / kStageBytes;
  if (spec.stages < 2 || spec.stages > maxStages)
    return emitError() << "the mma-sync kernel takes 2 to " << maxStages
                       << " pipeline stages (" << kStageBytes / 1024
                       << " KiB of static shared memory each, at most "
                       << kMaxSharedBytes / 1024 << " KiB), got "
                       << spec.stages;
  // The launch has one block per CTA tile along x (with M dynamic, the host
  // computes the grid at run time).
  if (ShapedType::isDynamic(spec.m))
    return success();
  int64_t ctas =
      llvm::divideCeil(spec.m, kTileM) * llvm::divideCeil(spec.n, kTileN);
  if (ctas > std::numeric_limits<int32_t>::max())
    return emitError() << "a " << spec.m << "x" << spec.n << " result needs "
                       << ctas << " tiles of " << kTileM << "x" << kTileN
                       << ", more than a 1-D grid launches";
  return success();
}

MatmulKernel mlir::qat::buildMmaSyncKernel(OpBuilder &builder, Location loc,
                                           gpu::GPUModuleOp module,
                                           const MatmulKernelSpec &spec) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());

  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto sharedType = MemRefType::get({spec.stages * kStageBytes}, b.getI8Type(),
                                    MemRefLayoutAttrInterface(), workgroup);
  // cp.async and ldmatrix need 16-byte alignment; 128 also suits the
  // 128-byte swizzle of a later TMA/wgmma variant.
  auto sharedBuffer = memref::GlobalOp::create(
      b, "qat_matmul_smem", b.getStringAttr("private"), sharedType,
      /*initial_value=*/Attribute(), /*constant=*/false,
      b.getI64IntegerAttr(128));

  auto codes = [&](int64_t rows) {
    return MemRefType::get({rows, spec.kBytes}, b.getI8Type());
  };
  auto steps = [&](bool perRow, int64_t rows, Type elementType) {
    return MemRefType::get({perRow ? rows : 1, 1}, elementType);
  };
  auto funcType = b.getFunctionType(
      {codes(spec.m), codes(spec.n),
       steps(spec.lhsPerRow, spec.m, spec.lhsScaleElementType),
       steps(spec.rhsPerRow, spec.n, spec.rhsScaleElementType),
       MemRefType::get({spec.m, spec.n}, spec.resultElementType)},
      {});
  auto func = gpu::GPUFuncOp::create(b, "qat_matmul_mma_sync", funcType);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(kThreads), 1, 1}));
  // Two CTAs per SM (.minnctapersm 2: at most 128 registers a thread, 96 KiB
  // of shared memory) hide one CTA's barrier and ldmatrix latency behind the
  // other's MMAs. The s8 kernels fit in 128 registers anyway; the unpacked
  // s4 kernel needed 131 without the bound, and ran 13-20% faster with it
  // (docs/gpu.md). Native s4 needs 156 and would spill: it is left alone.
  if (!spec.packed || spec.unpackInt4)
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  b.getI32IntegerAttr(kCtasPerSM));

  MmaSyncKernelBuilder(b, spec).build(func, sharedBuffer);

  int64_t tilesN = llvm::divideCeil(spec.n, kTileN);
  if (ShapedType::isDynamic(spec.m))
    return {func, ShapedType::kDynamic, kThreads, kTileM, tilesN};
  int64_t tilesM = llvm::divideCeil(spec.m, kTileM);
  return {func, tilesM * tilesN, kThreads, kTileM, tilesN};
}
