//===- QATOps.h - Operations of the qat dialect -----------------*- C++ -*-===//
//
// Declares the qat operations.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATOPS_H
#define QAT_DIALECT_QAT_IR_QATOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"

#define GET_OP_CLASSES
#include "qat/Dialect/QAT/IR/QATOps.h.inc"

#endif // QAT_DIALECT_QAT_IR_QATOPS_H
