//===- ContractionWgmma.cpp - Float contractions on Hopper wgmma -*- C++
//-*-===//
//
// The sm_90a tensor-core kernel of a float contraction: TMA loads into
// 128-byte swizzled shared memory, an mbarrier pipeline from a producer
// warpgroup to two consumer warpgroups that run wgmma.mma_async with f32
// accumulators, and the result epilogue of the mma.sync kernel.
//
//===----------------------------------------------------------------------===//
//
// Kernel layout (C = init + A B, A of M x K, B of N x K in the kernel's view;
// the buffers may hold each with M, N or K contiguous):
//
// * One CTA of 384 threads (3 warpgroups) computes a 128 x tileN tile of C
//   (tileN 256, or 128 for problems of fewer than kMinLargeTileCTAs large
//   tiles). Warpgroups 0 and 1 consume: each owns 64 rows of the tile and
//   accumulates them with wgmma m64 x tileN (tileN / 2 f32 accumulators a
//   thread, in registers for the whole K loop). Warpgroup 2 produces: one
//   of its threads issues the TMA loads. The batch index is blockIdx.y.
// * K advances in tiles of 128 bytes (64 bf16/f16 or 32 f32 elements), in
//   4 k-steps of 32 bytes (wgmma k16, or k8 for tf32). A stage holds A's
//   and B's K tile, 128-byte swizzled (16-byte chunk c of a 128-byte line
//   at chunk c ^ (line % 8)), which is what a wgmma shared-memory
//   descriptor with swizzle mode 128B reads:
//   - K contiguous ("K-major", the transpose bit clear): a line per row,
//     one TMA box of rows x 128 bytes; 8-row groups 1024 bytes apart (the
//     descriptor's stride offset); a k-step advances the start by 32 bytes.
//   - M or N contiguous ("MN-major", 16-bit types only, the transpose bit
//     set): a line per K index holding 64 consecutive rows, one TMA box of
//     64 K x 64 rows per 64 rows of the tile, 8192 bytes apart (the
//     descriptor's leading offset); 8-K groups 1024 bytes apart (stride
//     offset); a k-step (16 K) advances the start by 2048 bytes.
//   Consumer warpgroup w reads A from 8192 w bytes on: its 64 rows are 8
//   line groups of a K-major tile, or the w-th box of an MN-major one.
// * Pipeline over `stages` stages with two mbarriers each: full[s] (the
//   producer's arrive.expect_tx plus the bytes of the stage's loads) and
//   empty[s] (every consumer thread once it no longer reads the stage);
//   round i of stage s waits for phase parity i % 2 of full[s] (consumers)
//   and (i - 1) % 2 of empty[s] (producer; a fresh barrier passes that wait
//   for round 0). A consumer releases a stage one k tile late: wgmma runs
//   asynchronously, and wait_group 1 retires the previous tile's group.
// * Bounds: TMA zero-fills the rows past M or N and the K past K, so odd
//   sizes need no code in the loop; the epilogue stores only in-bounds
//   elements.
// * Shared memory: the stages in dynamic shared memory, their start aligned
//   to 1024 bytes at run time past the static mbarriers (the swizzle is a
//   function of address bits 4-9).
// * Epilogue: the wgmma accumulator of a warp is the mma.sync m16n8
//   fragment per 8 columns (register 4j + 2h + e of lane l of warp q is row
//   16q + l/4 + 8h, column 8j + 2(l % 4) + e), stored by
//   ContractionKernelBuilderBase::storePair like the mma.sync kernel's.
//
// Upstream's nvgpu.warpgroup.mma and nvgpu.warpgroup.generate.descriptor
// take K-major operands only (the descriptor op fills the offsets of that
// layout), so the kernel builds its descriptors itself and issues
// nvvm.wgmma.mma_async with the transpose bits; TMA loads and mbarriers are
// nvgpu ops. The TMA descriptors reach the kernel as `!llvm.ptr` arguments
// (convert-gpu-to-nvvm converts no nvgpu type in a gpu.func signature).
//
//===----------------------------------------------------------------------===//

