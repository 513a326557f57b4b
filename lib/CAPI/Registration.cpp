//===- Registration.cpp - C API: register qat and upstream MLIR -*- C++ -*-===//
//
// C entry points to the registration in lib/Registration, so that C and
// bindings see exactly what qat-opt sees.
//
//===----------------------------------------------------------------------===//

#include "qat-c/Registration.h"

#include "qat/InitAllDialects.h"
#include "qat/InitAllPasses.h"

#include "mlir/CAPI/IR.h"

#include <mutex>

void qatRegisterAllDialects(MlirDialectRegistry registry) {
  mlir::qat::registerAllDialects(*unwrap(registry));
  mlir::qat::registerQATUpstreamExtensions(*unwrap(registry));
}

void qatRegisterAllPasses(void) {
  // Bindings may call this once per module import; registering a pipeline
  // name twice is a fatal error in assertion-enabled builds of MLIR.
  static std::once_flag registered;
  std::call_once(registered, [] { mlir::qat::registerAllPasses(); });
}
