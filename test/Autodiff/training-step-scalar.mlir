// RUN: qat-opt %s --qat-training-step="functions=scalar_param wrt=0" -verify-diagnostics

// qat-training-step updates tensors; a scalar chosen by index is refused.
// expected-error @+1 {{'func.func' op parameter #0 is not a tensor; qat-training-step updates tensors}}
func.func @scalar_param(%w: f32) -> f32 {
  %s = arith.mulf %w, %w : f32
  return %s : f32
}
