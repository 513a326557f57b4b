//===- WgmmaStrategy.cpp - qat.matmul on Hopper warpgroup MMA ---*- C++ -*-===//
//
// The sm_90a tensor-core kernel of qat.matmul: TMA loads into 128-byte
// swizzled shared memory, an mbarrier pipeline from a producer warpgroup to
// two consumer warpgroups that run wgmma.mma_async, and the dequantizing
// epilogue of the mma.sync kernel fused into the stores.
//
//===----------------------------------------------------------------------===//
//
// Kernel layout (sizes of the K dimension in bytes, one s8 or fp8 code
// each; fp8 codes take .f32.e4m3/.e5m2 instead of .s32.s8.s8, f32
// accumulators, and no row sums):
//
// * One CTA of 384 threads (3 warpgroups) computes a 128 x tileN tile of the
//   output: tileN 256, or 128 where N is at most 128 or a static M gives
//   fewer than 120 of the wide tiles (chooseWgmmaTileN). Warpgroups 0 and 1
//   consume: each owns 64 rows of the tile and accumulates them with
//   wgmma.mma_async m64 x tileN x k32 .s32.s8.s8 (tileN / 2 int32
//   accumulators a thread, in registers for the whole K loop). Warpgroup 2
//   produces: one of its threads issues the TMA loads, the others idle.
// * K advances in tiles of 128 bytes. A stage holds the A tile (128 rows x
//   128 bytes) and the B tile (tileN rows), 48 or 32 KiB, written by
//   cp.async.bulk.tensor with the 128-byte swizzle: 16-byte chunk c of row r
//   lands at chunk c ^ (r % 8) of the row's 128-byte line. That is the
//   layout a wgmma shared-memory descriptor with swizzle mode 128B reads
//   (8-row groups 1024 bytes apart); each of the 4 k-steps of 32 bytes
//   advances the descriptors' start address by 32 bytes.
// * Pipeline over `stages` stages with two mbarriers each: full[s] (one
//   arrival, the producer's arrive.expect_tx, plus the 32 KiB of the two
//   loads) and empty[s] (256 arrivals, every consumer thread once it no
//   longer reads the stage). Round i of stage s waits for phase parity
//   i % 2 of full[s] (consumers) and (i - 1) % 2 of empty[s] (producer; a
//   fresh barrier passes that wait for round 0).
// * Bounds: TMA zero-fills the rows past M or N and the bytes past K, so
//   odd sizes and K's last tile need no code in the loop; zero codes add
//   nothing to the products or the row sums. The epilogue stores only
//   in-bounds elements.
// * Shared memory: the stages in dynamic shared memory
//   (more than the 48 KiB a static array may have), their start aligned to
//   1024 bytes at run time, past the static mbarriers of
//   nvgpu.mbarrier.create, because the swizzle pattern is a function of
//   address bits 4-9.
// * Row sums (only for centered operands, see EpilogueCoefficients) are
//   kernel arguments, computed before the launch by a kernel of their own
//   (buildCodeRowSumKernel: a warp a row, 16-byte loads, dp4a): summed
//   here, each CTA would read its 384 rows of [A; B] from shared memory a
//   second time, as many bytes as the tensor cores read, and every row of
//   A would be summed by each of the N / 256 CTAs of its tile row.
// * Epilogue: each warp of a consumer warpgroup holds the wgmma accumulator
//   in the mma.sync m16n8 fragment layout per 8 columns: register 4j + 2h + e
//   of lane l of warp w is row 16w + l/4 + 8h, column 8j + 2(l % 4) + e.
//   The integer sum and the steps are applied as in the mma.sync kernel.
// * No satfinite on wgmma: the int32 accumulator wraps, which the
//   epilogue's modular argument allows (EpilogueCoefficients).
//
// Upstream's nvgpu.warpgroup.mma does not serve: its accumulator type
// accepts f16 and f32 fragments only (its verifier rejects s32), so the
// kernel issues nvvm.wgmma.mma_async directly, on descriptors built by
// nvgpu.warpgroup.generate.descriptor. The TMA loads and mbarriers are
// nvgpu ops; the TMA descriptors come from nvgpu.tma.create.descriptor on the
// host and reach the kernel as `!llvm.ptr` arguments, because
// convert-gpu-to-nvvm converts no nvgpu type in a gpu.func signature.
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "qat/Conversion/TensorCoreKernels/PersistentLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
constexpr int64_t kTileKBytes = 128;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarpgroupSize = 128;
constexpr int64_t kConsumers = 2;
constexpr int64_t kConsumerThreads = kConsumers * kWarpgroupSize;
constexpr int64_t kThreads = kConsumerThreads + kWarpgroupSize;
constexpr int64_t kConsumerWarps = kConsumerThreads / kWarpSize;
constexpr int64_t kWgmmaM = kTileM / kConsumers;
constexpr int64_t kWgmmaKBytes = 32;
constexpr int64_t kWgmmaStepsK = kTileKBytes / kWgmmaKBytes;
constexpr int64_t kTileBytesA = kTileM * kTileKBytes;
/// The 128-byte swizzle repeats every 8 rows of 128 bytes.
constexpr int64_t kSwizzleAlign = 1024;
constexpr int64_t kChunkBytes = 16;
/// Shared memory of one CTA on sm_90 (227 KiB), less the static mbarriers.
constexpr int64_t kMaxSharedBytes = 227 * 1024 - 1024;
constexpr int64_t kDefaultStages = 4;
/// Rows (one warp each) a CTA of the row-sum kernel sums, and a warp's lanes.
constexpr int64_t kRowSumWarps = 8;
constexpr int64_t kRowSumLanes = 32;

