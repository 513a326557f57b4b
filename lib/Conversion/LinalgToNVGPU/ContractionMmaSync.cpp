//===- ContractionMmaSync.cpp - Float contractions on mma.sync --*- C++ -*-===//
//
// The sm_80+ tensor-core kernel of a float contraction: register-staged
// double buffering of swizzled shared memory, ldmatrix, warp tiles of
// nvgpu.mma.sync with f32 accumulators, the init added in the epilogue.
//
//===----------------------------------------------------------------------===//
//
// Kernel layout (C = init + A B, A of M x K, B of N x K in the kernel's view;
// the buffers may hold them in any order of dimensions):
//
// * A CTA computes a tileM x tileN tile of C (ContractionKernelSpec::
//   chooseTiles); its warps form a warpsM x warpsN grid, each owning a warp
//   tile of m16n8 MMA tiles whose f32 accumulators stay in registers for
//   the whole K loop. CTAs are numbered along N within groups of 8 tile
//   rows (the A and B panels of CTAs resident together meet in L2); the
//   batch index is blockIdx.y.
// * Shared memory: two stages, each holding the A tile (tileM rows) and the
//   B tile (tileN rows) of one K tile of 64 bytes per row: 32 bf16/f16 or
//   16 f32 elements. A row's four 16-byte chunks are XOR-swizzled with bits
//   1-2 of the row index, so that the eight row addresses of an ldmatrix
//   phase fall into eight different groups of four banks. Byte for byte
//   this is the layout of qat.matmul's s8 kernel (MmaSyncStrategy.cpp), and
//   so are the fragment loads: an ldmatrix.x4 of 16-byte rows gives the A
//   fragment of mma.sync m16n8k16 (bf16, f16) as well as that of m16n8k8
//   .tf32 (an 8x8 b16 matrix is an 8x4 f32 one, thread l getting element
//   (l/4, l%4): exactly a0 of the tf32 fragment), and the B fragments of two
//   n8 tiles.
// * Loads are staged through registers rather than cp.async, because the
//   elements change type on the way (f32 to bf16, f16 to bf16) and the
//   layout may be transposed: each thread loads its share of the next K
//   tile from global memory, converts it and stores it into the other
//   stage after the warps have multiplied the current one; one barrier per
//   K tile. Where K is the operand's contiguous dimension and a multiple of
//   a 16-byte chunk (of the compute type), a thread moves whole chunks:
//   one vector load, one 16-byte shared store. Otherwise it moves single
//   elements, consecutive threads along the contiguous dimension (rows or
//   K) so that transposed layouts read coalesced too. The last K tile is
//   peeled, so that no iteration loads past the end.
// * Guards: elements of rows beyond M or N and of K beyond K are loaded from
//   a clamped in-bounds address and replaced by zero; the epilogue stores
//   only in-bounds elements. Where the tile divides the dimension the guard
//   is not emitted.
// * Epilogue: acc (+ init) converted to the result type, passed through the
//   fused elementwise op if any (its body cloned per element, its other
//   operands loaded at the element's position: ContractionEpilogue.cpp) and
//   stored straight from the accumulator fragments, two adjacent elements
//   per access where the result's columns are contiguous and N is even.
//
//===----------------------------------------------------------------------===//

#include "ContractionKernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// Kernel builder
//===----------------------------------------------------------------------===//

namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kMmaM = 16;
constexpr int64_t kMmaN = 8;
/// Bytes of K per shared-memory row (one K tile), per MMA k-step, per
/// ldmatrix row (one swizzle unit).
constexpr int64_t kRowBytes = 64;
constexpr int64_t kMmaKBytes = 32;
constexpr int64_t kChunkBytes = 16;
constexpr int64_t kChunksPerRow = kRowBytes / kChunkBytes;
constexpr int64_t kStages = 2;

