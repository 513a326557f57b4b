//===- qat-opt.cpp - The qat optimizer driver -------------------*- C++ -*-===//
//
// mlir-opt with the qat dialect, passes and pipelines registered.
//
//===----------------------------------------------------------------------===//

#include "qat/InitAllDialects.h"
#include "qat/InitAllPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::qat::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::qat::registerAllDialects(registry);
  mlir::qat::registerQATUpstreamExtensions(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv,
      "qat optimizer: verifies, canonicalizes and lowers quantization-aware "
      "training graphs\n",
      registry));
}