static_assert(kTileKBytes == 128, "one row of a tile is one swizzle line");
/// The widest tile: 256 columns.
constexpr int64_t kMaxTileN = 256;
/// Tiles of 128 x 256 from which on the wide tile is used: about one per
/// multiprocessor of an H100 (132), as for the float contractions.
constexpr int64_t kMinWideTiles = 120;

int64_t stageBytes(int64_t tileN) { return (kTileM + tileN) * kTileKBytes; }
/// Registers a thread: the consumers take what the producer gives back
/// (setmaxnreg; 232 * 256 + 40 * 128 <= the 64K registers of an SM).
constexpr int64_t kConsumerRegisters = 232;
constexpr int64_t kProducerRegisters = 40;

/// The kernel's CTA tiles; dynamic with M.
int64_t countTiles(const MatmulKernelSpec &spec) {
  return ShapedType::isDynamic(spec.m)
             ? ShapedType::kDynamic
             : llvm::divideCeil(spec.m, kTileM) *
                   llvm::divideCeil(spec.n, spec.wgmmaTileN);
}

int64_t sharedBytes(const MatmulKernelSpec &spec) {
  return spec.stages * stageBytes(spec.wgmmaTileN) +
         (claimsWgmmaTiles(spec) ? kTileClaimSlotBytes : 0) + kSwizzleAlign;
}

int64_t maxStages(int64_t tileN) {
  return (kMaxSharedBytes - kSwizzleAlign - kTileClaimSlotBytes) /
         stageBytes(tileN);
}

/// The sum of `value` (i32 or f32) over the lanes of a warp, in every lane:
/// a butterfly of shuffles.
Value sumOverWarp(ImplicitLocOpBuilder &b, Value value) {
  Type i32 = b.getI32Type();
  for (int64_t offset = kWarpSize / 2; offset >= 1; offset /= 2) {
    Value other = gpu::ShuffleOp::create(
                      b, value, arith::ConstantIntOp::create(b, i32, offset),
                      arith::ConstantIntOp::create(b, i32, kWarpSize),
                      gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    value = isa<FloatType>(value.getType())
                ? arith::AddFOp::create(b, value, other).getResult()
                : arith::AddIOp::create(b, value, other).getResult();
  }
  return value;
}

/// What wgmma reads a code of `grid` as.
static NVVM::WGMMATypes getWgmmaType(GridAttrInterface grid) {
  if (isa<E4M3GridAttr>(grid))
    return NVVM::WGMMATypes::e4m3;
  if (isa<E5M2GridAttr>(grid))
    return NVVM::WGMMATypes::e5m2;
  return NVVM::WGMMATypes::s8;
}

/// Emits the body of the wgmma kernel.
class WgmmaKernelBuilder : MatmulKernelBuilderBase {
public:
  WgmmaKernelBuilder(ImplicitLocOpBuilder &b, const MatmulKernelSpec &spec)
      : MatmulKernelBuilderBase(b, spec),
        epilogue(EpilogueCoefficients::get(spec.lhsGrid, spec.rhsGrid, spec.k)),
        i32Type(b.getI32Type()), i64Type(b.getI64Type()),
        tileTypeA(getTileType(b.getContext(), kTileM)),
        tileTypeB(getTileType(b.getContext(), spec.wgmmaTileN)),
        tensorMapTypeA(getTensorMapType(tileTypeA)),
        tensorMapTypeB(getTensorMapType(tileTypeB)),
        barrierType(nvgpu::MBarrierGroupType::get(
            b.getContext(),
            gpu::AddressSpaceAttr::get(b.getContext(),
                                       gpu::AddressSpace::Workgroup),
            getWarpSpecializedBarriers(spec.stages, claimsWgmmaTiles(spec)))) {
    SmallVector<Type> fields(kWgmmaM * tileN / kWarpgroupSize,
                             floatCodes ? Type(b.getF32Type()) : i32Type);
    accType = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  }

  void build(gpu::GPUFuncOp func);

  /// A tile of `rows` rows of K bytes in shared memory.
  static MemRefType getTileType(MLIRContext *context, int64_t rows);
  static nvgpu::TensorMapDescriptorType getTensorMapType(MemRefType tile);

private:
  Value rem(Value x, int64_t y) {
    return b.createOrFold<arith::RemUIOp>(x, idx(y));
  }
  Value rowsM() { return rowsValue(spec.m); }

  /// Stage `stage`'s tile of A (operand 0) or B (operand 1).
  Value tile(Value stage, int64_t operand);
  /// Starts the loop over this CTA's tiles (KernelBuilder::beginTileLoop;
  /// sets m0, n0 and tileIndex for the body, where it leaves the builder)
  /// and returns the rounds before the tile.
  Value beginTileLoop(bool producer);
  void emitProducer();
  void emitConsumer(Value consumerTid);
  void emitEpilogue(Value acc, Value consumerTid);
  SmallVector<Value> loadConsumerInputs(Value row, ArrayRef<Value> cols,
                                        bool pairs);
  Value applyBody(linalg::GenericOp op, Value product, ArrayRef<Value> inputs,
                  Value acc = Value());

  EpilogueCoefficients epilogue;
  /// fp8 codes: wgmma's float types, an f32 accumulator.
  const bool floatCodes = !spec.lhsGrid.hasIntegerLevels();
  /// The tile's columns and the bytes of a stage.
  const int64_t tileN = spec.wgmmaTileN;
  const int64_t tileStageBytes = stageBytes(tileN);
  Type i32Type, i64Type;
  MemRefType tileTypeA, tileTypeB;
  nvgpu::TensorMapDescriptorType tensorMapTypeA, tensorMapTypeB;
  nvgpu::MBarrierGroupType barrierType;
  LLVM::LLVMStructType accType;

  Value lhsScale, rhsScale, result;
  /// The codes' row sums (i32 M and N), where the epilogue needs them.
  Value lhsRowSums, rhsRowSums;
  Value lhsMap, rhsMap;
  /// With spec.consumers: their inputs (in MatmulConsumers::inputs order)
  /// and the buffer of partial sums.
  SmallVector<Value> consumerInputs;
  Value partialSums;
  /// The kernel's copies of constants the consumers' bodies take from above.
  IRMapping hostConstants;
  /// Dynamic shared memory from its 1024-byte aligned start, and the
  /// mbarriers: full[s] at s, empty[s] at stages + s.
  WarpSpecializedStorage storage;
  Value shared, barriers;
  /// The counter of claimed tiles (claimsWgmmaTiles), the count of tiles and
  /// the tile of the loop's body.
  Value counter, tiles, tileIndex;
  int64_t kTiles = 0;
};

} // namespace