class ContractionKernelBuilder : ContractionKernelBuilderBase {
public:
  ContractionKernelBuilder(ImplicitLocOpBuilder &b,
                           const ContractionKernelSpec &spec)
      : ContractionKernelBuilderBase(b, spec),
        elementBytes(spec.computeType.getIntOrFloatBitWidth() / 8),
        rowElements(kRowBytes / elementBytes),
        chunkElements(kChunkBytes / elementBytes), threads(spec.getThreads()),
        warpTileM(spec.tileM / spec.warpsM),
        warpTileN(spec.tileN / spec.warpsN), mmaTilesM(warpTileM / kMmaM),
        mmaTilesN(warpTileN / kMmaN),
        stageElements((spec.tileM + spec.tileN) * rowElements) {
    assert(threads % spec.tileM == 0 && threads % spec.tileN == 0 &&
           threads % rowElements == 0 && mmaTilesN % 2 == 0 &&
           "the load and fragment schedules assume these divide");
  }

  void build(gpu::GPUFuncOp func, memref::GlobalOp sharedBuffer);

private:
  /// One element of a K tile on its way from global to shared memory.
  struct StagedElement {
    int64_t operand; // 0: A, 1: B
    /// In the tile: the row and either the column (one element) or the
    /// 16-byte chunk (a vector of chunkElements).
    Value row, col, chunk;
    Value value; // of the compute type
  };

  /// Element offset of (row, chunk) in a stage's operand tile, swizzled.
  Value swizzledChunk(Value row, Value chunk) {
    // Rows are 64 bytes: eight consecutive rows cover 512 bytes, i.e. every
    // bank group four times. XOR with bits 1-2 of the row spreads the same
    // logical chunk of eight rows over all eight 16-byte bank groups.
    Value key = bitAnd(shr(row, 1), kChunksPerRow - 1);
    Value physical = b.createOrFold<arith::XOrIOp>(chunk, key);
    return add(mul(row, rowElements), mul(physical, chunkElements));
  }
  Value operandBase(Value stage, int64_t operand) {
    return add(mul(stage, stageElements), operand * spec.tileM * rowElements);
  }

  SmallVector<StagedElement> loadTile(Value kTile);
  void storeTile(ArrayRef<StagedElement> elements, Value stage);
  void multiplyTile(Value stage, MutableArrayRef<Value> accumulators);
  /// The K loop over `kTiles` (at least one) tiles into `accumulators`.
  void multiplyTiles(Value kTiles, MutableArrayRef<Value> accumulators);
  void emitEpilogue(ArrayRef<Value> accumulators);

  const int64_t elementBytes, rowElements, chunkElements, threads;
  const int64_t warpTileM, warpTileN, mmaTilesM, mmaTilesN, stageElements;
  Value shared, tid, lane, warpM, warpN;
};

} // namespace

