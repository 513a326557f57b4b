// Output of the compiled code itself (vector.print, through C stdio) comes
// before the results qat-run prints, in program order.

// RUN: qat-run %s --arg=const:2.5 --print-inputs | FileCheck %s
// CHECK:      arg 0: shape=() dtype=float32
// CHECK-NEXT: 2.5
// CHECK-NEXT: 5
// CHECK-NEXT: result 0: shape=() dtype=float32
// CHECK-NEXT: 5.0

func.func @main(%x: f32) -> f32 {
  %y = arith.addf %x, %x : f32
  vector.print %y : f32
  return %y : f32
}
