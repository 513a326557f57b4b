//===- QATLLVMTranslation.cpp - qat attributes in LLVM IR -------*- C++ -*-===//
//
// The qat argument attributes survive the lowering to llvm.func; they mean
// nothing to LLVM IR, and without an interface for the qat dialect the
// translation warns about each of them.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/InitAllDialects.h"

#include "mlir/Target/LLVMIR/LLVMTranslationInterface.h"

using namespace mlir;

namespace {
/// Drops `qat.param`, `qat.step` and `qat.codes`: they mark the training
/// roles of arguments for qat's passes, which have run by now.
struct QATLLVMTranslationInterface : LLVMTranslationDialectInterface {
  using LLVMTranslationDialectInterface::LLVMTranslationDialectInterface;

  LogicalResult convertParameterAttr(LLVM::LLVMFuncOp, int, NamedAttribute,
                                     LLVM::ModuleTranslation &) const override {
    return success();
  }
};
} // namespace

void mlir::qat::registerQATLLVMTranslation(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, QATDialect *dialect) {
    dialect->addInterfaces<QATLLVMTranslationInterface>();
  });
}