Value WgmmaKernelBuilder::beginTileLoop(bool producer) {
  Value first = idx(0);
  if (loopsOverTiles(spec)) {
    std::tie(tileIndex, first) = KernelBuilder::beginTileLoop(
        storage, counter, tiles, idx(kTiles), producer);
  } else {
    // A CTA a tile: without the loop, the kernel keeps the registers the
    // loop's state would take (docs/gpu.md).
    tileIndex = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  }
  computeTileOrigin(tileIndex, kTileM, tileN);
  return first;
}

Value WgmmaKernelBuilder::tile(Value stage, int64_t operand) {
  Value offset = add(mul(stage, tileStageBytes), operand * kTileBytesA);
  return memref::ViewOp::create(b, operand ? tileTypeB : tileTypeA, shared,
                                offset, ValueRange{});
}

void WgmmaKernelBuilder::emitProducer() {
  Value lhsDesc = UnrealizedConversionCastOp::create(b, tensorMapTypeA, lhsMap)
                      .getResult(0);
  Value rhsDesc = UnrealizedConversionCastOp::create(b, tensorMapTypeB, rhsMap)
                      .getResult(0);
  nvgpu::TmaPrefetchOp::create(b, lhsDesc, Value());
  nvgpu::TmaPrefetchOp::create(b, rhsDesc, Value());
  ImplicitLocOpBuilder::InsertionGuard guard(b);
  Value first = beginTileLoop(/*producer=*/true);
  auto loop = scf::ForOp::create(b, idx(0), idx(kTiles), idx(1));
  b.setInsertionPointToStart(loop.getBody());
  Value kTile = loop.getInductionVar();
  Value round = add(first, kTile);
  Value stage = rem(round, spec.stages);
  // The consumers have released this stage's previous round.
  nvgpu::MBarrierTryWaitParityOp::create(
      b, barriers, phaseParity(round, spec.stages, /*flip=*/true),
      idx(kMBarrierWaitTicks), add(stage, spec.stages));
  nvgpu::MBarrierArriveExpectTxOp::create(b, barriers, idx(tileStageBytes),
                                          stage, Value());
  Value kByte = mul(kTile, kTileKBytes);
  // Coordinates innermost first: (byte of K, row).
  nvgpu::TmaAsyncLoadOp::create(b, tile(stage, 0), barriers, lhsDesc,
                                ValueRange{kByte, m0}, stage, Value(), Value());
  nvgpu::TmaAsyncLoadOp::create(b, tile(stage, 1), barriers, rhsDesc,
                                ValueRange{kByte, n0}, stage, Value(), Value());
}

void WgmmaKernelBuilder::emitConsumer(Value consumerTid) {
  Value warpgroup = shr(consumerTid, 7);
  // This warpgroup's 64 rows of A: 8192 bytes, 8 swizzle lines, further.
  Value lhsOffset = arith::IndexCastOp::create(
      b, i64Type, mul(warpgroup, kWgmmaM * kTileKBytes / 16));

  ImplicitLocOpBuilder::InsertionGuard tileGuard(b);
  Value first = beginTileLoop(/*producer=*/false);
  Value zero = LLVM::ZeroOp::create(b, accType);
  auto loop =
      scf::ForOp::create(b, idx(0), idx(kTiles), idx(1), ValueRange{zero});
  {
    ImplicitLocOpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kTile = loop.getInductionVar();
    Value acc = loop.getRegionIterArgs()[0];
    Value round = add(first, kTile);
    Value stage = rem(round, spec.stages);
    nvgpu::MBarrierTryWaitParityOp::create(
        b, barriers, phaseParity(round, spec.stages, /*flip=*/false),
        idx(kMBarrierWaitTicks), stage);

    // Descriptors carry the start address in 16-byte units in bits 0-13:
    // a k-step of 32 bytes adds 2, this warpgroup's rows of A 512.
    auto descriptor = [&](int64_t operand) -> Value {
      auto type = nvgpu::WarpgroupMatrixDescriptorType::get(
          b.getContext(), operand ? tileTypeB : tileTypeA);
      Value desc = nvgpu::WarpgroupGenerateDescriptorOp::create(
          b, type, tile(stage, operand),
          UnrealizedConversionCastOp::create(
              b, operand ? tensorMapTypeB : tensorMapTypeA,
              operand ? rhsMap : lhsMap)
              .getResult(0));
      return UnrealizedConversionCastOp::create(b, i64Type, desc).getResult(0);
    };
    Value lhsDesc = arith::AddIOp::create(b, descriptor(0), lhsOffset);
    Value rhsDesc = descriptor(1);
    NVVM::WgmmaFenceAlignedOp::create(b);
    auto shape =
        NVVM::MMAShapeAttr::get(b.getContext(), kWgmmaM, tileN, kWgmmaKBytes);
    for (int64_t step = 0; step < kWgmmaStepsK; ++step) {
      Value offset =
          arith::ConstantIntOp::create(b, i64Type, step * kWgmmaKBytes / 16);
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, accType, acc, arith::AddIOp::create(b, lhsDesc, offset),
          arith::AddIOp::create(b, rhsDesc, offset), shape,
          getWgmmaType(spec.lhsGrid), getWgmmaType(spec.rhsGrid),
          floatCodes ? NVVM::WGMMATypes::f32 : NVVM::WGMMATypes::s32,
          NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
          NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row, NVVM::MMALayout::col,
          /*satfinite=*/nullptr);
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b);
    // One group stays in flight: the previous K tile's is done, and with it
    // the tensor cores' reads of its stage.
    NVVM::WgmmaWaitGroupSyncOp::create(b, 1);
    auto release = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ne, kTile, idx(0)),
        /*withElseRegion=*/false);
    {
      ImplicitLocOpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(release.thenBlock());
      Value previous = rem(add(round, spec.stages - 1), spec.stages);
      nvgpu::MBarrierArriveOp::create(
          b, nvgpu::MBarrierTokenType::get(b.getContext()), barriers,
          add(previous, spec.stages));
    }
    scf::YieldOp::create(b, ValueRange{acc});
  }
  // The tile's last group; its stage goes back to the producer, which loads
  // the next tile while this one's results are stored.
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  nvgpu::MBarrierArriveOp::create(
      b, nvgpu::MBarrierTokenType::get(b.getContext()), barriers,
      add(rem(add(first, kTiles - 1), spec.stages), spec.stages));
  emitEpilogue(loop.getResult(0), consumerTid);
}

