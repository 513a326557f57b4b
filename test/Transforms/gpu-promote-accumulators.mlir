// RUN: qat-opt %s --split-input-file --qat-gpu-promote-accumulators | FileCheck %s

// The column sums of a reduction loop: the accumulator, a fresh allocation,
// cannot alias the argument the loop reads, so it is loaded once before the
// loop, carried in a register and stored once after it.
// CHECK-LABEL: func.func @column_sums(
//  CHECK-SAME:     %[[IN:.*]]: memref<256x64xf32>
//       CHECK:   %[[ACC:.*]] = memref.alloc() : memref<64xf32>
//       CHECK:   scf.parallel (%[[J:.*]]) =
//       CHECK:     memref.store %{{.*}}, %[[ACC]][%[[J]]]
//       CHECK:     %[[INIT:.*]] = memref.load %[[ACC]][%[[J]]]
//       CHECK:     %[[SUM:.*]] = scf.for %{{.*}} iter_args(%[[S:.*]] = %[[INIT]]) -> (f32)
//   CHECK-NOT:       memref.store
//       CHECK:       %[[X:.*]] = memref.load %[[IN]]
//       CHECK:       %[[T:.*]] = arith.addf %[[S]], %[[X]]
//       CHECK:       scf.yield %[[T]] : f32
//       CHECK:     memref.store %[[SUM]], %[[ACC]][%[[J]]]
func.func @column_sums(%in: memref<256x64xf32>) -> memref<64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<64xf32>
  scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
    memref.store %zero, %acc[%j] : memref<64xf32>
    scf.for %k = %c0 to %c256 step %c1 {
      %x = memref.load %in[%k, %j] : memref<256x64xf32>
      %s = memref.load %acc[%j] : memref<64xf32>
      %t = arith.addf %s, %x : f32
      memref.store %t, %acc[%j] : memref<64xf32>
    }
    scf.reduce
  }
  return %acc : memref<64xf32>
}

// -----

// A nest of reduction loops keeps one register: the inner loop first, then
// the load and store it leaves around itself in the outer loop.
// CHECK-LABEL: func.func @nest(
//       CHECK:   %[[INIT:.*]] = memref.load %[[ACC:.*]][]
//       CHECK:   %[[OUTER:.*]] = scf.for {{.*}} iter_args(%[[A:.*]] = %[[INIT]]) -> (f32)
//       CHECK:     %[[INNER:.*]] = scf.for {{.*}} iter_args(%[[B:.*]] = %[[A]]) -> (f32)
//       CHECK:       arith.addf %[[B]]
//       CHECK:     scf.yield %[[INNER]] : f32
//       CHECK:   memref.store %[[OUTER]], %[[ACC]][]
//   CHECK-NOT:   memref.store
func.func @nest(%in: memref<8x16xf32>) -> memref<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %acc = memref.alloc() : memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c16 step %c1 {
      %x = memref.load %in[%i, %j] : memref<8x16xf32>
      %s = memref.load %acc[] : memref<f32>
      %t = arith.addf %s, %x : f32
      memref.store %t, %acc[] : memref<f32>
    }
  }
  return %acc : memref<f32>
}

// -----

// Not promoted: two arguments may be the same buffer (the loop would read
// what it accumulates), another access of the accumulator's buffer, an op
// with unknown effects, indices that change in the loop.
// CHECK-LABEL: func.func @may_alias(
//       CHECK:   scf.for
//   CHECK-NOT:     iter_args
//       CHECK:     memref.load %arg1
//       CHECK:     memref.store
func.func @may_alias(%in: memref<16xf32>, %acc: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.for %k = %c0 to %c16 step %c1 {
    %x = memref.load %in[%k] : memref<16xf32>
    %s = memref.load %acc[] : memref<f32>
    %t = arith.addf %s, %x : f32
    memref.store %t, %acc[] : memref<f32>
  }
  return
}

// CHECK-LABEL: func.func @second_access(
//   CHECK-NOT:   iter_args
func.func @second_access(%in: memref<16xf32>) -> memref<2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %acc = memref.alloc() : memref<2xf32>
  scf.for %k = %c0 to %c16 step %c1 {
    %x = memref.load %in[%k] : memref<16xf32>
    %s = memref.load %acc[%c0] : memref<2xf32>
    %t = arith.addf %s, %x : f32
    memref.store %t, %acc[%c0] : memref<2xf32>
    memref.store %x, %acc[%c1] : memref<2xf32>
  }
  return %acc : memref<2xf32>
}

func.func private @unknown()

// CHECK-LABEL: func.func @unknown_effects(
//   CHECK-NOT:   iter_args
func.func @unknown_effects(%in: memref<16xf32>) -> memref<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %acc = memref.alloc() : memref<f32>
  scf.for %k = %c0 to %c16 step %c1 {
    %x = memref.load %in[%k] : memref<16xf32>
    %s = memref.load %acc[] : memref<f32>
    %t = arith.addf %s, %x : f32
    memref.store %t, %acc[] : memref<f32>
    func.call @unknown() : () -> ()
  }
  return %acc : memref<f32>
}

// CHECK-LABEL: func.func @varying_index(
//   CHECK-NOT:   iter_args
func.func @varying_index(%in: memref<16xf32>) -> memref<16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %acc = memref.alloc() : memref<16xf32>
  scf.for %k = %c0 to %c16 step %c1 {
    %x = memref.load %in[%k] : memref<16xf32>
    %s = memref.load %acc[%k] : memref<16xf32>
    %t = arith.addf %s, %x : f32
    memref.store %t, %acc[%k] : memref<16xf32>
  }
  return %acc : memref<16xf32>
}

// -----

// In a kernel of many threads another thread may share the element; a
// kernel of one thread (qat-gpu-serial-linalg's) is promoted.
// CHECK-LABEL: func.func @kernels(
//       CHECK:   gpu.launch
//   CHECK-NOT:     iter_args
//       CHECK:     gpu.terminator
//       CHECK:   gpu.launch
//       CHECK:     scf.for {{.*}} iter_args
//       CHECK:     gpu.terminator
func.func @kernels(%in: memref<16xf32>) -> memref<f32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %acc = memref.alloc() : memref<f32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      %x = memref.load %in[%k] : memref<16xf32>
      %s = memref.load %acc[] : memref<f32>
      %t = arith.addf %s, %x : f32
      memref.store %t, %acc[] : memref<f32>
    }
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      %x = memref.load %in[%k] : memref<16xf32>
      %s = memref.load %acc[] : memref<f32>
      %t = arith.addf %s, %x : f32
      memref.store %t, %acc[] : memref<f32>
    }
    gpu.terminator
  }
  return %acc : memref<f32>
}