SmallVector<ContractionKernelBuilder::StagedElement>
ContractionKernelBuilder::loadTile(Value kTile) {
  SmallVector<StagedElement> staged;
  Value kBase = mul(kTile, rowElements);
  bool dynamicK = ShapedType::isDynamic(spec.k);
  bool guardK = dynamicK || spec.k % rowElements != 0;
  for (int64_t operand : {0, 1}) {
    const ContractionOperand &layout = operand ? spec.rhs : spec.lhs;
    Value source = operand ? rhs : lhs;
    int64_t tileRows = operand ? spec.tileN : spec.tileM;
    Value rows = operand ? idx(spec.n) : mSize;
    Value maxRow = operand ? idx(spec.n - 1) : lastRow();
    Value rowBase = operand ? n0 : m0;
    bool guardRows = operand ? spec.n % tileRows != 0 : guardsRows(spec.tileM);
    if (layout.colsContiguous() && !dynamicK && spec.k % chunkElements == 0) {
      // Rows of whole chunks: each thread moves 16-byte chunks of the tile,
      // four threads a row, with one vector load each (a chunk is in K or
      // out of it as a whole, and aligned).
      Type sourceType = layout.elementType;
      auto sourceVector = VectorType::get({chunkElements}, sourceType);
      auto computeVector = VectorType::get({chunkElements}, spec.computeType);
      int64_t alignment = std::min<int64_t>(
          16, chunkElements * sourceType.getIntOrFloatBitWidth() / 8);
      int64_t perThread = tileRows * kChunksPerRow / threads;
      for (int64_t j = 0; j < perThread; ++j) {
        Value chunk = bitAnd(tid, kChunksPerRow - 1);
        Value row = add(shr(tid, llvm::Log2_64(kChunksPerRow)),
                        j * (threads / kChunksPerRow));
        Value globalRow = add(rowBase, row);
        Value globalCol = add(kBase, mul(chunk, chunkElements));
        Value valid;
        if (guardRows) {
          valid = ult(globalRow, rows);
          globalRow = b.createOrFold<arith::MinUIOp>(globalRow, maxRow);
        }
        if (guardK) {
          valid = both(valid, ult(globalCol, spec.k));
          globalCol = b.createOrFold<arith::MinUIOp>(
              globalCol, idx(spec.k - chunkElements));
        }
        Value value = vector::LoadOp::create(
            b, sourceVector, source, indices(layout, globalRow, globalCol),
            /*nontemporal=*/false, llvm::MaybeAlign(alignment));
        value = convert(value, spec.computeType);
        if (valid)
          value = arith::SelectOp::create(
              b, valid, value,
              arith::ConstantOp::create(b, b.getZeroAttr(computeVector)));
        staged.push_back({operand, row, Value(), chunk, value});
      }
      continue;
    }
    int64_t perThread = tileRows * rowElements / threads;
    for (int64_t j = 0; j < perThread; ++j) {
      // Element tid + j * threads of the tile, numbered along the buffer's
      // contiguous dimension (threads divides both extents).
      Value row, col;
      if (layout.colsContiguous()) {
        col = bitAnd(tid, rowElements - 1);
        row = add(shr(tid, llvm::Log2_64(rowElements)),
                  j * (threads / rowElements));
      } else {
        row = bitAnd(tid, tileRows - 1);
        col = add(shr(tid, llvm::Log2_64(tileRows)), j * (threads / tileRows));
      }
      Value globalRow = add(rowBase, row);
      Value globalCol = add(kBase, col);
      Value valid;
      if (guardRows) {
        valid = ult(globalRow, rows);
        globalRow = b.createOrFold<arith::MinUIOp>(globalRow, maxRow);
      }
      if (guardK) {
        // K > 0 here: an empty K loads no tile (build).
        valid = both(valid, ult(globalCol, kSize));
        globalCol = b.createOrFold<arith::MinUIOp>(
            globalCol, b.createOrFold<arith::SubIOp>(kSize, idx(1)));
      }
      Value value = memref::LoadOp::create(
          b, source, indices(layout, globalRow, globalCol));
      value = convert(value, spec.computeType);
      if (valid)
        value = arith::SelectOp::create(
            b, valid, value,
            arith::ConstantOp::create(b, b.getZeroAttr(spec.computeType)));
      staged.push_back({operand, row, col, Value(), value});
    }
  }
  return staged;
}

void ContractionKernelBuilder::storeTile(ArrayRef<StagedElement> elements,
                                         Value stage) {
  for (const StagedElement &element : elements) {
    if (element.chunk) {
      Value offset = add(operandBase(stage, element.operand),
                         swizzledChunk(element.row, element.chunk));
      vector::StoreOp::create(b, element.value, shared, ValueRange{offset},
                              /*nontemporal=*/false,
                              llvm::MaybeAlign(kChunkBytes));
      continue;
    }
    Value chunk = shr(element.col, llvm::Log2_64(chunkElements));
    Value within = bitAnd(element.col, chunkElements - 1);
    Value offset = add(add(operandBase(stage, element.operand),
                           swizzledChunk(element.row, chunk)),
                       within);
    memref::StoreOp::create(b, element.value, shared, ValueRange{offset});
  }
}