/// The inputs of the fused consumers at (row, cols[e]) (rows and columns
/// clamped into the tensor), per input the values of the columns: `pairs`
/// loads both columns (even and odd of an even N) with one vector load.
SmallVector<Value> WgmmaKernelBuilder::loadConsumerInputs(Value row,
                                                          ArrayRef<Value> cols,
                                                          bool pairs) {
  SmallVector<Value> loaded;
  for (Value input : consumerInputs) {
    Type element = cast<MemRefType>(input.getType()).getElementType();
    if (pairs) {
      Value col = spec.n % tileN != 0
                      ? b.createOrFold<arith::MinUIOp>(cols[0], idx(spec.n - 2))
                      : cols[0];
      Value pair = vector::LoadOp::create(
          b, VectorType::get({2}, element), input, ValueRange{row, col},
          /*nontemporal=*/false,
          llvm::MaybeAlign(2 * element.getIntOrFloatBitWidth() / 8));
      for (int64_t e = 0; e < 2; ++e)
        loaded.push_back(vector::ExtractOp::create(b, pair, e));
      continue;
    }
    for (Value col : cols) {
      Value clamped = spec.n % tileN != 0
                          ? b.createOrFold<arith::MinUIOp>(col, idx(spec.n - 1))
                          : col;
      loaded.push_back(
          memref::LoadOp::create(b, input, ValueRange{row, clamped}));
    }
  }
  return loaded;
}

/// The body of a fused consumer on one element: its block arguments bound
/// to the product, to `inputs` (the element's values of the consumer
/// inputs, in MatmulConsumers::inputs order) and, for the sum, the
/// accumulator `acc`; returns what it yields.
Value WgmmaKernelBuilder::applyBody(linalg::GenericOp op, Value product,
                                    ArrayRef<Value> inputs, Value acc) {
  IRMapping mapping;
  for (OpOperand *operand : op.getDpsInputOperands()) {
    Value value = operand->get();
    Value bound = product;
    if (value != spec.consumers->product)
      bound = inputs[llvm::find(spec.consumers->inputs, value) -
                     spec.consumers->inputs.begin()];
    mapping.map(op.getMatchingBlockArgument(operand), bound);
  }
  if (acc)
    mapping.map(op.getMatchingBlockArgument(op.getDpsInitOperand(0)), acc);
  // Constants from the host function (matchFusedConsumers allows no other
  // values from above), cloned at their first use: every element's body is
  // in the same block of the epilogue.
  op.getBody()->walk([&](Operation *bodyOp) {
    for (Value operand : bodyOp->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def || op->isAncestor(def))
        continue;
      if (!hostConstants.contains(operand))
        hostConstants.map(operand, b.clone(*def)->getResult(0));
      mapping.map(operand, hostConstants.lookup(operand));
    }
  });
  for (Operation &bodyOp : op.getBody()->without_terminator())
    b.clone(bodyOp, mapping);
  return mapping.lookupOrDefault(op.getBody()->getTerminator()->getOperand(0));
}