#include "ContractionKernelBuilder.h"
#include "qat/Conversion/TensorCoreKernels/PersistentLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::qat;

namespace {

constexpr int64_t kTileM = 128;
constexpr int64_t kLineBytes = 128;
constexpr int64_t kStepBytes = 32;
constexpr int64_t kStepsK = kLineBytes / kStepBytes;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarpgroupSize = 128;
constexpr int64_t kConsumerThreads = 2 * kWarpgroupSize;
constexpr int64_t kThreads = kConsumerThreads + kWarpgroupSize;
constexpr int64_t kWgmmaM = kTileM / 2;
/// Rows of an MN-major TMA box: one 128-byte line of 16-bit elements.
constexpr int64_t kBoxRows = 64;
/// An 8-line group of the 128-byte swizzle.
constexpr int64_t kSwizzleAlign = 1024;
/// Shared memory of one CTA on sm_90 (227 KiB), less the static mbarriers.
constexpr int64_t kMaxSharedBytes = 227 * 1024 - 1024;
constexpr int64_t kMaxStages = 6;
/// Registers a thread: the consumers take what the producer gives back
/// (setmaxnreg; 232 * 256 + 40 * 128 <= the 64K registers of an SM).
constexpr int64_t kConsumerRegisters = 232;
constexpr int64_t kProducerRegisters = 40;

int64_t elementBytes(const ContractionKernelSpec &spec) {
  return spec.computeType.getIntOrFloatBitWidth() / 8;
}

/// Elements of K per stage.
int64_t tileK(const ContractionKernelSpec &spec) {
  return kLineBytes / elementBytes(spec);
}

int64_t stageBytes(const ContractionKernelSpec &spec) {
  return (kTileM + spec.tileN) * kLineBytes;
}

int64_t sharedBytes(const ContractionKernelSpec &spec) {
  return spec.stages * stageBytes(spec) +
         (spec.claimTiles ? kTileClaimSlotBytes : 0) + kSwizzleAlign;
}

/// One operand's tiles: K-major (one box of `rows` x 128 bytes) or MN-major
/// (rows / 64 boxes of 64 K x 64 rows).
struct OperandTile {
  const ContractionOperand *layout;
  int64_t rows;
  int64_t elementBytes;