void ContractionKernelBuilder::multiplyTile(
    Value stage, MutableArrayRef<Value> accumulators) {
  Type type = spec.computeType;
  int64_t perRegister = 4 / elementBytes;
  auto fragmentType = [&](int64_t registers) {
    return VectorType::get({registers, perRegister}, type);
  };
  bool tf32 = type.isF32();
  SmallVector<int64_t, 3> mmaShape = {kMmaM, kMmaN, kMmaKBytes / elementBytes};
  int64_t chunksPerStep = kMmaKBytes / kChunkBytes;
  for (int64_t kStep = 0; kStep < kRowBytes / kMmaKBytes; ++kStep) {
    // A: ldmatrix.x4, lanes 0-15 address rows 0-15 of the k-step's first
    // 16 bytes, lanes 16-31 the next 16 bytes: registers a0..a3.
    SmallVector<Value> lhsFragments, rhsFragments;
    for (int64_t tileM = 0; tileM < mmaTilesM; ++tileM) {
      Value row =
          add(add(mul(warpM, warpTileM), idx(tileM * kMmaM)), bitAnd(lane, 15));
      Value chunk = add(shr(lane, 4), kStep * chunksPerStep);
      Value offset = add(operandBase(stage, 0), swizzledChunk(row, chunk));
      lhsFragments.push_back(nvgpu::LdMatrixOp::create(
          b, fragmentType(4), shared, ValueRange{offset},
          /*transpose=*/false, /*numTiles=*/4));
    }
    // B is N x K, the "col" operand: matrix j of an x4 load holds rows
    // (j / 2) * 8 + 0..7 of a pair of n8 tiles and chunk j % 2 of the
    // k-step, i.e. registers b0, b1 of both tiles.
    for (int64_t pair = 0; pair < mmaTilesN / 2; ++pair) {
      Value laneRow = add(shl(shr(lane, 4), 3), bitAnd(lane, 7));
      Value row =
          add(add(mul(warpN, warpTileN), idx(pair * 2 * kMmaN)), laneRow);
      Value chunk = add(bitAnd(shr(lane, 3), 1), kStep * chunksPerStep);
      Value offset = add(operandBase(stage, 1), swizzledChunk(row, chunk));
      Value four = nvgpu::LdMatrixOp::create(
          b, fragmentType(4), shared, ValueRange{offset},
          /*transpose=*/false, /*numTiles=*/4);
      for (int64_t half : {0, 1}) {
        Value fragment = arith::ConstantOp::create(
            b, DenseElementsAttr::get(fragmentType(2), b.getZeroAttr(type)));
        for (int64_t i : {0, 1}) {
          Value reg = vector::ExtractOp::create(
              b, four, ArrayRef<int64_t>{2 * half + i});
          fragment =
              vector::InsertOp::create(b, reg, fragment, ArrayRef<int64_t>{i});
        }
        rhsFragments.push_back(fragment);
      }
    }
    for (int64_t tileM = 0; tileM < mmaTilesM; ++tileM)
      for (int64_t tileN = 0; tileN < mmaTilesN; ++tileN) {
        Value &acc = accumulators[tileM * mmaTilesN + tileN];
        acc = nvgpu::MmaSyncOp::create(b, lhsFragments[tileM],
                                       rhsFragments[tileN], acc, mmaShape,
                                       /*tf32Enabled=*/tf32);
      }
  }
}

void ContractionKernelBuilder::emitEpilogue(ArrayRef<Value> accumulators) {
  bool guardRows = guardsRows(spec.tileM);
  bool guardCols = spec.n % spec.tileN != 0;
  Value laneRow = shr(lane, 2);
  Value laneCol = mul(bitAnd(lane, 3), 2);
  for (int64_t tileM = 0; tileM < mmaTilesM; ++tileM) {
    for (int64_t h = 0; h < 2; ++h) {
      Value row =
          add(add(m0, add(mul(warpM, warpTileM), idx(tileM * kMmaM + h * 8))),
              laneRow);
      Value rowInBounds = guardRows ? ult(row, mSize) : Value();
      for (int64_t tileN = 0; tileN < mmaTilesN; ++tileN) {
        Value acc = accumulators[tileM * mmaTilesN + tileN];
        Value col = add(add(n0, add(mul(warpN, warpTileN), idx(tileN * kMmaN))),
                        laneCol);
        SmallVector<Value, 2> pair;
        for (int64_t e : {0, 1})
          pair.push_back(
              vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{h, e}));
        storePair(row, col, rowInBounds, guardCols, pair);
      }
    }
  }
}

