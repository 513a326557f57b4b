//===- PipelineRegistration.cpp - Named qat pipelines -----------*- C++ -*-===//
//
// Makes the pipeline builders available by name to qat-opt and friends.
//
//===----------------------------------------------------------------------===//

#include "qat/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"

void mlir::qat::registerPipelines() {
  PassPipelineRegistration<QATToCPUPipelineOptions>(
      "qat-to-cpu",
      "Lower qat and linalg on tensors to the LLVM dialect for the CPU",
      buildQATToCPUPipeline);
  PassPipelineRegistration<QATToNVPTXPipelineOptions>(
      "qat-to-nvptx",
      "Compile qat programs to fused NVPTX kernels (cubin, or PTX) embedded "
      "in host code in the LLVM dialect that calls the qat CUDA runtime",
      buildQATToNVPTXPipeline);
}