void WgmmaKernelBuilder::emitEpilogue(Value acc, Value consumerTid) {
  Type resultType =
      spec.consumers ? spec.consumers->getStoredType() : spec.resultElementType;
  linalg::GenericOp sum = spec.consumers ? spec.consumers->sum : nullptr;
  // The thread's share of a fused sum, over its elements in the tensor.
  Value partial;
  if (sum)
    partial = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  bool guardRows = dynamicM() || spec.m % kTileM != 0;
  bool guardCols = spec.n % tileN != 0;
  // Column pairs start at even columns: with N even, one aligned vector
  // store each, both in bounds or both out.
  bool pairStores = spec.n % 2 == 0;
  // 16-bit results of whole column tiles: 16-byte stores of 8 columns.
  bool blockStores =
      resultType.getIntOrFloatBitWidth() == 16 && spec.n % tileN == 0;
  Value warpgroup = shr(consumerTid, 7);
  Value warp = bitAnd(shr(consumerTid, 5), 3);
  Value lane = bitAnd(consumerTid, kWarpSize - 1);
  Value lane4 = bitAnd(lane, 3);
  Value laneRow = shr(lane, 2);

  Value lhsTensorScale, rhsTensorScale;
  if (!spec.lhsPerRow)
    lhsTensorScale = loadStep(lhsScale, idx(0));
  if (!spec.rhsPerRow)
    rhsTensorScale = loadStep(rhsScale, idx(0));

  // Columns of this thread: 16 blocks of 8 x 2 adjacent.
  const int64_t kBlocksN = tileN / 8;
  SmallVector<Value> cols, colScales, colRowSums;
  for (int64_t j = 0; j < kBlocksN; ++j) {
    for (int64_t e = 0; e < 2; ++e) {
      Value local = add(mul(lane4, 2), j * 8 + e);
      Value col = add(n0, local);
      cols.push_back(col);
      Value clamped = guardCols
                          ? b.createOrFold<arith::MinUIOp>(col, idx(spec.n - 1))
                          : col;
      colScales.push_back(spec.rhsPerRow ? loadStep(rhsScale, clamped)
                                         : rhsTensorScale);
      if (epilogue.needsRhsRowSums())
        colRowSums.push_back(
            memref::LoadOp::create(b, rhsRowSums, ValueRange{clamped}));
    }
  }

  for (int64_t h = 0; h < 2; ++h) {
    Value local =
        add(add(mul(warpgroup, kWgmmaM), mul(warp, 16)), add(laneRow, h * 8));
    Value row = add(m0, local);
    Value clamped =
        guardRows ? b.createOrFold<arith::MinUIOp>(
                        row, b.createOrFold<arith::SubIOp>(rowsM(), idx(1)))
                  : row;
    Value rowScale =
        spec.lhsPerRow ? loadStep(lhsScale, clamped) : lhsTensorScale;
    if (epilogue.scale != 1.0)
      rowScale = arith::MulFOp::create(
          b, arith::ConstantOp::create(b, b.getF32FloatAttr(epilogue.scale)),
          rowScale);
    Value lhsRowSum;
    if (epilogue.needsLhsRowSums())
      lhsRowSum = memref::LoadOp::create(b, lhsRowSums, ValueRange{clamped});
    Value rowInBounds = guardRows ? ult(row, rowsM()) : Value();

    SmallVector<Value, 8> pairs;
    for (int64_t j = 0; j < kBlocksN; ++j) {
      SmallVector<Value, 2> values;
      for (int64_t e = 0; e < 2; ++e) {
        int64_t c = j * 2 + e;
        Value t = LLVM::ExtractValueOp::create(
            b, acc, ArrayRef<int64_t>{j * 4 + h * 2 + e});
        values.push_back(
            dequantize(epilogue, t, lhsRowSum,
                       epilogue.needsRhsRowSums() ? colRowSums[c] : Value(),
                       rowScale, colScales[c]));
      }
      if (spec.consumers) {
        // The consumers on the two elements, the sum over those in the
        // tensor; the stores below store the elementwise op's results.
        ArrayRef<Value> pairCols(cols.begin() + j * 2, 2);
        SmallVector<Value> loaded =
            loadConsumerInputs(clamped, pairCols, pairStores);
        size_t inputs = consumerInputs.size();
        for (int64_t e = 0; e < 2; ++e) {
          SmallVector<Value> mine;
          for (size_t i = 0; i < inputs; ++i)
            mine.push_back(loaded[i * 2 + e]);
          Value product = values[e];
          values[e] = applyBody(spec.consumers->elementwise, product, mine);
          if (!sum)
            continue;
          Value next = applyBody(sum, product, mine, partial);
          Value inTensor =
              both(rowInBounds, guardCols ? ult(pairCols[e], spec.n) : Value());
          partial = inTensor
                        ? arith::SelectOp::create(b, inTensor, next, partial)
                              .getResult()
                        : next;
        }
      }

      if (blockStores) {
        // 8 columns a lane, one 16-byte store (transposeFragmentQuad); a
        // row past M has its results computed (steps of the last row) and
        // not stored.
        pairs.append(values.begin(), values.end());
        if (pairs.size() < 8)
          continue;
        Value block = transposeFragmentQuad(b, lane4, pairs);
        Value col = add(n0, add(mul(lane4, 8), (j - 3) * 8));
        emitGuarded(rowInBounds, [&] {
          vector::StoreOp::create(b, block, result, ValueRange{row, col},
                                  /*nontemporal=*/false, llvm::MaybeAlign(16));
        });
        pairs.clear();
        continue;
      }
      if (pairStores) {
        Value col = cols[j * 2];
        emitGuarded(
            both(rowInBounds, guardCols ? ult(col, spec.n) : Value()), [&] {
              Value pair = vector::FromElementsOp::create(
                  b, VectorType::get({2}, resultType), values);
              vector::StoreOp::create(
                  b, pair, result, ValueRange{row, col},
                  /*nontemporal=*/false,
                  llvm::MaybeAlign(resultType.getIntOrFloatBitWidth() / 4));
            });
        continue;
      }
      for (int64_t e = 0; e < 2; ++e) {
        Value col = cols[j * 2 + e];
        emitGuarded(both(rowInBounds, guardCols ? ult(col, spec.n) : Value()),
                    [&] {
                      memref::StoreOp::create(b, values[e], result,
                                              ValueRange{row, col});
                    });
      }
    }
  }
  if (!sum)
    return;
  // The warp's total, stored by lane 0 at the warp's slot: tile-major, then
  // the consumer warp.
  partial = sumOverWarp(b, partial);
  Value slot = add(mul(tileIndex, kConsumerWarps), shr(consumerTid, 5));
  emitGuarded(
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)), [&] {
        memref::StoreOp::create(b, partial, partialSums, ValueRange{slot});
      });
}

