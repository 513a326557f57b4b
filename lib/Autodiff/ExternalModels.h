//===- ExternalModels.h - Registration of the reverse rules -----*- C++ -*-===//
//
// One registration function per dialect whose ops get reverse rules; called
// by registerAutoDiffExternalModels.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_LIB_AUTODIFF_EXTERNALMODELS_H
#define QAT_LIB_AUTODIFF_EXTERNALMODELS_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::qat {
void registerArithMathAutoDiffModels(DialectRegistry &registry);
void registerLinalgAutoDiffModels(DialectRegistry &registry);
void registerTensorAutoDiffModels(DialectRegistry &registry);
void registerQATAutoDiffModels(DialectRegistry &registry);
} // namespace mlir::qat

#endif // QAT_LIB_AUTODIFF_EXTERNALMODELS_H
