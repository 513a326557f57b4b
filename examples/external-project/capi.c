//===- capi.c - A C program embedding qat through its CMake package -------===//
//
// Builds a quantizer attribute and runs a pass pipeline by name using only the
// C API (QAT::QATCAPI), as a C tool or a language binding would.
//
//===----------------------------------------------------------------------===//

#include "qat-c/Dialect/QAT.h"
#include "qat-c/Registration.h"

#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"

#include <stdio.h>

static void printToStdout(MlirStringRef text, void *userData) {
  (void)userData;
  fwrite(text.data, 1, text.length, stdout);
}

int main(void) {
  MlirContext ctx = mlirContextCreate();
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  qatRegisterAllDialects(registry);
  mlirContextAppendDialectRegistry(ctx, registry);
  mlirDialectRegistryDestroy(registry);
  qatRegisterAllPasses();

  // StableQAT weights: 4-bit LSQ step per group of 64.
  MlirAttribute w4 = qatQuantizerAttrGetChecked(
      mlirLocationUnknownGet(ctx), QatGridSigned, 4, QatScaleMethodLearned,
      QatGranularityPerGroup, 64);
  if (mlirAttributeIsNull(w4))
    return 1;
  printf("// built from C: ");
  mlirAttributePrint(w4, printToStdout, NULL);
  printf("\n");

  // Two equal Hadamard rotations cancel under canonicalization.
  MlirModule module = mlirModuleCreateParse(
      ctx, mlirStringRefCreateFromCString(
               "func.func @rotations(%x: tensor<8x64xf32>) -> "
               "tensor<8x64xf32> {\n"
               "  %0 = qat.hadamard %x block 64 : tensor<8x64xf32>\n"
               "  %1 = qat.hadamard %0 block 64 : tensor<8x64xf32>\n"
               "  return %1 : tensor<8x64xf32>\n"
               "}\n"));
  if (mlirModuleIsNull(module))
    return 1;
  MlirPassManager pm = mlirPassManagerCreate(ctx);
  MlirLogicalResult parsed = mlirParsePassPipeline(
      mlirPassManagerGetAsOpPassManager(pm),
      mlirStringRefCreateFromCString("builtin.module(canonicalize)"),
      printToStdout, NULL);
  if (mlirLogicalResultIsFailure(parsed) ||
      mlirLogicalResultIsFailure(
          mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module))))
    return 1;
  printf("// canonicalized from C\n");
  mlirOperationPrint(mlirModuleGetOperation(module), printToStdout, NULL);
  printf("\n");

  mlirPassManagerDestroy(pm);
  mlirModuleDestroy(module);
  mlirContextDestroy(ctx);
  return 0;
}