  bool kMajor() const { return layout->colsContiguous(); }
  int64_t boxes() const { return kMajor() ? 1 : rows / kBoxRows; }
  int64_t boxBytes() const { return kMajor() ? rows * kLineBytes : 8192; }
  /// The box in the buffer's order of dimensions.
  MemRefType boxType(Type elementType) const {
    SmallVector<int64_t> shape(layout->shape.size(), 1);
    shape[layout->rowDim] = kMajor() ? rows : kBoxRows;
    shape[layout->colDim] = kLineBytes / elementBytes;
    return MemRefType::get(
        shape, elementType, MemRefLayoutAttrInterface(),
        gpu::AddressSpaceAttr::get(elementType.getContext(),
                                   gpu::AddressSpace::Workgroup));
  }
  /// The wgmma shared-memory descriptor of the tile at `start` (a byte
  /// address in shared memory), without the address: bits 16-29 the
  /// leading offset, 32-45 the stride offset (both in 16-byte units),
  /// 62-63 the swizzle mode (1: 128B).
  uint64_t descriptorBits() const {
    uint64_t leading = kMajor() ? 1 : 8192 / 16;
    uint64_t stride = kSwizzleAlign / 16;
    return (leading << 16) | (stride << 32) | (uint64_t{1} << 62);
  }
  /// Bytes a k-step advances the descriptor's start.
  int64_t stepBytes() const {
    return kMajor() ? kStepBytes : kStepBytes / elementBytes * kLineBytes;
  }
  NVVM::MMALayout mmaLayout(bool isB) const {
    // A: row = K-major; B: col = K-major.
    return kMajor() == isB ? NVVM::MMALayout::col : NVVM::MMALayout::row;
  }
};

nvgpu::TensorMapDescriptorType getTensorMapType(MemRefType box) {
  return nvgpu::TensorMapDescriptorType::get(
      box.getContext(), box, nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
      nvgpu::TensorMapL2PromoKind::L2PROMO_256B,
      nvgpu::TensorMapOOBKind::OOB_ZERO,
      nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
}

NVVM::WGMMATypes getWgmmaType(Type type) {
  if (type.isBF16())
    return NVVM::WGMMATypes::bf16;
  if (type.isF16())
    return NVVM::WGMMATypes::f16;
  return NVVM::WGMMATypes::tf32;
}

/// Emits the body of the wgmma kernel.
class ContractionWgmmaBuilder : ContractionKernelBuilderBase {
public:
  ContractionWgmmaBuilder(ImplicitLocOpBuilder &b,
                          const ContractionKernelSpec &spec)
      : ContractionKernelBuilderBase(b, spec),
        tiles{OperandTile{&spec.lhs, kTileM, elementBytes(spec)},
              OperandTile{&spec.rhs, spec.tileN, elementBytes(spec)}},
        i64Type(b.getI64Type()),
        barrierType(nvgpu::MBarrierGroupType::get(
            b.getContext(),
            gpu::AddressSpaceAttr::get(b.getContext(),
                                       gpu::AddressSpace::Workgroup),
            getWarpSpecializedBarriers(spec.stages, spec.claimTiles))) {
    SmallVector<Type> fields(kWgmmaM * spec.tileN / kWarpgroupSize,
                             b.getF32Type());
    accType = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  }

  void build(gpu::GPUFuncOp func);

private:
  Value rem(Value x, int64_t y) {
    return b.createOrFold<arith::RemUIOp>(x, idx(y));
  }
  /// Byte offset in the stages of operand `operand`'s box `box` in `stage`.
  Value boxOffset(Value stage, int64_t operand, int64_t box) {
    return add(mul(stage, stageBytes(spec)),
               operand * kTileM * kLineBytes + box * tiles[operand].boxBytes());
  }
  /// Starts the loop over this CTA's tiles (KernelBuilder::beginTileLoop;
  /// sets m0, n0 and batchIndex for the body, where it leaves the builder)
  /// and returns the rounds before the tile.
  Value beginTileLoop(bool producer);
  /// The consumers' arrival on the empty barrier of round
  /// `roundPlusStages` - stages (given so, to stay unsigned).
  void releaseStage(Value roundPlusStages);
  void emitProducer();
  void emitConsumer(Value consumerTid);
  void emitEpilogue(Value acc, Value consumerTid);

  OperandTile tiles[2];
  Type i64Type;
  nvgpu::MBarrierGroupType barrierType;
  LLVM::LLVMStructType accType;
  Value maps[2];
  /// The stages (dynamic shared memory from its 1024-byte aligned start)
  /// and that start as a shared-memory address; the mbarriers: full[s] at
  /// s, empty[s] at stages + s.
  Value shared, sharedAddress, barriers;
  /// spec.claimTiles: the global tile counter.
  Value counter;
  WarpSpecializedStorage storage;
  /// The K tiles of a CTA tile; the CTA tiles of a batch and of all.
  Value kTiles, tilesPerBatch, ctaTiles;
};

} // namespace

void ContractionWgmmaBuilder::emitProducer() {
  Type elementType = spec.computeType;
  Value descriptors[2];
  for (int64_t operand : {0, 1}) {
    descriptors[operand] =
        UnrealizedConversionCastOp::create(
            b, getTensorMapType(tiles[operand].boxType(elementType)),
            maps[operand])
            .getResult(0);
    nvgpu::TmaPrefetchOp::create(b, descriptors[operand], Value());
  }
  ImplicitLocOpBuilder::InsertionGuard guard(b);
  Value first = beginTileLoop(/*producer=*/true);
  auto loop = scf::ForOp::create(b, idx(0), kTiles, idx(1));
  b.setInsertionPointToStart(loop.getBody());
  Value kTile = loop.getInductionVar();
  Value round = add(first, kTile);
  Value stage = rem(round, spec.stages);
  // The consumers have released this stage's previous round.
  nvgpu::MBarrierTryWaitParityOp::create(
      b, barriers, phaseParity(round, spec.stages, /*flip=*/true),
      idx(kMBarrierWaitTicks), add(stage, spec.stages));
  nvgpu::MBarrierArriveExpectTxOp::create(b, barriers, idx(stageBytes(spec)),
                                          stage, Value());
  Value k0 = mul(kTile, tileK(spec));
  for (int64_t operand : {0, 1}) {
    const OperandTile &tile = tiles[operand];
    MemRefType boxType = tile.boxType(elementType);
    Value rowBase = operand ? n0 : m0;
    for (int64_t box = 0; box < tile.boxes(); ++box) {
      Value dst = memref::ViewOp::create(
          b, boxType, shared, boxOffset(stage, operand, box), ValueRange{});
      // Coordinates innermost first.
      SmallVector<Value> coordinates(tile.layout->shape.size());
      if (tile.layout->batchDim >= 0)
        coordinates[tile.layout->batchDim] = batchIndex;
      coordinates[tile.layout->rowDim] = add(rowBase, box * kBoxRows);
      coordinates[tile.layout->colDim] = k0;
      std::reverse(coordinates.begin(), coordinates.end());
      nvgpu::TmaAsyncLoadOp::create(b, dst, barriers, descriptors[operand],
                                    coordinates, stage, Value(), Value());
    }
  }
}

void ContractionWgmmaBuilder::emitConsumer(Value consumerTid) {
  Value warpgroup = shr(consumerTid, 7);
  auto i64 = [&](Value index) {
    return arith::IndexCastUIOp::create(b, i64Type, index).getResult();
  };
  auto constant = [&](uint64_t value) -> Value {
    return arith::ConstantIntOp::create(b, i64Type, value);
  };
  // A's 64 rows of this warpgroup begin 8192 bytes further per warpgroup in
  // either layout.
  Value lhsStart = add(sharedAddress, mul(warpgroup, kWgmmaM * kLineBytes));

  ImplicitLocOpBuilder::InsertionGuard tileGuard(b);
  Value first = beginTileLoop(/*producer=*/false);
  Value zero = LLVM::ZeroOp::create(b, accType);
  auto loop = scf::ForOp::create(b, idx(0), kTiles, idx(1), ValueRange{zero});
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
    // Descriptors: the start address in 16-byte units in bits 0-13.
    Value starts[2] = {i64(shr(add(lhsStart, boxOffset(stage, 0, 0)), 4)),
                       i64(shr(add(sharedAddress, boxOffset(stage, 1, 0)), 4))};
    Value fixed[2] = {constant(tiles[0].descriptorBits()),
                      constant(tiles[1].descriptorBits())};
    NVVM::WgmmaFenceAlignedOp::create(b);
    auto shape = NVVM::MMAShapeAttr::get(b.getContext(), kWgmmaM, spec.tileN,
                                         kStepBytes / elementBytes(spec));
    NVVM::WGMMATypes type = getWgmmaType(spec.computeType);
    for (int64_t step = 0; step < kStepsK; ++step) {
      Value descriptors[2];
      for (int64_t operand : {0, 1}) {
        Value start = arith::AddIOp::create(
            b, starts[operand],
            constant(step * tiles[operand].stepBytes() / 16));
        descriptors[operand] = arith::OrIOp::create(b, start, fixed[operand]);
      }
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, accType, acc, descriptors[0], descriptors[1], shape, type, type,
          NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
          NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
          tiles[0].mmaLayout(/*isB=*/false), tiles[1].mmaLayout(/*isB=*/true),
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
      releaseStage(add(round, spec.stages - 1));
    }
    scf::YieldOp::create(b, ValueRange{acc});
  }
  // The tile's last group; its stage goes back to the producer, which loads
  // the next tile while this one's results are stored (an empty K, possible
  // at run time, used none).
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  if (std::optional<int64_t> known = getConstantIntValue(kTiles)) {
    releaseStage(add(first, *known - 1 + spec.stages));
  } else {
    Value anyTile =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, kTiles, idx(0));
    emitGuarded(anyTile, [&] {
      releaseStage(add(add(first, kTiles), spec.stages - 1));
    });
  }
  emitEpilogue(loop.getResult(0), consumerTid);
}

