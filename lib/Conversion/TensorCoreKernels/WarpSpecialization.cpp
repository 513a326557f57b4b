//===- WarpSpecialization.cpp - The CTA of a producer/consumer kernel -----===//
//
// KernelBuilder's storage and roles of the warp-specialized wgmma kernels.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/TensorCoreKernels/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::qat;

/// The period of the 128-byte swizzle: 8 lines of 128 bytes.
constexpr int64_t kSwizzleAlign = 1024;

KernelBuilder::WarpSpecializedStorage
KernelBuilder::createWarpSpecializedStorage(
    Value tid, nvgpu::MBarrierGroupType barrierType, int64_t stages,
    int64_t bytes, int64_t consumerThreads, bool claimTiles) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                         MemRefLayoutAttrInterface(), workgroup));
  // gpu.dynamic_shared_memory lowers to a (demoted, one-byte) static
  // .shared variable, and the mbarriers are another; ptxas orders them as
  // it likes, and the dynamic shared memory follows both. The storage starts
  // at the first multiple of 1024 bytes past both variables: at most 1023
  // bytes plus the static ones past the variable, within the slack that the
  // kernel requests on top of `bytes`.
  Value barriers = nvgpu::MBarrierCreateOp::create(b, barrierType);
  Value address =
      memref::ExtractAlignedPointerAsIndexOp::create(b, dynamic).getResult();
  Value lastBarrier = arith::IndexCastUIOp::create(
      b, b.getIndexType(),
      nvgpu::MBarrierGetOp::create(
          b, b.getI64Type(), barriers,
          idx(getWarpSpecializedBarriers(stages, claimTiles) - 1)));
  Value start = b.createOrFold<arith::MaxUIOp>(address, add(lastBarrier, 8));
  Value aligned = bitAnd(add(start, kSwizzleAlign - 1), ~(kSwizzleAlign - 1));
  Value skip = b.createOrFold<arith::SubIOp>(aligned, address);
  Value storage = memref::ViewOp::create(
      b,
      MemRefType::get({bytes + (claimTiles ? kTileClaimSlotBytes : 0)},
                      b.getI8Type(), MemRefLayoutAttrInterface(), workgroup),
      dynamic, skip, ValueRange{});

  Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, idx(0));
  {
    auto ifOp = scf::IfOp::create(b, first, /*withElseRegion=*/false);
    ImplicitLocOpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    for (int64_t stage = 0; stage < stages; ++stage) {
      nvgpu::MBarrierInitOp::create(b, barriers, idx(1), idx(stage), Value());
      nvgpu::MBarrierInitOp::create(b, barriers, idx(consumerThreads),
                                    idx(stages + stage), Value());
    }
    for (int64_t slot = 0; claimTiles && slot < kTileClaimSlots; ++slot) {
      nvgpu::MBarrierInitOp::create(b, barriers, idx(1), idx(2 * stages + slot),
                                    Value());
      nvgpu::MBarrierInitOp::create(b, barriers, idx(consumerThreads),
                                    idx(2 * stages + kTileClaimSlots + slot),
                                    Value());
    }
    // The copy engine (the async proxy) completes transactions on them.
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
  }
  gpu::BarrierOp::create(b);
  Value slots;
  if (claimTiles)
    slots = memref::ViewOp::create(
        b,
        MemRefType::get({kTileClaimSlots}, b.getI32Type(),
                        MemRefLayoutAttrInterface(), workgroup),
        storage, idx(bytes), ValueRange{});
  return {storage, aligned, barriers, slots, stages};
}

