//===- AutoDiffOpInterface.td - Reverse rules of ops -------*- tablegen -*-===//
//
// The interface through which an op states its reverse-mode derivative, so
// that one driver (qat-differentiate) can walk any function built from ops
// that implement it.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_AUTODIFF_AUTODIFFOPINTERFACE_TD
#define QAT_AUTODIFF_AUTODIFFOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def AutoDiffOpInterface : OpInterface<"AutoDiffOpInterface"> {
  let cppNamespace = "::mlir::qat";
  let description = [{
    An op that implements this interface knows its reverse (vector-Jacobian
    product) rule: given the adjoints of its results, it emits the IR that
    computes the contributions to the adjoints of its operands and hands them
    to the `AdjointState`. The same interface serves two levels:

    * ops of a function body (linalg, tensor, qat ops, and arith/math ops on
      scalars), where adjoints are tensors (or scalars) of the function;
    * arith/math ops inside the body of a linalg op, where adjoints are
      scalars of the backward linalg.generic that the linalg rule builds.

    Upstream ops get it through external models
    (`qat::registerAutoDiffExternalModels`). A rule only adds to operands
    for which `state.isActive(operand)` holds; a result whose adjoint is null
    has a zero adjoint. A rule that cannot differentiate an op in the case it
    sees calls `state.refuse(op, reason)` and fails: the driver names the
    function argument whose gradient needed it.
  }];
  let methods = [
    InterfaceMethod<[{
        Emits, at the builder's insertion point, the contributions of this
        op's result adjoints to the adjoints of its active operands.
      }],
      "::llvm::LogicalResult", "reverse",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::qat::AdjointState &":$state)>
  ];
}

#endif // QAT_AUTODIFF_AUTODIFFOPINTERFACE_TD
