// RUN: qat-opt %s --split-input-file --qat-gpu-vectorize-parallel-loops | FileCheck %s

// A loss gradient: f32 rows in, bf16 out. The widest element (4 bytes)
// gives vectors of 4: 16-byte loads, 8-byte stores; the loop counts vectors
// and each starts at 4 times its index; a scalar argument is broadcast.
// CHECK-LABEL: func.func @gradient(
//       CHECK:   %[[C4:.*]] = arith.constant 4 : index
//       CHECK:   scf.parallel (%[[I:.*]], %[[J:.*]]) = (%c0, %c0) to (%c8, %[[C4]]) step (%c1, %c1)
//       CHECK:     %[[COL:.*]] = arith.muli %[[J]], %[[C4]]
//       CHECK:     %[[Y:.*]] = vector.load %arg0[%[[I]], %[[COL]]] {alignment = 16 : i64} : memref<8x16xf32>, vector<4xf32>
//       CHECK:     %[[T:.*]] = vector.load %arg1[%[[I]], %[[COL]]] {alignment = 16 : i64} : memref<8x16xf32>, vector<4xf32>
//       CHECK:     %[[D:.*]] = arith.subf %[[Y]], %[[T]] : vector<4xf32>
//       CHECK:     %[[S:.*]] = vector.broadcast %arg3 : f32 to vector<4xf32>
//       CHECK:     %[[G:.*]] = arith.mulf %[[D]], %[[S]] : vector<4xf32>
//       CHECK:     %[[B:.*]] = arith.truncf %[[G]] : vector<4xf32> to vector<4xbf16>
//       CHECK:     vector.store %[[B]], %arg2[%[[I]], %[[COL]]] {alignment = 8 : i64} : memref<8x16xbf16>, vector<4xbf16>
func.func @gradient(%y: memref<8x16xf32>, %t: memref<8x16xf32>, %dy: memref<8x16xbf16>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c16) step (%c1, %c1) {
    %a = memref.load %y[%i, %j] : memref<8x16xf32>
    %b = memref.load %t[%i, %j] : memref<8x16xf32>
    %d = arith.subf %a, %b : f32
    %g = arith.mulf %d, %s : f32
    %h = arith.truncf %g : f32 to bf16
    memref.store %h, %dy[%i, %j] : memref<8x16xbf16>
    scf.reduce
  }
  return
}

// -----

// Two-byte elements: vectors of 8 (16 bytes). A per-row value read at a
// uniform index stays a scalar load, broadcast; a uniform select condition
// stays scalar; math ops take vectors.
// CHECK-LABEL: func.func @rows(
//       CHECK:   scf.parallel ({{.*}}) = (%c0, %c0) to (%c4, %c8)
//       CHECK:     %[[X:.*]] = vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<4x64xbf16>, vector<8xbf16>
//       CHECK:     %[[R:.*]] = memref.load %arg1[{{.*}}] : memref<4xbf16>
//       CHECK:     %[[RB:.*]] = vector.broadcast %[[R]] : bf16 to vector<8xbf16>
//       CHECK:     %[[M:.*]] = arith.mulf %[[X]], %[[RB]] : vector<8xbf16>
//       CHECK:     %[[E:.*]] = math.exp %[[M]] : vector<8xbf16>
//       CHECK:     arith.select %arg3, %[[E]], %{{.*}} : vector<8xbf16>
//       CHECK:     vector.store {{.*}} {alignment = 16 : i64} : memref<4x64xbf16>, vector<8xbf16>
func.func @rows(%x: memref<4x64xbf16>, %r: memref<4xbf16>, %out: memref<4x64xbf16>, %on: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c64) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<4x64xbf16>
    %b = memref.load %r[%i] : memref<4xbf16>
    %m = arith.mulf %a, %b : bf16
    %e = math.exp %m : bf16
    %v = arith.select %on, %e, %a : bf16
    memref.store %v, %out[%i, %j] : memref<4x64xbf16>
    scf.reduce
  }
  return
}

// -----

// A reduction loop in the body carries vectors: the partial column sums of
// a loss (after qat-gpu-promote-accumulators).
// CHECK-LABEL: func.func @partial_sums(
//       CHECK:   scf.parallel (%[[S:.*]], %[[J:.*]]) = (%c0, %c0) to (%c2, %c16)
//       CHECK:     %[[COL:.*]] = arith.muli %[[J]]
//       CHECK:     %[[INIT:.*]] = vector.load %arg1[%[[S]], %[[COL]]] {{.*}} vector<4xf32>
//       CHECK:     %[[SUM:.*]] = scf.for %[[K:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (vector<4xf32>)
//       CHECK:       %[[X:.*]] = vector.load %arg0[%[[S]], %[[K]], %[[COL]]] {{.*}} vector<4xf32>
//       CHECK:       %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : vector<4xf32>
//       CHECK:       %[[T:.*]] = arith.addf %[[ACC]], %[[SQ]] : vector<4xf32>
//       CHECK:       scf.yield %[[T]] : vector<4xf32>
//       CHECK:     vector.store %[[SUM]], %arg1[%[[S]], %[[COL]]]
func.func @partial_sums(%x: memref<2x32x64xf32>, %p: memref<2x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%s, %j) = (%c0, %c0) to (%c2, %c64) step (%c1, %c1) {
    %init = memref.load %p[%s, %j] : memref<2x64xf32>
    %sum = scf.for %k = %c0 to %c32 step %c1 iter_args(%acc = %init) -> (f32) {
      %v = memref.load %x[%s, %k, %j] : memref<2x32x64xf32>
      %sq = arith.mulf %v, %v : f32
      %t = arith.addf %acc, %sq : f32
      scf.yield %t : f32
    }
    memref.store %sum, %p[%s, %j] : memref<2x64xf32>
    scf.reduce
  }
  return
}

