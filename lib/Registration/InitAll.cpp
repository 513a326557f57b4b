//===- InitAll.cpp - Register qat and upstream MLIR -------------*- C++ -*-===//
//
// Registration of every dialect, extension and pass that qat tools expose.
//
//===----------------------------------------------------------------------===//

#include "qat/InitAllDialects.h"
#include "qat/InitAllPasses.h"

#include "qat/Autodiff/AutoDiffOpInterface.h"
#include "qat/Autodiff/Passes.h"
#include "qat/Conversion/Passes.h"
#include "qat/Conversion/QATMatmulToNVGPU/QATMatmulToNVGPU.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/Transforms/Passes.h"
#include "qat/Pipelines/Pipelines.h"
#include "qat/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::qat::registerQATDialect(DialectRegistry &registry) {
  registry.insert<QATDialect>();
}

void mlir::qat::registerAllDialects(DialectRegistry &registry) {
  registerQATDialect(registry);
  registerQATLLVMTranslation(registry);
  // Lets buffer deallocation see through the qat.matmul kernel launches.
  registerGPULaunchFuncMemoryEffects(registry);
  // Lets buffer deallocation accept the barriers of the row kernels.
  registerGPUBarrierMemoryEffects(registry);
  // Keeps constants in the kernels they are used in.
  registerGPULaunchConstantMaterialization(registry);
  // Reverse rules of upstream and qat ops for qat-differentiate.
  registerAutoDiffExternalModels(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary and the object emitters translate to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
}

void mlir::qat::registerAllPasses() {
  mlir::registerAllPasses();
  registerQATConversionPasses();
  registerQATTransformsPasses();
  registerQATDialectPasses();
  registerQATAutodiffPasses();
  registerPipelines();
}