void ContractionKernelBuilder::multiplyTiles(
    Value kTiles, MutableArrayRef<Value> accumulators) {
  // Prologue: K tile 0 into stage 0.
  storeTile(loadTile(idx(0)), idx(0));
  gpu::BarrierOp::create(b);

  // Tiles 0 .. kTiles-2: the next tile's loads are issued before the
  // multiplication of the current one and land in the other stage after
  // it; the barrier publishes them and retires the stage just read.
  std::optional<int64_t> knownTiles = getConstantIntValue(kTiles);
  Value lastTile = knownTiles ? idx(*knownTiles - 1)
                              : b.createOrFold<arith::SubIOp>(kTiles, idx(1));
  auto loop =
      scf::ForOp::create(b, idx(0), lastTile, idx(1), ValueRange(accumulators));
  {
    ImplicitLocOpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kTile = loop.getInductionVar();
    SmallVector<Value> accs(loop.getRegionIterArgs());
    Value stage = bitAnd(kTile, kStages - 1);
    SmallVector<StagedElement> next = loadTile(add(kTile, 1));
    multiplyTile(stage, accs);
    storeTile(next, b.createOrFold<arith::XOrIOp>(stage, idx(1)));
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, accs);
  }
  llvm::copy(loop.getResults(), accumulators.begin());
  multiplyTile(knownTiles ? idx((*knownTiles - 1) % kStages)
                          : bitAnd(lastTile, kStages - 1),
               accumulators);
}

void ContractionKernelBuilder::build(gpu::GPUFuncOp func,
                                     memref::GlobalOp sharedBuffer) {
  bindArguments(func);

  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  lane = bitAnd(tid, kWarpSize - 1);
  Value warp = shr(tid, 5);
  warpM = b.createOrFold<arith::DivUIOp>(warp, idx(spec.warpsN));
  warpN = b.createOrFold<arith::RemUIOp>(warp, idx(spec.warpsN));
  batchIndex = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  computeTileOrigin(gpu::BlockIdOp::create(b, gpu::Dimension::x), spec.tileM,
                    spec.tileN);
  shared = memref::GetGlobalOp::create(b, sharedBuffer.getType(),
                                       sharedBuffer.getName());

  Value zero = arith::ConstantOp::create(
      b, DenseElementsAttr::get(VectorType::get({2, 2}, b.getF32Type()),
                                b.getF32FloatAttr(0)));
  SmallVector<Value> accumulators(mmaTilesM * mmaTilesN, zero);
  Value kTiles = countTilesK(rowElements);
  if (!ShapedType::isDynamic(spec.k)) {
    multiplyTiles(kTiles, accumulators);
  } else {
    // K may be 0 at run time (no rows of a weight gradient's operands):
    // then no tile is loaded and the sums are zero.
    auto nonEmpty = scf::IfOp::create(
        b, TypeRange(ValueRange(accumulators)),
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, kTiles, idx(0)),
        /*withElseRegion=*/true);
    {
      ImplicitLocOpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(nonEmpty.thenBlock());
      SmallVector<Value> sums = accumulators;
      multiplyTiles(kTiles, sums);
      scf::YieldOp::create(b, sums);
      b.setInsertionPointToStart(nonEmpty.elseBlock());
      scf::YieldOp::create(b, accumulators);
    }
    accumulators.assign(nonEmpty.getResults().begin(),
                        nonEmpty.getResults().end());
  }
  emitEpilogue(accumulators);
  gpu::ReturnOp::create(b);
}

ContractionKernel
mlir::qat::buildContractionMmaSyncKernel(OpBuilder &builder, Location loc,
                                         gpu::GPUModuleOp module,
                                         const ContractionKernelSpec &spec) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());

  int64_t elementBytes = spec.computeType.getIntOrFloatBitWidth() / 8;
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto sharedType = MemRefType::get(
      {kStages * (spec.tileM + spec.tileN) * kRowBytes / elementBytes},
      spec.computeType, MemRefLayoutAttrInterface(), workgroup);
  // ldmatrix reads 16-byte rows (a static memref.global: see
  // MmaSyncStrategy.cpp for why not dynamic shared memory).
  auto sharedBuffer = memref::GlobalOp::create(
      b, "qat_contraction_smem", b.getStringAttr("private"), sharedType,
      /*initial_value=*/Attribute(), /*constant=*/false,
      b.getI64IntegerAttr(128));

  auto func = buildContractionKernelFunc(b, loc, module, spec,
                                         "qat_contraction_mma_sync");

  ContractionKernelBuilder(b, spec).build(func, sharedBuffer);
  return {func, spec.getThreads()};
}