void WgmmaKernelBuilder::build(gpu::GPUFuncOp func) {
  entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  Value lhs = entry->getArgument(0);
  lhsScale = entry->getArgument(2);
  rhsScale = entry->getArgument(3);
  result = entry->getArgument(4);
  unsigned next = 5;
  if (epilogue.needsLhsRowSums())
    lhsRowSums = entry->getArgument(next++);
  if (epilogue.needsRhsRowSums())
    rhsRowSums = entry->getArgument(next++);
  lhsMap = entry->getArgument(next++);
  rhsMap = entry->getArgument(next++);
  if (spec.consumers) {
    for (size_t i = 0; i < spec.consumers->inputs.size(); ++i)
      consumerInputs.push_back(entry->getArgument(next++));
    if (spec.consumers->sum)
      partialSums = entry->getArgument(next++);
  }
  bool claims = claimsWgmmaTiles(spec);
  if (claims)
    counter = entry->getArgument(next++);
  if (dynamicM()) {
    mRows = memref::DimOp::create(b, lhs, 0);
    tiles = mul(b.createOrFold<arith::CeilDivUIOp>(mRows, idx(kTileM)),
                llvm::divideCeil(spec.n, tileN));
  } else {
    tiles = idx(countTiles(spec));
  }
  kTiles = llvm::divideCeil(spec.kBytes, kTileKBytes);

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  storage = createWarpSpecializedStorage(tid, barrierType, spec.stages,
                                         spec.stages * tileStageBytes,
                                         kConsumerThreads, claims);
  shared = storage.bytes;
  barriers = storage.barriers;
  // The consumers' 128 accumulators and the epilogue need more than the 168
  // registers a thread of 384 gets.
  emitWarpSpecializedRoles(
      tid, kConsumerThreads, kConsumerRegisters, kProducerRegisters,
      [&] { emitConsumer(tid); }, [&] { emitProducer(); });
  gpu::ReturnOp::create(b);
}

MemRefType WgmmaKernelBuilder::getTileType(MLIRContext *context, int64_t rows) {
  // Unsigned: upstream's lowering of nvgpu.tma.create.descriptor maps ui8 to
  // CU_TENSOR_MAP_DATA_TYPE_UINT8 but signless i8 to its default, BFLOAT16.
  // The copy engine moves bytes; wgmma reads them as s8.
  return MemRefType::get(
      {rows, kTileKBytes}, IntegerType::get(context, 8, IntegerType::Unsigned),
      MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup));
}

