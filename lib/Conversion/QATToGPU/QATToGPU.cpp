//===- QATToGPU.cpp - Row-local qat ops to fused GPU kernels ----*- C++ -*-===//
//
// The convert-qat-to-gpu pass: forms fusion groups of row-local qat ops and
// replaces each by buffers, one kernel launch and the results as tensors.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/QATToGPU/QATToGPU.h"

#include "RowwiseFusion.h"

#include "qat/Conversion/GPUShapeChecks/GPUShapeChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FoldInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::qat {
#define GEN_PASS_DEF_CONVERTQATTOGPU
#include "qat/Conversion/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

/// Where the code of `group` goes: before its first op, or right after the
/// latest definition of one of its inputs when that comes later (producer
/// groups were emitted before, so their results are already the new
/// tensors). Fusion legality guarantees that every use of the group's
/// results outside it comes after that point.
static void setInsertionPoint(OpBuilder &builder, Block &block,
                              const FusionGroup &group) {
  Operation *latest = nullptr;
  for (Operation *op : group.ops) {
    for (Value operand : getReadValues(op)) {
      Operation *def = operand.getDefiningOp();
      if (!def || group.contains(def))
        continue;
      Operation *ancestor = block.findAncestorOpInBlock(*def);
      if (ancestor && (!latest || latest->isBeforeInBlock(ancestor)))
        latest = ancestor;
    }
  }
  Operation *first = group.ops.front();
  if (latest && first->isBeforeInBlock(latest))
    builder.setInsertionPointAfter(latest);
  else
    builder.setInsertionPoint(first);
}

namespace {

/// The pass body rewrites by hand rather than through patterns: a fusion
/// group is a set of ops chosen for a whole block at once, and its kernel
/// replaces all of them at a point that depends on the other groups (see
/// setInsertionPoint), which a pattern rooted at one op cannot express.
///
/// Why not upstream's tiling and mapping (linalg on tensors, tiled and
/// mapped to blocks and threads): a group needs row-wide
/// reductions, butterfly exchanges between lanes and warps and nibble
/// packing in the same kernel, with the row held in registers; that is the
/// shape of a hand-built kernel (as in LayerNorm/softmax kernels), so the
/// emitter builds it directly from gpu, vector, scf and arith ops and uses
/// the upstream lowerings below it (subgroup reductions to shuffles,
/// kernel outlining, NVVM).
struct ConvertQATToGPUPass
    : qat::impl::ConvertQATToGPUBase<ConvertQATToGPUPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    // The barriers of the kernels must pass buffer deallocation.
    registerGPUBarrierMemoryEffects(registry);
    // Their constants must stay immediates of the kernels.
    registerGPULaunchConstantMaterialization(registry);
  }

  ConvertQATToGPUOptions getOptions() const {
    ConvertQATToGPUOptions options;
    options.elementsPerThread = elementsPerThread;
    options.hadamardExchange = hadamardExchange;
    options.allowFallback = allowFallback;
    return options;
  }

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(Pass::initializeOptions(options, errorHandler)))
      return failure();
    if (llvm::Error error = verifyConvertQATToGPUOptions(getOptions()))
      return errorHandler("convert-qat-to-gpu: " +
                          llvm::toString(std::move(error)));
    return success();
  }

  void runOnOperation() override {
    if (llvm::Error error = verifyConvertQATToGPUOptions(getOptions())) {
      getOperation().emitError()
          << "convert-qat-to-gpu: " << llvm::toString(std::move(error));
      return signalPassFailure();
    }
    expandTwoLevelScales(getOperation());
    expandRandomSignHadamards(getOperation());
    // Before any planning: dynamic dimensions where the kernels take them,
    // sizes the planners' int64 arithmetic can take, and no zero-size tensor
    // left for them (the CPU's linalg instead).
    auto anyQATOp = [](Operation *) { return true; };
    if (failed(checkGPUDynamicShapes(getOperation(), anyQATOp)) ||
        failed(checkGPUTensorSizes(getOperation(), anyQATOp)) ||
        failed(lowerZeroSizeOpsToLinalg(getOperation(), anyQATOp)))
      return signalPassFailure();

    llvm::SetVector<Block *> blocks;
    getOperation().walk([&](Operation *op) {
      if (getRowShape(op))
        blocks.insert(op->getBlock());
    });
    for (Block *block : blocks)
      if (failed(convertBlock(*block)))
        return signalPassFailure();
  }

  LogicalResult convertBlock(Block &block) {
    RowKernelOptions options;
    options.elementsPerThread = elementsPerThread;
    options.hadamardExchange = hadamardExchange;
    auto canEmit = [&](const FusionGroup &group) {
      return succeeded(RowKernelPlan::get(group, options, nullptr));
    };
    SmallVector<FusionGroup> groups = formFusionGroups(block, canEmit);

    // Report every group that cannot be emitted before changing anything.
    // Only single ops can fail: a merge is only accepted when it fits. With
    // allow-fallback such an op stays, for convert-qat-to-linalg (its
    // operands and results are tensors like any other op's).
    SmallVector<RowKernelPlan> plans;
    SmallVector<FusionGroup> emitted;
    bool failedAny = false;
    // A group no GPU kernel takes: left for convert-qat-to-linalg with a
    // remark where the fallback is allowed, an error otherwise.
    auto refuse = [&](FusionGroup &group, StringRef reason) {
      if (allowFallback) {
        group.ops.front()->emitRemark()
            << reason << "; left for convert-qat-to-linalg";
        return;
      }
      group.ops.front()->emitOpError() << reason;
      failedAny = true;
    };
    for (FusionGroup &group : groups) {
      if (group.isWholeTensorScale()) {
        plans.emplace_back();
        emitted.push_back(group);
        continue;
      }
      std::string reason;
      FailureOr<RowKernelPlan> planned =
          RowKernelPlan::get(group, options, &reason);
      if (failed(planned)) {
        refuse(group, reason);
        continue;
      }
      plans.push_back(*planned);
      emitted.push_back(group);
    }
    if (failedAny)
      return failure();
    groups = std::move(emitted);

    // Emit the groups in dependence order; the old ops stay until the end
    // (their uses outside each group are replaced as it is emitted), so
    // every insertion point stays valid.
    for (auto [groupRef, plan] : llvm::zip(groups, plans)) {
      // A reference of its own: lambdas may not capture a structured binding
      // in C++17.
      auto &group = groupRef;
      OpBuilder builder(&getContext());
      setInsertionPoint(builder, block, group);
      SmallVector<Location> locations;
      for (Operation *op : group.ops)
        locations.push_back(op->getLoc());
      ImplicitLocOpBuilder b(FusedLoc::get(&getContext(), locations), builder);
      DenseMap<Value, Value> replacements;
      if (group.isWholeTensorScale()) {
        Operation *op = group.ops.front();
        if (!op->use_empty())
          replacements[op->getResult(0)] =
              isa<ScaleOp>(op) ? emitWholeTensorScale(b, cast<ScaleOp>(op))
                               : emitWholeTensorRms(b, cast<RmsOp>(op));
      } else {
        emitRowKernel(b, group, plan, replacements);
      }
      for (auto [old, replacement] : replacements)
        old.replaceUsesWithIf(replacement, [&](OpOperand &use) {
          return !group.contains(use.getOwner());
        });
    }

    SmallVector<Operation *> erased;
    for (FusionGroup &group : groups)
      llvm::append_range(erased, group.ops);
    llvm::sort(erased, [](Operation *a, Operation *b) {
      return b->isBeforeInBlock(a);
    });
    // Reverse block order: every user of an old op is gone before it.
    for (Operation *op : erased)
      op->erase();
    return success();
  }
};

} // namespace