void ContractionWgmmaBuilder::releaseStage(Value roundPlusStages) {
  nvgpu::MBarrierArriveOp::create(
      b, nvgpu::MBarrierTokenType::get(b.getContext()), barriers,
      add(rem(roundPlusStages, spec.stages), spec.stages));
}

Value ContractionWgmmaBuilder::beginTileLoop(bool producer) {
  auto [tile, first] = KernelBuilder::beginTileLoop(storage, counter, ctaTiles,
                                                    kTiles, producer);
  if (spec.batch == 1) {
    batchIndex = idx(0);
  } else {
    batchIndex = b.createOrFold<arith::DivUIOp>(tile, tilesPerBatch);
    tile = b.createOrFold<arith::RemUIOp>(tile, tilesPerBatch);
  }
  computeTileOrigin(tile, kTileM, spec.tileN);
  return first;
}

void ContractionWgmmaBuilder::emitEpilogue(Value acc, Value consumerTid) {
  bool guardRows = guardsRows(kTileM);
  bool guardCols = spec.n % spec.tileN != 0;
  Value warpgroup = shr(consumerTid, 7);
  Value warp = bitAnd(shr(consumerTid, 5), 3);
  Value lane = bitAnd(consumerTid, kWarpSize - 1);
  Value laneCol = mul(bitAnd(lane, 3), 2);
  Value laneRow = shr(lane, 2);
  bool blocks = canStoreBlocks(spec.tileN);
  for (int64_t h = 0; h < 2; ++h) {
    Value row = add(m0, add(add(mul(warpgroup, kWgmmaM), mul(warp, 16)),
                            add(laneRow, h * 8)));
    Value rowInBounds = guardRows ? ult(row, mSize) : Value();
    auto accPair = [&](int64_t j) {
      SmallVector<Value, 2> pair;
      for (int64_t e : {0, 1})
        pair.push_back(LLVM::ExtractValueOp::create(
            b, acc, ArrayRef<int64_t>{j * 4 + h * 2 + e}));
      return pair;
    };
    if (!blocks) {
      for (int64_t j = 0; j < spec.tileN / 8; ++j)
        storePair(row, add(n0, add(laneCol, j * 8)), rowInBounds, guardCols,
                  accPair(j));
      continue;
    }
    // 16-byte stores of 8 columns (storeBlocks): the results of a row past
    // M are computed from the last row's operands and not stored.
    Value readRow =
        guardRows ? b.createOrFold<arith::MinUIOp>(row, lastRow()) : row;
    for (int64_t group = 0; group < spec.tileN / 32; ++group) {
      SmallVector<Value, 8> pairs;
      for (int64_t j = 4 * group; j < 4 * group + 4; ++j)
        pairs.append(
            resultPair(readRow, add(n0, add(laneCol, j * 8)), accPair(j)));
      storeBlocks(row, rowInBounds, add(n0, group * 32), bitAnd(lane, 3),
                  pairs);
    }
  }
}