nvgpu::TensorMapDescriptorType
WgmmaKernelBuilder::getTensorMapType(MemRefType tile) {
  return nvgpu::TensorMapDescriptorType::get(
      tile.getContext(), tile, nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
      nvgpu::TensorMapL2PromoKind::L2PROMO_256B,
      nvgpu::TensorMapOOBKind::OOB_ZERO,
      nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
}

LogicalResult
mlir::qat::checkWgmmaSupport(const MatmulKernelSpec &spec,
                             function_ref<InFlightDiagnostic()> emitError) {
  if (spec.packed)
    return emitError() << "the wgmma kernel multiplies s8 codes and unpacks "
                          "packed codes from rows of a multiple of "
                       << kUnpackChunkBytes << " bytes, got " << spec.kBytes
                       << "; the mma-sync kernel takes these (strategy="
                          "auto or mma-sync)";
  for (auto [role, codeType] :
       {std::pair{"lhs", spec.lhsCodeType}, {"rhs", spec.rhsCodeType}}) {
    if (!codeType.isInteger(8))
      return emitError() << "the wgmma kernel reads codes stored as i8, got "
                         << codeType << " " << role << " codes";
  }
  for (auto [role, stepType] : {std::pair{"lhs", spec.lhsScaleElementType},
                                {"rhs", spec.rhsScaleElementType}}) {
    if (!isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(stepType))
      return emitError() << "the wgmma kernel reads f16, bf16, f32 or f64 "
                            "steps, got "
                         << stepType << " " << role << " steps";
  }
  // TMA: the row stride of a tensor is a multiple of 16 bytes.
  if (spec.kBytes % kChunkBytes != 0)
    return emitError() << "contraction size K = " << spec.k << " gives rows of "
                       << spec.kBytes
                       << " bytes; the wgmma kernel loads rows with TMA, "
                          "which needs row strides of a multiple of "
                       << kChunkBytes << " bytes";
  if (spec.stages < 2 || spec.stages > maxStages(spec.wgmmaTileN))
    return emitError() << "the wgmma kernel takes 2 to "
                       << maxStages(spec.wgmmaTileN) << " pipeline stages ("
                       << stageBytes(spec.wgmmaTileN) / 1024
                       << " KiB of shared memory each), got " << spec.stages;
  if (ShapedType::isDynamic(spec.m))
    return success();
  int64_t ctas = countTiles(spec);
  if (ctas > std::numeric_limits<int32_t>::max())
    return emitError() << "a " << spec.m << "x" << spec.n << " result needs "
                       << ctas << " tiles of " << kTileM << "x"
                       << spec.wgmmaTileN << ", more than a 1-D grid launches";
  return success();
}

unsigned mlir::qat::getWgmmaDefaultStages() { return kDefaultStages; }

int64_t mlir::qat::chooseWgmmaTileN(const MatmulKernelSpec &spec) {
  if (spec.n <= 128)
    return 128;
  if (ShapedType::isDynamic(spec.m))
    return kMaxTileN;
  int64_t wideTiles =
      llvm::divideCeil(spec.m, kTileM) * llvm::divideCeil(spec.n, kMaxTileN);
  return wideTiles >= kMinWideTiles ? kMaxTileN : 128;
}

bool mlir::qat::loopsOverTiles(const MatmulKernelSpec &spec) {
  return claimsWgmmaTiles(spec) ||
         countTiles(spec) <=
             kWgmmaPersistentTilesPerSM * kNominalMultiprocessors;
}

bool mlir::qat::claimsWgmmaTiles(const MatmulKernelSpec &spec) {
  return claimsTiles(countTiles(spec));
}

MatmulKernel mlir::qat::buildWgmmaKernel(OpBuilder &builder, Location loc,
                                         gpu::GPUModuleOp module,
                                         const MatmulKernelSpec &spec) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());

  auto codes = [&](int64_t rows) {
    return MemRefType::get({rows, spec.kBytes}, b.getI8Type());
  };
  auto steps = [&](bool perRow, int64_t rows, Type elementType) {
    return MemRefType::get({perRow ? rows : 1, 1}, elementType);
  };
  auto pointer = LLVM::LLVMPointerType::get(b.getContext());
  EpilogueCoefficients epilogue =
      EpilogueCoefficients::get(spec.lhsGrid, spec.rhsGrid, spec.k);
  SmallVector<Type> arguments = {
      codes(spec.m), codes(spec.n),
      steps(spec.lhsPerRow, spec.m, spec.lhsScaleElementType),
      steps(spec.rhsPerRow, spec.n, spec.rhsScaleElementType),
      MemRefType::get({spec.m, spec.n}, spec.consumers
                                            ? spec.consumers->getStoredType()
                                            : spec.resultElementType)};
  if (epilogue.needsLhsRowSums())
    arguments.push_back(MemRefType::get({spec.m}, b.getI32Type()));
  if (epilogue.needsRhsRowSums())
    arguments.push_back(MemRefType::get({spec.n}, b.getI32Type()));
  arguments.append({pointer, pointer});
  int64_t gridSize = countTiles(spec);
  int64_t partialSums = 0;
  if (spec.consumers) {
    for (Value input : spec.consumers->inputs) {
      auto type = cast<RankedTensorType>(input.getType());
      arguments.push_back(
          MemRefType::get(type.getShape(), type.getElementType()));
    }
    if (spec.consumers->sum) {
      partialSums = gridSize * kConsumerWarps;
      arguments.push_back(MemRefType::get({partialSums}, b.getF32Type()));
    }
  }
  bool claims = claimsWgmmaTiles(spec);
  if (claims)
    arguments.push_back(MemRefType::get({1}, b.getI32Type()));
  auto funcType = b.getFunctionType(arguments, {});
  auto func = gpu::GPUFuncOp::create(b, "qat_matmul_wgmma", funcType);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(kThreads), 1, 1}));
  // A register cap at entry (one CTA of 384 threads an SM), which
  // setmaxnreg needs to take effect.
  func->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                b.getDenseI32ArrayAttr({static_cast<int32_t>(kThreads), 1, 1}));
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                b.getI32IntegerAttr(1));

  WgmmaKernelBuilder(b, spec).build(func);

  MatmulKernel kernel;
  kernel.func = func;
  kernel.blockSize = kThreads;
  kernel.tileM = kTileM;
  kernel.tilesN = llvm::divideCeil(spec.n, spec.wgmmaTileN);
  kernel.gridSize = gridSize;
  kernel.partialSums = partialSums;
  kernel.dynamicSharedBytes = sharedBytes(spec);
  kernel.tmaRowsA = kTileM;
  kernel.tmaRowsB = spec.wgmmaTileN;
  kernel.lhsRowSumArg = epilogue.needsLhsRowSums();
  kernel.rhsRowSumArg = epilogue.needsRhsRowSums();
  kernel.persistent = loopsOverTiles(spec);
  kernel.claimsTiles = claims;
  return kernel;
}