std::pair<Value, Value>
KernelBuilder::beginTileLoop(const WarpSpecializedStorage &storage,
                             Value counter, Value tiles, Value kTiles,
                             bool producer) {
  if (!counter) {
    Value pid = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value ctas = gpu::GridDimOp::create(b, gpu::Dimension::x);
    auto loop = scf::ForOp::create(b, pid, tiles, ctas, ValueRange{idx(0)});
    b.setInsertionPointToStart(loop.getBody());
    Value first = loop.getRegionIterArgs()[0];
    scf::YieldOp::create(b, ValueRange{add(first, kTiles)});
    b.setInsertionPointToStart(loop.getBody());
    return {loop.getInductionVar(), first};
  }
  // (claims so far, rounds so far) -> (tile, claims, rounds) while the
  // claimed tile exists; both sides count claims alike.
  Type index = b.getIndexType();
  Location loc = b.getLoc();
  auto loop = scf::WhileOp::create(b, TypeRange{index, index, index},
                                   ValueRange{idx(0), idx(0)});
  Block *before =
      b.createBlock(&loop.getBefore(), {}, {index, index}, {loc, loc});
  Value claims = before->getArgument(0);
  Value slot = b.createOrFold<arith::RemUIOp>(claims, idx(kTileClaimSlots));
  Value full = add(slot, 2 * storage.stages);
  Value empty = add(slot, 2 * storage.stages + kTileClaimSlots);
  auto tokenType = nvgpu::MBarrierTokenType::get(b.getContext());
  Value ticket;
  if (producer) {
    // The consumers have read what this slot held kTileClaimSlots claims ago.
    nvgpu::MBarrierTryWaitParityOp::create(
        b, storage.barriers,
        phaseParity(claims, kTileClaimSlots, /*flip=*/true),
        idx(kMBarrierWaitTicks), empty);
    ticket = memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, i32(1),
                                         counter, ValueRange{idx(0)});
    memref::StoreOp::create(b, ticket, storage.claimSlots, ValueRange{slot});
    nvgpu::MBarrierArriveOp::create(b, tokenType, storage.barriers, full);
  } else {
    nvgpu::MBarrierTryWaitParityOp::create(
        b, storage.barriers,
        phaseParity(claims, kTileClaimSlots, /*flip=*/false),
        idx(kMBarrierWaitTicks), full);
    ticket = memref::LoadOp::create(b, storage.claimSlots, ValueRange{slot});
    nvgpu::MBarrierArriveOp::create(b, tokenType, storage.barriers, empty);
  }
  Value tile = arith::IndexCastUIOp::create(b, index, ticket);
  scf::ConditionOp::create(b, ult(tile, tiles),
                           ValueRange{tile, claims, before->getArgument(1)});
  Block *after = b.createBlock(&loop.getAfter(), {}, {index, index, index},
                               {loc, loc, loc});
  Value first = after->getArgument(2);
  scf::YieldOp::create(
      b, ValueRange{add(after->getArgument(1), 1), add(first, kTiles)});
  b.setInsertionPointToStart(after);
  return {after->getArgument(0), first};
}

Value KernelBuilder::phaseParity(Value round, int64_t stages, bool flip) {
  Value parity = bitAnd(b.createOrFold<arith::DivUIOp>(round, idx(stages)), 1);
  if (flip)
    parity = b.createOrFold<arith::XOrIOp>(parity, idx(1));
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ne, parity, idx(0));
}

void KernelBuilder::emitWarpSpecializedRoles(
    Value tid, int64_t consumerThreads, int64_t consumerRegisters,
    int64_t producerRegisters, llvm::function_ref<void()> consumer,
    llvm::function_ref<void()> producer) {
  auto roles = scf::IfOp::create(b, ult(tid, consumerThreads),
                                 /*withElseRegion=*/true);
  ImplicitLocOpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(roles.thenBlock());
  NVVM::SetMaxRegisterOp::create(b, consumerRegisters,
                                 NVVM::SetMaxRegisterAction::increase);
  consumer();
  b.setInsertionPointToStart(roles.elseBlock());
  NVVM::SetMaxRegisterOp::create(b, producerRegisters,
                                 NVVM::SetMaxRegisterAction::decrease);
  auto first =
      scf::IfOp::create(b,
                        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid,
                                              idx(consumerThreads)),
                        /*withElseRegion=*/false);
  b.setInsertionPointToStart(first.thenBlock());
  producer();
}
