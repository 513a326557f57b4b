//===- AutoDiffOpInterface.h - Reverse rules of ops -------------*- C++ -*-===//
//
// The AutoDiffOpInterface, the state its rules talk to, and the helpers the
// rules share.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_AUTODIFF_AUTODIFFOPINTERFACE_H
#define QAT_AUTODIFF_AUTODIFFOPINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir::qat {

/// What a reverse rule sees of the differentiation in progress: the adjoints
/// of the results of the op it differentiates, which operands need one, and
/// where contributions go.
class AdjointState {
public:
  virtual ~AdjointState();

  /// The adjoint of `value` (a result of the op being differentiated), or a
  /// null value when it is zero.
  virtual Value getAdjoint(Value value) = 0;

  /// Whether `value` needs an adjoint: it depends on a differentiated
  /// argument and the loss depends on it.
  virtual bool isActive(Value value) = 0;

  /// Adds `contribution` to the adjoint of `value` (a no-op when `value` is
  /// not active).
  virtual void addAdjoint(OpBuilder &builder, Value value,
                          Value contribution) = 0;

  /// Reports that `op` cannot be differentiated (`reason` completes the
  /// sentence "'op' op ..."), naming the argument whose gradient needs it.
  virtual LogicalResult refuse(Operation *op, const Twine &reason) = 0;
};

/// A constant of `type` (a float type or a tensor of floats) whose every
/// element is `value`: a scalar constant, or a filled tensor.
Value createFloatConstant(OpBuilder &builder, Location loc, Type type,
                          double value);

/// `lhs + rhs` for two floats or two tensors of floats of the same type
/// (tensors through linalg.add, so that the CPU and GPU pipelines take it).
Value createAdd(OpBuilder &builder, Location loc, Value lhs, Value rhs);

/// Whether values of `type` carry adjoints: floats and ranked tensors of
/// floats.
bool isDifferentiableType(Type type);

/// Attaches the reverse rules of the upstream ops (arith, math, linalg,
/// tensor) and of the qat ops to their ops.
void registerAutoDiffExternalModels(DialectRegistry &registry);

} // namespace mlir::qat

#include "qat/Autodiff/AutoDiffOpInterface.h.inc"

#endif // QAT_AUTODIFF_AUTODIFFOPINTERFACE_H
