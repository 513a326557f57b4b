//===- Registration.h - C API: register qat and upstream MLIR -----*- C -*-===//
//
// What a qat tool registers, callable from C: the dialects a training graph
// may contain and every pass and named pipeline (`qat-to-cpu`, ...), so that
// mlirParsePassPipeline understands them.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_C_REGISTRATION_H
#define QAT_C_REGISTRATION_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Inserts the qat dialect, every upstream dialect, their extensions and the
/// translations to LLVM IR into `registry` (what qat-opt registers). For the
/// qat dialect alone use mlirGetDialectHandle__qat__().
MLIR_CAPI_EXPORTED void qatRegisterAllDialects(MlirDialectRegistry registry);

/// Registers the qat passes and pipelines and every upstream pass with the
/// global pass registry. Safe to call more than once.
MLIR_CAPI_EXPORTED void qatRegisterAllPasses(void);

#ifdef __cplusplus
}
#endif

#endif // QAT_C_REGISTRATION_H