llvm::Error
mlir::qat::verifyConvertQATToGPUOptions(const ConvertQATToGPUOptions &options) {
  if (options.elementsPerThread < 1 ||
      options.elementsPerThread > kMaxElementsPerThread)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "elements-per-thread=" + Twine(options.elementsPerThread) +
            " is out of range; expected 1 to " + Twine(kMaxElementsPerThread));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Memory effects of the barriers
//===----------------------------------------------------------------------===//

namespace {
/// A barrier orders the memory accesses of the threads of a CTA (gpu.barrier)
/// or a warp (nvvm.bar.warp.sync): model it as reading and writing memory,
/// so that nothing moves loads or stores across it and buffer deallocation
/// accepts it.
template <typename BarrierOp>
struct BarrierMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffects<BarrierOp>,
                                             BarrierOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};
} // namespace

void mlir::qat::registerGPUBarrierMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, gpu::GPUDialect *) {
    gpu::BarrierOp::attachInterface<BarrierMemoryEffects<gpu::BarrierOp>>(
        *context);
  });
  registry.addExtension(+[](MLIRContext *context, NVVM::NVVMDialect *) {
    NVVM::SyncWarpOp::attachInterface<BarrierMemoryEffects<NVVM::SyncWarpOp>>(
        *context);
  });
}

//===----------------------------------------------------------------------===//
// Constants of gpu.launch bodies
//===----------------------------------------------------------------------===//

namespace {
/// Folding (canonicalize, the greedy driver) materializes and uniques
/// constants in the closest region that is isolated from above, which for a
/// gpu.launch body is the host function: kernel outlining then passes each
/// constant as a kernel parameter. The kernel reads it from the constant
/// bank with an extra instruction wherever an immediate would do, and keeps
/// it in a register across loops; in the row kernels that was about a fifth
/// of all instructions. Constants used by a launch belong to its body.
struct GPULaunchConstantMaterialization : DialectFoldInterface {
  using DialectFoldInterface::DialectFoldInterface;
  bool shouldMaterializeInto(Region *region) const final {
    return isa<gpu::LaunchOp>(region->getParentOp());
  }
};
} // namespace

void mlir::qat::registerGPULaunchConstantMaterialization(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, gpu::GPUDialect *dialect) {
    dialect->addInterfaces<GPULaunchConstantMaterialization>();
  });
}
