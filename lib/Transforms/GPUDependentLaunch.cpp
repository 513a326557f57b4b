//===- GPUDependentLaunch.cpp - Programmatic dependent launch ---*- C++ -*-===//
//
// Lets a kernel be launched while the kernel before it on the stream still
// runs (Hopper's programmatic dependent launch): every kernel waits for its
// predecessor's completion before touching memory, and the module carries a
// marker the qat CUDA runtime looks for.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "qat/Runtime/CUDARuntime.h"

#include "mlir/IR/Builders.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUDEPENDENTLAUNCH
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

struct GPUDependentLaunchPass
    : qat::impl::GPUDependentLaunchBase<GPUDependentLaunchPass> {
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    bool anyKernel = false;
    for (auto func : module.getOps<gpu::GPUFuncOp>()) {
      if (!func.isKernel() || func.getBody().empty())
        continue;
      anyKernel = true;
      Block &entry = func.getBody().front();
      auto first = dyn_cast<NVVM::GriddepcontrolOp>(entry.front());
      if (first && first.getKind() == NVVM::GridDepActionKind::wait)
        continue; // Already waits (the pass ran before).
      OpBuilder b = OpBuilder::atBlockBegin(&entry);
      // The wait comes first: nothing of the predecessor's output is read,
      // and nothing it may still read is overwritten, before it completes.
      NVVM::GriddepcontrolOp::create(b, func.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, func.getLoc(), NVVM::GridDepActionKind::launch_dependents);
    }
    if (!anyKernel || module.lookupSymbol(QAT_CUDA_DEPENDENT_LAUNCH_MARKER))
      return;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    LLVM::GlobalOp::create(b, module.getLoc(), b.getI8Type(),
                           /*isConstant=*/true, LLVM::Linkage::External,
                           QAT_CUDA_DEPENDENT_LAUNCH_MARKER,
                           b.getI8IntegerAttr(1), /*alignment=*/1,
                           /*addrSpace=*/1);
  }
};

} // namespace