void ContractionWgmmaBuilder::build(gpu::GPUFuncOp func) {
  unsigned arg = bindArguments(func);
  maps[0] = entry->getArgument(arg);
  maps[1] = entry->getArgument(arg + 1);
  kTiles = countTilesK(tileK(spec));
  bool dynamicM = ShapedType::isDynamic(spec.m);
  tilesPerBatch =
      dynamicM ? mul(countTilesM(kTileM), llvm::divideCeil(spec.n, spec.tileN))
               : idx(spec.getGridX());
  if (spec.batch == 1)
    ctaTiles = tilesPerBatch;
  else if (!dynamicM && !ShapedType::isDynamic(spec.batch))
    ctaTiles = idx(spec.getGridX() * spec.batch);
  else
    ctaTiles = b.createOrFold<arith::MulIOp>(tilesPerBatch, batchSize);

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);

  if (spec.claimTiles)
    counter = entry->getArgument(arg + 2);
  storage = createWarpSpecializedStorage(tid, barrierType, spec.stages,
                                         spec.stages * stageBytes(spec),
                                         kConsumerThreads, spec.claimTiles);
  shared = storage.bytes;
  sharedAddress = storage.address;
  barriers = storage.barriers;
  emitWarpSpecializedRoles(
      tid, kConsumerThreads, kConsumerRegisters, kProducerRegisters,
      [&] { emitConsumer(tid); }, [&] { emitProducer(); });
  gpu::ReturnOp::create(b);
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

