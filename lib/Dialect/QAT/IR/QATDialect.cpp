//===- QATDialect.cpp - The qat dialect -------------------------*- C++ -*-===//
//
// Registers the qat operations and attributes.
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qat;

#include "qat/Dialect/QAT/IR/QATDialect.cpp.inc"

void QATDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "qat/Dialect/QAT/IR/QATOps.cpp.inc"
      >();
  registerAttributes();
}