// -----

// The widest width that divides the row and keeps every vector aligned: 6
// f32 columns take vectors of 2; a row stride of 6 elements allows 2 too.
// CHECK-LABEL: func.func @narrow(
//       CHECK:   vector.load {{.*}} {alignment = 8 : i64} : memref<3x6xf32>, vector<2xf32>
func.func @narrow(%x: memref<3x6xf32>, %y: memref<3x6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c6 = arith.constant 6 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c6) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<3x6xf32>
    memref.store %a, %y[%i, %j] : memref<3x6xf32>
    scf.reduce
  }
  return
}

// -----

// Left as they are: an odd row, a transposed read (the dimension is not
// the last index), the index used in arithmetic (linalg.index), a column
// view whose row stride is odd, a dynamic row length, a value accumulated
// across the dimension at a uniform index, an atomic, i1 elements (a vector
// of them is packed bits, the buffer has a byte each).
// CHECK-LABEL: func.func @odd(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @transposed(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @index_arith(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @odd_stride(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @dynamic(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @across(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @atomic(
//   CHECK-NOT:   vector.
// CHECK-LABEL: func.func @bits(
//   CHECK-NOT:   vector.
func.func @odd(%x: memref<4x7xf32>, %y: memref<4x7xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c7 = arith.constant 7 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c7) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<4x7xf32>
    memref.store %a, %y[%i, %j] : memref<4x7xf32>
    scf.reduce
  }
  return
}

func.func @transposed(%x: memref<8x8xf32>, %y: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %a = memref.load %x[%j, %i] : memref<8x8xf32>
    memref.store %a, %y[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  return
}

func.func @index_arith(%y: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %n = arith.index_cast %j : index to i32
    %f = arith.sitofp %n : i32 to f32
    memref.store %f, %y[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  return
}

func.func @odd_stride(%x: memref<8x8xf32, strided<[9, 1]>>, %y: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<8x8xf32, strided<[9, 1]>>
    memref.store %a, %y[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  return
}

func.func @dynamic(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%j) = (%c0) to (%n) step (%c1) {
    %a = memref.load %x[%j] : memref<?xf32>
    memref.store %a, %y[%j] : memref<?xf32>
    scf.reduce
  }
  return
}

func.func @across(%x: memref<8x8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<8x8xf32>
    memref.store %a, %y[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

func.func @atomic(%x: memref<8x8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<8x8xf32>
    %b = memref.atomic_rmw addf %a, %y[%i] : (f32, memref<8xf32>) -> f32
    scf.reduce
  }
  return
}

func.func @bits(%x: memref<8x8xi1>, %y: memref<8x8xi1>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<8x8xi1>
    memref.store %a, %y[%i, %j] : memref<8x8xi1>
    scf.reduce
  }
  return
}

// -----

// A sequential loop that carries no value (a matmul on buffers that
// accumulates into C in memory): its rebuilt loop gets the one yield.
// qat-to-nvptx crashed here on linalg.matmul over memrefs.
// CHECK-LABEL: func.func @store_loop
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%c0, %c0) to (%c64, %{{.*}}) step (%c1, %c1)
// CHECK: %[[COL:.*]] = arith.muli %[[J]], %c4
// CHECK: scf.for %[[K:.*]] = %c0 to %c128 step %c1 {
// CHECK:   %[[A:.*]] = memref.load %{{.*}}[%[[I]], %[[K]]] : memref<64x128xf32>
// CHECK:   %[[B:.*]] = vector.load %{{.*}}[%[[K]], %[[COL]]] {{.*}} : memref<128x256xf32>, vector<4xf32>
// CHECK:   %[[C:.*]] = vector.load %{{.*}}[%[[I]], %[[COL]]] {{.*}} : memref<64x256xf32>, vector<4xf32>
// CHECK:   vector.store %{{.*}}, %{{.*}}[%[[I]], %[[COL]]] {{.*}} : memref<64x256xf32>, vector<4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
func.func @store_loop(%a: memref<64x128xf32>, %b: memref<128x256xf32>, %c: memref<64x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c256) step (%c1, %c1) {
    scf.for %k = %c0 to %c128 step %c1 {
      %x = memref.load %a[%i, %k] : memref<64x128xf32>
      %y = memref.load %b[%k, %j] : memref<128x256xf32>
      %z = memref.load %c[%i, %j] : memref<64x256xf32>
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %z, %p : f32
      memref.store %s, %c[%i, %j] : memref<64x256xf32>
    }
    scf.reduce
  }
  return
}
