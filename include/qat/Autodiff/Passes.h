//===- Passes.h - Automatic differentiation passes --------------*- C++ -*-===//
//
// qat-differentiate and qat-training-step, and the C++ entry point they
// share.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_AUTODIFF_PASSES_H
#define QAT_AUTODIFF_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::qat {

#define GEN_PASS_DECL
#include "qat/Autodiff/Passes.h.inc"

/// The indices of the arguments of `func` marked `qat.param` or `qat.step`.
SmallVector<unsigned> getTrainableArguments(func::FuncOp func);

/// The functions a training-graph pass works on: those named in `names`, or,
/// when it is empty, every function with a trainable argument. A name that is
/// no function is reported (prefixed by `passName`) and gives failure.
FailureOr<SmallVector<func::FuncOp>>
selectTrainableFunctions(ModuleOp module, ArrayRef<std::string> names,
                         StringRef passName);

/// Adds next to `func` (one block, one scalar result: the loss) a function
/// named `name` with the same arguments that returns the loss and the
/// gradients of the arguments `wrt`. Reports an error and returns failure,
/// adding nothing, when an op on the way cannot be differentiated.
FailureOr<func::FuncOp> differentiateFunction(func::FuncOp func,
                                              ArrayRef<unsigned> wrt,
                                              StringRef name);

#define GEN_PASS_REGISTRATION
#include "qat/Autodiff/Passes.h.inc"

} // namespace mlir::qat

#endif // QAT_AUTODIFF_PASSES_H
