// RUN: qat-opt %s --split-input-file --qat-training-step -verify-diagnostics

// expected-error @+1 {{'func.func' op parameter #0 is not a tensor; qat-training-step updates tensors}}
func.func @scalar_param(%w: f32 {qat.param}) -> f32 {
  %s = arith.mulf %w, %w : f32
  return %s : f32
}

// -----

// The gradient function's refusals reach the training step.
func.func @no_rule(%w: f32, %v: tensor<2xf32> {qat.param}) -> f32 {
  %c = arith.constant 0 : index
  %e = tensor.extract %v[%c] : tensor<2xf32>
  // expected-error @+1 {{'math.atan' op has no reverse rule (AutoDiffOpInterface); the gradient of argument #1 needs it}}
  %a = math.atan %e : f32
  return %a : f32
}
