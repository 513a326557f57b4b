//===- qat-run.cpp - Run compiled qat code on the CPU -----------*- C++ -*-===//
//
// JIT-runs one function of a qat / linalg module on .npy or random inputs,
// or compiles it to an object file and a C header; see --help.
//
//===----------------------------------------------------------------------===//

#include "qat/InitAllDialects.h"
#include "qat/Runner/QatRunMain.h"

#include "mlir/IR/DialectRegistry.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::qat::registerAllDialects(registry);
  mlir::qat::registerQATUpstreamExtensions(registry);
  return mlir::qat::qatRunMain(argc, argv, registry);
}
