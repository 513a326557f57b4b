// RUN: qat-opt %s --qat-training-step -verify-diagnostics

// The gradient function's refusals reach the training step.
func.func @no_rule(%w: f32, %v: tensor<2xf32> {qat.param}) -> f32 {
  %c = arith.constant 0 : index
  %e = tensor.extract %v[%c] : tensor<2xf32>
  // expected-error @+1 {{'math.atan' op has no reverse rule (AutoDiffOpInterface); the gradient of argument #1 needs it}}
  %a = math.atan %e : f32
  return %a : f32
}
