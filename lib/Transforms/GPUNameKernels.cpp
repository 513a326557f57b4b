//===- GPUNameKernels.cpp - One name per GPU kernel -------------*- C++ -*-===//
//
// Renames each kernel after the gpu.module that holds it, so that every
// kernel of a program has its own name.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUNAMEKERNELS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

/// By hand: a rename touches the kernel's definition in its gpu.module and
/// every launch of it in host functions, across symbol tables.
struct GPUNameKernelsPass : qat::impl::GPUNameKernelsBase<GPUNameKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Old kernel reference -> new one, for modules with exactly one kernel
    // whose name differs from the module's (outlining makes @f_kernel_3
    // hold @f_kernel).
    DenseMap<SymbolRefAttr, SymbolRefAttr> renamed;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      SmallVector<gpu::GPUFuncOp> kernels;
      for (auto func : gpuModule.getOps<gpu::GPUFuncOp>())
        if (func.isKernel())
          kernels.push_back(func);
      StringAttr name = gpuModule.getSymNameAttr();
      if (kernels.size() != 1 || kernels.front().getName() == name.getValue())
        continue;
      gpu::GPUFuncOp kernel = kernels.front();
      if (SymbolTable::lookupSymbolIn(gpuModule, name))
        continue;
      auto oldRef = SymbolRefAttr::get(
          name, {FlatSymbolRefAttr::get(kernel.getNameAttr())});
      SymbolTable::setSymbolName(kernel, name);
      renamed[oldRef] =
          SymbolRefAttr::get(name, {FlatSymbolRefAttr::get(name)});
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      if (SymbolRefAttr newRef = renamed.lookup(launch.getKernel()))
        launch.setKernelAttr(newRef);
    });
  }
};

} // namespace
