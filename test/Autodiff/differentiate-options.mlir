// RUN: qat-opt %s --qat-differentiate="functions=scalar wrt=0,1 suffix=_vjp" | FileCheck %s

// Options: only @scalar, w.r.t. both arguments (not only qat.param), under
// another suffix.

// CHECK-LABEL: func.func @scalar(
// CHECK-SAME:    %{{.*}}: f32, %{{.*}}: f32 {qat.param}) -> f32
// CHECK-LABEL: func.func @scalar_vjp
// CHECK-SAME:    (%[[X:.*]]: f32, %[[W:.*]]: f32) -> (f32, f32, f32)
// CHECK:         %[[E:.*]] = math.exp
// CHECK-DAG:     %[[DX:.*]] = arith.mulf %[[E]], %[[W]] : f32
// CHECK-DAG:     %[[DW:.*]] = arith.mulf %[[E]], %[[X]] : f32
// CHECK:         return %[[E]], %[[DX]], %[[DW]] : f32, f32, f32
// CHECK-NOT:     func.func @other_vjp

func.func @scalar(%x: f32, %w: f32 {qat.param}) -> f32 {
  %p = arith.mulf %x, %w : f32
  %e = math.exp %p : f32
  return %e : f32
}

func.func @other(%w: f32 {qat.param}) -> f32 {
  return %w : f32
}