bool mlir::qat::canUseWgmma(const ContractionKernelSpec &spec) {
  Type type = spec.computeType;
  if (spec.lhs.elementType != type || spec.rhs.elementType != type)
    return false;
  for (const ContractionOperand *operand : {&spec.lhs, &spec.rhs}) {
    int64_t last = static_cast<int64_t>(operand->shape.size()) - 1;
    bool kMajor = operand->colDim == last;
    if (!kMajor && (operand->rowDim != last || type.isF32()))
      return false;
    // TMA: row strides of a multiple of 16 bytes.
    if (ShapedType::isDynamic(operand->shape.back()) ||
        operand->shape.back() * elementBytes(spec) % 16 != 0)
      return false;
  }
  return true;
}

void mlir::qat::chooseWgmmaTiles(ContractionKernelSpec &spec) {
  spec.tileM = kTileM;
  spec.tileN = spec.hasManyLargeTiles(256) ? 256 : 128;
  spec.warpsM = 2;
  spec.warpsN = 1;
  int64_t tiles = spec.getGridX();
  spec.claimTiles = claimsTiles(ShapedType::isDynamic(tiles) ||
                                        ShapedType::isDynamic(spec.batch)
                                    ? ShapedType::kDynamic
                                    : tiles * spec.batch);
  spec.stages = std::min(
      kMaxStages, (kMaxSharedBytes - kSwizzleAlign - kTileClaimSlotBytes) /
                      stageBytes(spec));
}

ContractionKernel
mlir::qat::buildContractionWgmmaKernel(OpBuilder &builder, Location loc,
                                       gpu::GPUModuleOp module,
                                       const ContractionKernelSpec &spec) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  auto pointer = LLVM::LLVMPointerType::get(b.getContext());
  SmallVector<Type, 3> extra = {pointer, pointer};
  if (spec.claimTiles)
    extra.push_back(MemRefType::get({1}, b.getI32Type()));
  auto func = buildContractionKernelFunc(b, loc, module, spec,
                                         "qat_contraction_wgmma", extra);
  // A register cap at entry (one CTA of 384 threads an SM), which
  // setmaxnreg needs to take effect.
  func->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                b.getDenseI32ArrayAttr({static_cast<int32_t>(kThreads), 1, 1}));
  func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                b.getI32IntegerAttr(1));
  ContractionWgmmaBuilder(b, spec).build(func);
  ContractionKernel kernel{func, kThreads, sharedBytes(spec)};
  kernel.persistent = true;
  return kernel;
}

SmallVector<Value>
mlir::qat::buildContractionTensorMaps(OpBuilder &builder, Location loc,
                                      const ContractionKernelSpec &spec,
                                      Value lhs, Value rhs) {
  ImplicitLocOpBuilder b(loc, builder);
  SmallVector<Value> maps;
  for (auto [buffer, tile] :
       {std::pair{lhs, OperandTile{&spec.lhs, kTileM, elementBytes(spec)}},
        {rhs, OperandTile{&spec.rhs, spec.tileN, elementBytes(spec)}}}) {
    MemRefType boxType = tile.boxType(spec.computeType);
    auto type = cast<MemRefType>(buffer.getType());
    Value unranked = memref::CastOp::create(
        b, UnrankedMemRefType::get(type.getElementType(), Attribute()), buffer);
    SmallVector<Value> box;
    for (int64_t size : boxType.getShape())
      box.push_back(arith::ConstantIndexOp::create(b, size));
    Value map = nvgpu::TmaCreateDescriptorOp::create(
        b, getTensorMapType(boxType), unranked, box);
    maps.push_back(UnrealizedConversionCastOp::create(
                       b, LLVM::LLVMPointerType::get(b.getContext()), map)
                       .getResult(0));
  }
  return maps;
}
