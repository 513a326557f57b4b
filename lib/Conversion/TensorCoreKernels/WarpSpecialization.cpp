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
    int64_t bytes, int64_t consumerThreads, ArrayRef<int64_t> extraArrivals) {
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
          idx(2 * stages + static_cast<int64_t>(extraArrivals.size()) - 1)));
  Value start = b.createOrFold<arith::MaxUIOp>(address, add(lastBarrier, 8));
  Value aligned = bitAnd(add(start, kSwizzleAlign - 1), ~(kSwizzleAlign - 1));
  Value skip = b.createOrFold<arith::SubIOp>(aligned, address);
  Value storage = memref::ViewOp::create(
      b,
      MemRefType::get({bytes}, b.getI8Type(), MemRefLayoutAttrInterface(),
                      workgroup),
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
    for (auto [i, arrivals] : llvm::enumerate(extraArrivals))
      nvgpu::MBarrierInitOp::create(b, barriers, idx(arrivals),
                                    idx(2 * stages + i), Value());
    // The copy engine (the async proxy) completes transactions on them.
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
  }
  gpu::BarrierOp::create(b);
  return {storage, aligned, barriers};
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