gpu::GPUFuncOp mlir::qat::buildCodeRowSumKernel(OpBuilder &builder,
                                                Location loc,
                                                gpu::GPUModuleOp module,
                                                int64_t kBytes,
                                                unsigned operands) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto codesType =
      MemRefType::get({ShapedType::kDynamic, kBytes}, b.getI8Type());
  auto sumsType = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
  SmallVector<Type> argTypes;
  for (unsigned i = 0; i < operands; ++i)
    argTypes.append({codesType, sumsType});
  auto func = gpu::GPUFuncOp::create(b, "qat_code_row_sums",
                                     b.getFunctionType(argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(kRowSumWarps * kRowSumLanes),
                              int32_t(1), int32_t(1)}));
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  auto i32 = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, b.getI32Type(), value);
  };

  // One warp a row: lane l sums the 16-byte chunks l, l + 32, ... with
  // dp4a, then the warp adds its lanes' sums. `block` counts the CTAs of
  // this operand.
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, index(kRowSumLanes));
  Value warp = arith::DivUIOp::create(b, tid, index(kRowSumLanes));
  auto sumRows = [&](Value codes, Value sums, Value block) {
    Value row = arith::AddIOp::create(
        b, arith::MulIOp::create(b, block, index(kRowSumWarps)), warp);
    Value rows = memref::DimOp::create(b, codes, 0);
    // A warp's lanes all take the branch or none: the shuffles see them all.
    auto inBounds = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rows),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard rowGuard(b);
    b.setInsertionPointToStart(inBounds.thenBlock());
    auto vec16xi8 = VectorType::get({kChunkBytes}, b.getI8Type());
    auto loop = scf::ForOp::create(b, lane, index(kBytes / kChunkBytes),
                                   index(kRowSumLanes), ValueRange{i32(0)});
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value column =
          arith::MulIOp::create(b, loop.getInductionVar(), index(kChunkBytes));
      Value bytes = vector::LoadOp::create(
          b, vec16xi8, codes, ValueRange{row, column},
          /*nontemporal=*/false, llvm::MaybeAlign(kChunkBytes));
      Value sum = accumulateBytes(b, bytes, loop.getRegionIterArgs()[0]);
      scf::YieldOp::create(b, ValueRange{sum});
    }
    Value total = sumOverWarp(b, loop.getResult(0));
    auto first = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0)),
        /*withElseRegion=*/false);
    b.setInsertionPointToStart(first.thenBlock());
    memref::StoreOp::create(b, total, sums, ValueRange{row});
  };
  // The CTAs of the operands one after the other: the first
  // ceil(rows / kRowSumWarps) sum the first operand's rows, and so on.
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  for (unsigned i = 0; i < operands; ++i) {
    Value codes = entry->getArgument(2 * i);
    Value sums = entry->getArgument(2 * i + 1);
    if (i + 1 == operands) {
      sumRows(codes, sums, block);
      break;
    }
    Value blocks = arith::CeilDivUIOp::create(
        b, memref::DimOp::create(b, codes, 0), index(kRowSumWarps));
    auto mine = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, block, blocks),
        /*withElseRegion=*/true);
    b.setInsertionPointToStart(mine.thenBlock());
    sumRows(codes, sums, block);
    b.setInsertionPointToStart(mine.elseBlock());
    block = arith::SubIOp::create(b, block, blocks);
  }
  b.setInsertionPointToEnd(entry);
  gpu::ReturnOp::create(b);
  return func;
}

SmallVector<Value> mlir::qat::launchCodeRowSums(OpBuilder &builder,
                                                Location loc,
                                                gpu::GPUFuncOp kernel,
                                                ValueRange codes) {
  ImplicitLocOpBuilder b(loc, builder);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  SmallVector<Value> arguments, allSums;
  Value blocks;
  for (auto [i, buffer] : llvm::enumerate(codes)) {
    auto type = cast<MemRefType>(buffer.getType());
    Value rows = type.isDynamicDim(0)
                     ? Value(memref::DimOp::create(b, buffer, 0))
                     : index(type.getDimSize(0));
    SmallVector<Value> dynamicRows;
    if (type.isDynamicDim(0))
      dynamicRows.push_back(rows);
    Value sums = memref::AllocOp::create(
        b, MemRefType::get({type.getDimSize(0)}, b.getI32Type()), dynamicRows);
    allSums.push_back(sums);
    arguments.push_back(memref::CastOp::create(
        b, cast<MemRefType>(kernel.getArgumentTypes()[2 * i]), buffer));
    arguments.push_back(memref::CastOp::create(
        b, cast<MemRefType>(kernel.getArgumentTypes()[2 * i + 1]), sums));
    Value mine = arith::CeilDivUIOp::create(b, rows, index(kRowSumWarps));
    blocks = blocks ? arith::AddIOp::create(b, blocks, mine).getResult() : mine;
  }
  Value one = index(1);
  gpu::LaunchFuncOp::create(
      b, kernel, gpu::KernelDim3{blocks, one, one},
      gpu::KernelDim3{index(kRowSumWarps * kRowSumLanes), one, one},
      /*dynamicSharedMemorySize=*/Value(), arguments);
  return allSums;
}

SmallVector<Value> mlir::qat::buildWgmmaTensorMaps(OpBuilder &builder,
                                                   Location loc,
                                                   const MatmulKernel &kernel,
                                                   Value lhs, Value rhs) {
  ImplicitLocOpBuilder b(loc, builder);
  MLIRContext *context = b.getContext();
  SmallVector<Value> maps;
  for (auto [codes, rows] :
       {std::pair{lhs, kernel.tmaRowsA}, {rhs, kernel.tmaRowsB}}) {
    MemRefType tileType = WgmmaKernelBuilder::getTileType(context, rows);
    // The codes as ui8 (see getTileType): a 1-D view of the bytes, then a
    // 2-D ui8 view of it.
    auto type = cast<MemRefType>(codes.getType());
    Value bytes = memref::CollapseShapeOp::create(
        b, codes, ArrayRef<ReassociationIndices>{{0, 1}});
    auto unsignedType =
        MemRefType::get(type.getShape(), tileType.getElementType());
    SmallVector<Value> sizes;
    if (type.isDynamicDim(0))
      sizes.push_back(memref::DimOp::create(b, codes, 0));
    Value view = memref::ViewOp::create(
        b, unsignedType, bytes, arith::ConstantIndexOp::create(b, 0), sizes);
    Value unranked = memref::CastOp::create(
        b, UnrankedMemRefType::get(unsignedType.getElementType(), Attribute()),
        view);
    Value map = nvgpu::TmaCreateDescriptorOp::create(
        b, WgmmaKernelBuilder::getTensorMapType(tileType), unranked,
        ValueRange{arith::ConstantIndexOp::create(b, rows),
                   arith::ConstantIndexOp::create(b, kTileKBytes)});
    maps.push_back(UnrealizedConversionCastOp::create(
                       b, LLVM::LLVMPointerType::get(context), map)
                       .getResult(0));
  }
  return maps;
}
