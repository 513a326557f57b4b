// RUN: qat-opt %s --split-input-file --qat-gpu-batch-loop-loads | FileCheck %s

// The loss kernel's loop: each iteration loads y and t (arguments) and
// stores the gradient (a fresh allocation). Unrolled by 4, the eight loads
// come before the first store, each with its row index.
// CHECK-LABEL: func.func @loss_rows(
//  CHECK-SAME:     %[[Y:[^:]*]]: memref<64x256xf32>, %[[T:[^:]*]]: memref<64x256xf32>
//       CHECK:   %[[G:.*]] = memref.alloc() : memref<64x256xf32>
//       CHECK:   scf.parallel
//       CHECK:     scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %[[C4:.*]] iter_args
//       CHECK:       memref.load %[[Y]][%[[K]],
//       CHECK:       memref.load %[[T]][%[[K]],
//       CHECK:       %[[K1:.*]] = arith.addi %[[K]]
//   CHECK-NOT:       memref.store
//       CHECK:       memref.load %[[Y]][%[[K1]],
//       CHECK:       memref.load %[[T]][%[[K1]],
//   CHECK-NOT:       memref.store
//       CHECK:       memref.load %[[Y]]
//       CHECK:       memref.load %[[T]]
//   CHECK-NOT:       memref.store
//       CHECK:       memref.load %[[Y]]
//       CHECK:       memref.load %[[T]]
//   CHECK-NOT:       memref.load
//       CHECK:       memref.store %{{.*}}, %[[G]][%[[K]],
//   CHECK-NOT:       memref.load
//       CHECK:       memref.store %{{.*}}, %[[G]][%[[K1]],
//   CHECK-NOT:       memref.load
//       CHECK:       scf.yield
func.func @loss_rows(%y: memref<64x256xf32>, %t: memref<64x256xf32>)
    -> (memref<64x256xf32>, memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0.0 : f32
  %g = memref.alloc() : memref<64x256xf32>
  %sums = memref.alloc() : memref<256xf32>
  scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
    %sum = scf.for %k = %c0 to %c64 step %c1 iter_args(%s = %zero) -> (f32) {
      %a = memref.load %y[%k, %j] : memref<64x256xf32>
      %b = memref.load %t[%k, %j] : memref<64x256xf32>
      %d = arith.subf %a, %b : f32
      memref.store %d, %g[%k, %j] : memref<64x256xf32>
      %sq = arith.mulf %d, %d : f32
      %next = arith.addf %s, %sq : f32
      scf.yield %next : f32
    }
    memref.store %sum, %sums[%j] : memref<256xf32>
    scf.reduce
  }
  return %g, %sums : memref<64x256xf32>, memref<256xf32>
}

// -----

// What stays as it is: a store to an argument that may be the loaded one,
// a trip count that is not a multiple of 4, a loop without stores, and a
// loop outside a kernel.
// CHECK-LABEL: func.func @unchanged(
//   CHECK-NOT:   step %c4
//       CHECK:   return
func.func @unchanged(%y: memref<64x256xf32>, %out: memref<64x256xf32>)
    -> (memref<6x256xf32>, memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %a = memref.load %y[%k, %j] : memref<64x256xf32>
      memref.store %a, %out[%k, %j] : memref<64x256xf32>
    }
    scf.reduce
  }
  %six = memref.alloc() : memref<6x256xf32>
  scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
    scf.for %k = %c0 to %c6 step %c1 {
      %a = memref.load %y[%k, %j] : memref<64x256xf32>
      memref.store %a, %six[%k, %j] : memref<6x256xf32>
    }
    scf.reduce
  }
  %sums = memref.alloc() : memref<256xf32>
  scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
    %sum = scf.for %k = %c0 to %c64 step %c1 iter_args(%s = %zero) -> (f32) {
      %a = memref.load %y[%k, %j] : memref<64x256xf32>
      %next = arith.addf %s, %a : f32
      scf.yield %next : f32
    }
    memref.store %sum, %sums[%j] : memref<256xf32>
    scf.reduce
  }
  %host = memref.alloc() : memref<64x256xf32>
  scf.for %k = %c0 to %c64 step %c1 {
    %a = memref.load %y[%k, %c0] : memref<64x256xf32>
    memref.store %a, %host[%k, %c0] : memref<64x256xf32>
  }
  memref.dealloc %host : memref<64x256xf32>
  return %six, %sums : memref<6x256xf32>, memref<256xf32>
}
