// RUN: qat-opt %s --inline | FileCheck %s

// A call of a function made of qat ops is inlined (the training step that
// qat-training-step writes calls its gradient function).
// CHECK-LABEL: func.func @caller
// CHECK-NOT: call
// CHECK: qat.hadamard
// CHECK: qat.scale
// CHECK: qat.fake_quant
func.func private @callee(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %h = qat.hadamard %x block 32 : tensor<4x32xf32>
  %s = qat.scale %h as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x32xf32> -> tensor<4x1xf32>
  %q = qat.fake_quant %h, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x32xf32>, tensor<4x1xf32>
  return %q : tensor<4x32xf32>
}
func.func @caller(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %y = func.call @callee(%x) : (tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
