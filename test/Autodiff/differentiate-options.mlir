// RUN: qat-opt %s --qat-differentiate="functions=scalar wrt=0,1 suffix=_vjp" | FileCheck %s

// Options: only @scalar (not @other, which has a qat.param argument), w.r.t.
// arguments chosen by index (qat.param marks tensors only), under another
// suffix.

// CHECK-LABEL: func.func @scalar(
// CHECK-SAME:    %{{.*}}: f32, %{{.*}}: f32) -> f32
// CHECK-LABEL: func.func @scalar_vjp
// CHECK-SAME:    (%[[X:.*]]: f32, %[[W:.*]]: f32) -> (f32, f32, f32)
// CHECK:         %[[E:.*]] = math.exp
// CHECK-DAG:     %[[DX:.*]] = arith.mulf %[[E]], %[[W]] : f32
// CHECK-DAG:     %[[DW:.*]] = arith.mulf %[[E]], %[[X]] : f32
// CHECK:         return %[[E]], %[[DX]], %[[DW]] : f32, f32, f32
// CHECK-NOT:     func.func @other_vjp

func.func @scalar(%x: f32, %w: f32) -> f32 {
  %p = arith.mulf %x, %w : f32
  %e = math.exp %p : f32
  return %e : f32
}

func.func @other(%w: tensor<f32> {qat.param}) -> tensor<f32> {
  return %w : tensor<f32>
}
