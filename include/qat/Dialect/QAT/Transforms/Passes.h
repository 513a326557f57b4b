//===- Passes.h - Training-graph passes of the qat dialect ------*- C++ -*-===//
//
// qat-quantize (prepare) and qat-convert (deploy).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_TRANSFORMS_PASSES_H
#define QAT_DIALECT_QAT_TRANSFORMS_PASSES_H

#include "qat/Dialect/QAT/IR/QATDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::qat {

#define GEN_PASS_DECL
#include "qat/Dialect/QAT/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qat/Dialect/QAT/Transforms/Passes.h.inc"

} // namespace mlir::qat

#endif // QAT_DIALECT_QAT_TRANSFORMS_PASSES_H
