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
  // Registered by hand rather than with PassPipelineRegistration so that
  // the options are checked before any pass is built: what LLVM would
  // answer with a fatal error becomes a parse error of the pipeline.
  registerPassPipeline(
      "qat-to-nvptx",
      "Compile qat programs to fused NVPTX kernels (cubin, or PTX) embedded "
      "in host code in the LLVM dialect that calls the qat CUDA runtime",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        QATToNVPTXPipelineOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (llvm::Error error = verifyQATToNVPTXPipelineOptions(options))
          return errorHandler(llvm::toString(std::move(error)));
        buildQATToNVPTXPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionsHandler) {
        optionsHandler(QATToNVPTXPipelineOptions());
      });
}
