//===- Passes.td - Automatic differentiation passes --------*- tablegen -*-===//
//
// qat-differentiate (reverse-mode autodiff of a loss function) and
// qat-training-step (forward, gradients and an optimizer update in one
// function).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_AUTODIFF_PASSES_TD
#define QAT_AUTODIFF_PASSES_TD

include "mlir/Pass/PassBase.td"

def Differentiate : Pass<"qat-differentiate", "::mlir::ModuleOp"> {
  let summary = "Reverse-mode automatic differentiation of loss functions";
  let description = [{
    For each selected function `@f` that returns one scalar loss (a float or
    a rank-0 tensor of floats), adds a function `@f_grad` with the same
    arguments that returns the loss followed by the gradient of each
    differentiated argument, in argument order:

    <!-- mlir-doc: skip a sketch: signatures or types only -->
    ```mlir
    func.func @f(%x: tensor<4x8xf32>, %w: tensor<3x8xf32> {qat.param})
        -> tensor<f32>
    // becomes, next to @f:
    func.func @f_grad(%x: tensor<4x8xf32>, %w: tensor<3x8xf32> {qat.param})
        -> (tensor<f32>, tensor<3x8xf32>)
    ```

    By default the differentiated arguments are those marked `qat.param`
    (trainable weights) or `qat.step` (learned quantizer steps), and the
    selected functions are those that have such an argument. Every op on the
    path from a differentiated argument to the loss must implement
    `AutoDiffOpInterface` (see docs/differentiate.md for the covered ops);
    any other op is reported with the argument whose gradient needs it, and
    the pass fails without adding anything.

    Forward values the backward needs are used where the forward computed
    them; the backward of a linalg op recomputes its scalar body (a cheap
    elementwise chain) inside the backward linalg.generic instead of saving
    intermediate tensors.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "Functions to differentiate (default: those with a qat.param "
               "or qat.step argument)">,
    ListOption<"wrt", "wrt", "unsigned",
               "Indices of the arguments to differentiate (default: the "
               "qat.param and qat.step arguments)">,
    Option<"suffix", "suffix", "std::string", "\"_grad\"",
           "Suffix of the generated functions' names">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::func::FuncDialect"
  ];
}

def TrainingStep : Pass<"qat-training-step", "::mlir::ModuleOp"> {
  let summary = "Forward, gradients and an optimizer update in one function";
  let description = [{
    For each selected loss function `@f` (as for `qat-differentiate`), adds
    `@f_train_step`, which computes the loss and the gradients of the
    parameters (the differentiated arguments) and applies one optimizer step:

    * `optimizer=sgd` (PyTorch's SGD, `dampening = 0`, not Nesterov):
      `g = grad + wd * p; buf = momentum * buf + g; p = p - lr * buf`.
      Arguments: those of `@f`, then one momentum buffer per parameter
      (none when `momentum=0`), then `lr : f32`. Results: the loss, the new
      parameters, the new buffers.
    * `optimizer=adamw` (PyTorch's AdamW): `p = p * (1 - lr * wd);
      m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
      p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`.
      Arguments: those of `@f`, then the first moments `m`, then the second
      moments `v` (one per parameter), then `t : f32` (the step count,
      1 for the first step) and `lr : f32`. Results: the loss, the new
      parameters, the new `m`, the new `v`.

    The gradients come from the function `qat-differentiate` generates
    (`@f_grad`, added too when missing), which the step calls.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "Functions to build a training step for (default: those "
               "with a qat.param or qat.step argument)">,
    ListOption<"wrt", "wrt", "unsigned",
               "Indices of the parameters (default: the qat.param and "
               "qat.step arguments)">,
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "sgd or adamw">,
    Option<"momentum", "momentum", "double", "0.9", "SGD momentum">,
    Option<"weightDecay", "weight-decay", "double", "0.0",
           "Weight decay (L2 added to the gradient for SGD, decoupled for "
           "AdamW)">,
    Option<"beta1", "beta1", "double", "0.9", "AdamW first-moment decay">,
    Option<"beta2", "beta2", "double", "0.999",
           "AdamW second-moment decay">,
    Option<"epsilon", "epsilon", "double", "1e-8", "AdamW epsilon">,
    Option<"suffix", "suffix", "std::string", "\"_train_step\"",
           "Suffix of the generated functions' names">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::func::FuncDialect"
  ];
}

#endif // QAT_AUTODIFF_PASSES_TD
